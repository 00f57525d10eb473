/**
 * Layer 0, the base: plain values and small tools that every stage may use, and that use no other
 * package of the supervisor (only {@code forkserver.posix} and the JDK). The accepted connection
 * ({@link forkserver.supervisor.base.Accepted}: the supervisor's descriptor, both addresses, their
 * text made once), addresses ({@link forkserver.supervisor.base.HostPort}),
 * durations (read by {@link forkserver.posix.Durations}, shared with the worker),
 * why a connection is refused ({@link forkserver.supervisor.base.Reason}: one name for the log,
 * the status line and the metrics), how a child ended ({@link forkserver.supervisor.base.ExitStatus}),
 * what a failure costs by its kind ({@link forkserver.supervisor.base.Failures}), and the waits
 * and paces the stages share ({@link forkserver.supervisor.base.Monitors},
 * {@link forkserver.supervisor.base.Backoff}, {@link forkserver.supervisor.base.RateLimit}), and
 * the one way a thread waits on descriptors ({@link forkserver.supervisor.base.Poller}; by thing,
 * each with a deadline: {@link forkserver.supervisor.base.Watchlist}). Nothing
 * here owns a thread or a process.
 */
package forkserver.supervisor.base;
