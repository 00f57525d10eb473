/**
 * A box per connection: a cgroup holding the connection's child and everything it starts, with
 * its limits (memory, tasks, CPU), what it cost, and nothing left of it once it is removed.
 *
 * <p>{@link forkserver.supervisor.box.CgroupLayout} says what this host offers (cgroup v2, or the
 * hybrid layout of v1 controllers beside a v2 hierarchy); {@link forkserver.supervisor.box.Boxes}
 * is the supervisor's place in it and makes each {@link forkserver.supervisor.box.Box}. Limits
 * without cgroups, per process, are {@link forkserver.supervisor.box.ChildRlimit}s. The option
 * values ({@link forkserver.supervisor.box.MemorySize}, {@link forkserver.supervisor.box.TasksMax},
 * {@link forkserver.supervisor.box.CpuPercent}) parse with one-line errors.
 *
 * <p>Layer 0, beside {@code base}: a leaf that imports forkserver.posix and the JDK only. Its one
 * user in the supervisor is the child registry ({@code reap.Children}), which owns each box.
 */
package forkserver.supervisor.box;
