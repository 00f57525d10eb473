/**
 * Layer 2, a stage (imports {@code base} and {@code log} only). {@code --metrics HOST:PORT}: the
 * {@link forkserver.supervisor.log.Totals} in Prometheus' text exposition format. Loaded only when
 * the option is given, so that it costs a supervisor without it nothing.
 */
package forkserver.supervisor.metrics;
