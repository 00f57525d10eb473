package forkserver.supervisor.box;

/**
 * {@code --child-tasks-max N}: how many tasks a connection may have at once, processes and threads
 * alike (the kernel's pids controller counts threads: a JVM needs a dozen or more of them).
 */
public record TasksMax(int tasks) {

    /** Far above any kernel's pid_max (4,194,304): larger is a typo. */
    public static final int MAX = 4_194_304;

    public TasksMax {
        if (tasks < 1 || tasks > MAX) {
            throw new IllegalArgumentException("expected a number of tasks from 1 to " + MAX + ", got " + tasks);
        }
    }

    /** The value of {@code --child-tasks-max}; the message of its exception is one line for the user. */
    public static TasksMax parse(String text) {
        String trimmed = text.trim();
        if (!trimmed.matches("\\d+")) {
            throw new IllegalArgumentException("expected a number of tasks (processes and threads), got '" + text + "'");
        }
        if (trimmed.length() > 7 || Integer.parseInt(trimmed) > MAX) {
            throw new IllegalArgumentException("'" + trimmed + "' is too large: at most " + MAX + " (the kernel's largest pid_max)");
        }
        int tasks = Integer.parseInt(trimmed);
        if (tasks < 1) {
            throw new IllegalArgumentException("'" + trimmed + "' is too small: at least 1 (the connection's own process)");
        }
        return new TasksMax(tasks);
    }

    @Override
    public String toString() {
        return Integer.toString(tasks);
    }
}
