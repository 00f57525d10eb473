/**
 * Layer 4 (imports {@code reap}, {@code spawn}, {@code admit}, {@code log}, {@code base}).
 * Spares ({@code --spares N}): worker JVMs started ahead of their connection, through the
 * registry. An admitted connection goes to a ready one by descriptor hand-off over a socketpair
 * ({@link forkserver.supervisor.spares.HandOffs}: sent without waiting, acknowledged elsewhere,
 * never lost nor served twice); {@link forkserver.supervisor.spares.SparePool} holds the ready
 * ones and {@link forkserver.supervisor.spares.Spares} refills it. The pool owns a spare's
 * channel while it is idle; the registry owns its process throughout.
 */
package forkserver.supervisor.spares;
