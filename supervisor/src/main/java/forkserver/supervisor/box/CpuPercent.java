package forkserver.supervisor.box;

/**
 * {@code --child-cpu-max PERCENT}: a connection's CPU time as a share of one core, {@code 50%}
 * half a core, {@code 200%} two cores (as systemd's {@code CPUQuota=}). The kernel enforces it per
 * period of {@link #PERIOD_MICROS}: a box over its quota waits for the next period.
 */
public record CpuPercent(int percent) {

    /** The scheduler's period, 100 ms: the kernel's default and systemd's. */
    public static final long PERIOD_MICROS = 100_000;
    /** 1 % of a 100 ms period is 1 ms, the smallest quota the kernel takes. */
    public static final int MIN = 1;
    /** A thousand cores: more is a typo. */
    public static final int MAX = 100_000;

    public CpuPercent {
        if (percent < MIN || percent > MAX) {
            throw new IllegalArgumentException("expected a percentage of a core from 1% to " + MAX + "%, got " + percent + "%");
        }
    }

    /** The value of {@code --child-cpu-max} ({@code 50%}, or {@code 50}); its exception's message is one line. */
    public static CpuPercent parse(String text) {
        String trimmed = text.trim();
        String digits = trimmed.endsWith("%") ? trimmed.substring(0, trimmed.length() - 1).trim() : trimmed;
        if (!digits.matches("\\d+")) {
            throw new IllegalArgumentException("expected a percentage of one core such as 50% or 200%, got '" + text + "'");
        }
        if (digits.length() > 6 || Integer.parseInt(digits) > MAX) {
            throw new IllegalArgumentException("'" + trimmed + "' is too large: at most " + MAX + "% (a thousand cores)");
        }
        int percent = Integer.parseInt(digits);
        if (percent < MIN) {
            throw new IllegalArgumentException("'" + trimmed + "' is too small: at least 1% (1 ms per 100 ms)");
        }
        return new CpuPercent(percent);
    }

    /** The quota per {@link #PERIOD_MICROS}, in microseconds. */
    public long quotaMicros() {
        return percent * PERIOD_MICROS / 100;
    }

    @Override
    public String toString() {
        return percent + "%";
    }
}
