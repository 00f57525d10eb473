/**
 * Layer 2, a stage (imports {@code base} and {@code log} only). Spawn: the mechanics of a child
 * process. {@link forkserver.supervisor.spawn.Spawner} starts one per connection with
 * {@link java.lang.ProcessBuilder}, the connection on its fd 0 (and fd 1 with
 * {@code --stdio inout}) and its facts in the UCSPI and systemd environment variables
 * ({@link forkserver.supervisor.spawn.ConnectionEnvironment}), and spares alike; the JDK gives a
 * child only the parent's own descriptors, so the Spawner moves the connection onto the
 * supervisor's fd 0 for the moment of the start, under one lock.
 * {@link forkserver.supervisor.spawn.ChildProcess} is a started process (its pidfd, its exit);
 * {@link forkserver.supervisor.spawn.Reaper} notices exits on one thread and hands each to one
 * handler; {@link forkserver.supervisor.spawn.ProcessTable} finds what a child started. What a
 * child's life and death mean is the registry's ({@code reap}), not this package's.
 */
package forkserver.supervisor.spawn;
