/**
 * Layer 3, the child registry (imports {@code spawn}, {@code admit}, {@code log},
 * {@code base} and {@code box}). {@link forkserver.supervisor.reap.Children} owns every process the supervisor
 * starts, from before its start (a connection's child, a spare, a child adopted after the JDK
 * lost it) to its last log line: it starts them through the Spawner, watches them with its own
 * Reaper, handles each exit in one place (the {@code end} line, the ticket back, or the spare pool
 * told), stops them at {@code --max-lifetime} and drains them at shutdown. Whatever a connection's
 * child owns beyond its process belongs on its record here: its cgroup box, made before the start
 * and, at exit, emptied, accounted and removed (off the reaper's thread) before the {@code end}
 * line and the ticket given back.
 */
package forkserver.supervisor.reap;
