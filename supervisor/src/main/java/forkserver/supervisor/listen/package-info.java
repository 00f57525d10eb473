/**
 * Layer 2, a stage (imports {@code base} and {@code log} only). Listen: the socket the supervisor
 * serves, bound ({@link forkserver.supervisor.listen.Listener}) or handed over by systemd or inetd
 * ({@link forkserver.supervisor.listen.InheritedSocket}), or by the supervisor it succeeds at an
 * upgrade ({@link forkserver.supervisor.listen.Handover}); accepting yields a
 * {@link forkserver.supervisor.base.Accepted}. The listener owns the listening socket until the
 * drain closes it.
 */
package forkserver.supervisor.listen;
