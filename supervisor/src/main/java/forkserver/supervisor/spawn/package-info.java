/**
 * 3. Spawn: one child process per connection with {@link java.lang.ProcessBuilder}, the connection
 * on its fd 0 (and fd 1 with {@code --stdio inout}) and its facts in the UCSPI and systemd
 * environment variables ({@link forkserver.supervisor.spawn.ConnectionEnvironment}). The JDK gives
 * a child only the parent's own descriptors, so {@link forkserver.supervisor.spawn.Spawner} moves
 * the connection onto the supervisor's fd 0 for the moment of the start, under one lock.
 */
package forkserver.supervisor.spawn;
