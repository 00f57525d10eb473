package forkserver.supervisor.base;

/**
 * A child's exit as the log says it: {@code status=N} or {@code signal=NAME}.
 *
 * <p>The JDK reports a child killed by signal N as exit value 128+N, as a shell does, so the two
 * cannot be told apart through {@link Process}; like a shell, values from 129 to 192 are read as
 * signals.
 */
public final class ExitStatus {

    private static final String[] NAMES = {
        null, "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV",
        "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU",
        "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    };

    private ExitStatus() {
    }

    public static String describe(int exitValue) {
        String signal = signal(exitValue);
        return signal != null ? "signal=" + signal : "status=" + exitValue;
    }

    /** The signal's name (KILL, or its number when unnamed) when {@code exitValue} reads as one, else null. */
    public static String signal(int exitValue) {
        if (exitValue > 128 && exitValue <= 128 + 64) {
            int signal = exitValue - 128;
            return signal < NAMES.length ? NAMES[signal] : Integer.toString(signal);
        }
        return null;
    }
}
