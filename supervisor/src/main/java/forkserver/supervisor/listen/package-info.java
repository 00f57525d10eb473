/**
 * 1. Listen: the socket the supervisor serves, bound ({@link forkserver.supervisor.listen.Listener})
 * or handed over by systemd or inetd ({@link forkserver.supervisor.listen.InheritedSocket}), and what
 * accepting one connection yields ({@link forkserver.supervisor.listen.Accepted}: the supervisor's
 * close-on-exec descriptor and both addresses). {@link forkserver.supervisor.listen.AcceptorHeartbeat}
 * says whether the accepting thread is still alive, for the systemd watchdog.
 */
package forkserver.supervisor.listen;
import forkserver.supervisor.base.Accepted;

