/**
 * systemd's notify protocol ({@code sd_notify}): readiness, status, reload, stopping, and the
 * watchdog pings that stop when the acceptor does.
 */
package forkserver.supervisor.systemd;
