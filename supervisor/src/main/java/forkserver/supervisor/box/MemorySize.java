package forkserver.supervisor.box;

import java.math.BigInteger;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code --child-memory-max SIZE}: a connection's memory as an operator writes it, {@code 64M},
 * {@code 1G}, {@code 512K} (binary units: 1M is 1,048,576 bytes), a bare number being bytes.
 */
public record MemorySize(long bytes) {

    /** Below this a box cannot even exec a program: the kernel kills it while it maps its libraries. */
    public static final long MIN = 1L << 20;
    /** Far above any machine: larger is a typo (and near Long.MAX_VALUE the kernel's "max"). */
    public static final long MAX = 1L << 50;

    private static final Pattern FORM = Pattern.compile("(\\d+)\\s*([KMGT]?)(?:I?B)?", Pattern.CASE_INSENSITIVE);

    public MemorySize {
        if (bytes < MIN || bytes > MAX) {
            throw new IllegalArgumentException("expected a size from 1M to 1P, got " + bytes + " bytes");
        }
    }

    /** The value of {@code --child-memory-max}; the message of its exception is one line for the user. */
    public static MemorySize parse(String text) {
        Matcher m = FORM.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("expected a size such as 64M or 1G, got '" + text + "'");
        }
        BigInteger bytes = bytes(m.group(1), m.group(2));
        if (bytes.compareTo(BigInteger.valueOf(MIN)) < 0) {
            throw new IllegalArgumentException("'" + text.trim() + "' is too small: at least 1M (a program cannot start in less)");
        }
        if (bytes.compareTo(BigInteger.valueOf(MAX)) > 0) {
            throw new IllegalArgumentException("'" + text.trim() + "' is too large: at most 1024T");
        }
        return new MemorySize(bytes.longValueExact());
    }

    /** {@code digits} times a binary {@code unit} (K, M, G, T, or none: bytes), in any case, as a BigInteger. */
    static BigInteger bytes(String digits, String unit) {
        int shift = switch (unit.toUpperCase(Locale.ROOT)) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            case "T" -> 40;
            default -> 0;
        };
        return new BigInteger(digits).shiftLeft(shift);
    }

    /** The size in the largest binary unit that says it exactly: {@code 64M}, {@code 1536K}. */
    @Override
    public String toString() {
        String[] units = {"", "K", "M", "G", "T"};
        long value = bytes;
        int unit = 0;
        while (unit < units.length - 1 && value % 1024 == 0) {
            value /= 1024;
            unit++;
        }
        return value + units[unit];
    }
}
