package forkserver.supervisor.box;

/**
 * What each connection's box holds it to; each limit null when not asked for. With none at all a
 * box still contains and accounts for the connection's processes (what they cost, what is left).
 */
public record BoxLimits(MemorySize memoryMax, TasksMax tasksMax, CpuPercent cpuMax) {

    public static final String MEMORY_OPTION = "--child-memory-max";
    public static final String TASKS_OPTION = "--child-tasks-max";
    public static final String CPU_OPTION = "--child-cpu-max";

    public static final BoxLimits NONE = new BoxLimits(null, null, null);

    public boolean any() {
        return memoryMax != null || tasksMax != null || cpuMax != null;
    }

    /** {@code memory=64M tasks=48 cpu=50%}, the limits that are set; empty when none. */
    @Override
    public String toString() {
        StringBuilder text = new StringBuilder();
        if (memoryMax != null) {
            text.append("memory=").append(memoryMax);
        }
        if (tasksMax != null) {
            text.append(text.isEmpty() ? "" : " ").append("tasks=").append(tasksMax);
        }
        if (cpuMax != null) {
            text.append(text.isEmpty() ? "" : " ").append("cpu=").append(cpuMax);
        }
        return text.toString();
    }
}
