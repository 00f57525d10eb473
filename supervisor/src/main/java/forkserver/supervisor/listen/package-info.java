/**
 * Layer 2, a stage (imports {@code base} and {@code log} only). Listen: the sockets the supervisor
 * serves ({@link forkserver.supervisor.listen.Listeners}, one wait on all of them), each TCP or
 * UNIX-domain ({@link forkserver.supervisor.listen.ListenAddress}), bound
 * ({@link forkserver.supervisor.listen.Listener}, a socket file by
 * {@link forkserver.supervisor.listen.UnixSocketFile}) or handed over by systemd or inetd
 * ({@link forkserver.supervisor.listen.InheritedSocket}), or by the supervisor it succeeds at an
 * upgrade ({@link forkserver.supervisor.listen.Handover}); accepting yields a
 * {@link forkserver.supervisor.base.Accepted}. The listeners own the listening sockets until the
 * drain closes them.
 */
package forkserver.supervisor.listen;
