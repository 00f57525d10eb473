/**
 * 3a. Spares ({@code --spares N}): worker JVMs started ahead of their connection. An admitted
 * connection goes to a ready one by descriptor hand-off over a socketpair
 * ({@link forkserver.supervisor.spares.HandOffs}: sent without waiting, acknowledged elsewhere,
 * never lost nor served twice); {@link forkserver.supervisor.spares.SparePool} holds the ready
 * ones and {@link forkserver.supervisor.spares.Spares} refills it.
 */
package forkserver.supervisor.spares;
