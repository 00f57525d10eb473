/**
 * Layer 3, the child registry (imports {@code spawn}, {@code admit}, {@code log} and
 * {@code base}). {@link forkserver.supervisor.reap.Children} owns every process the supervisor
 * starts, from before its start (a connection's child, a spare, a child adopted after the JDK
 * lost it) to its last log line: it starts them through the Spawner, watches them with its own
 * Reaper, handles each exit in one place (the {@code end} line, the ticket back, or the spare pool
 * told), stops them at {@code --max-lifetime} and drains them at shutdown. Whatever a connection's
 * child owns beyond its process (a cgroup box, a uid) belongs on its record here.
 */
package forkserver.supervisor.reap;
