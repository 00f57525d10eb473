/**
 * Layer 2, a stage (imports {@code base} and {@code log} only). systemd's notify protocol
 * ({@code sd_notify}): readiness, status, reload, stopping, and the watchdog pings
 * ({@link forkserver.supervisor.systemd.Notifier}) that stop when the acceptor does
 * ({@link forkserver.supervisor.systemd.AcceptorHeartbeat}).
 */
package forkserver.supervisor.systemd;
