/**
 * Layer 1, the log: what an operator reads; imports {@code base} only, so every stage may log.
 * {@link forkserver.supervisor.log.EventLog} writes one line per event, text or JSON, in fixed
 * grep-able fields; {@link forkserver.supervisor.log.ChildStderr} carries every child's stderr into
 * it as events of their own (cut, rate-limited, never blocking the supervisor; it owns the read
 * ends of the children's stderr pipes); {@link forkserver.supervisor.log.Totals} counts since
 * start for the {@code status} line and the metrics.
 */
package forkserver.supervisor.log;
