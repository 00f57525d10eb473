package forkserver.supervisor.box;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;

import java.math.BigInteger;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code --child-rlimit NAME=SOFT[:HARD]}: a resource limit set on each connection's child with
 * prlimit(2), as xinetd's {@code rlimit_*}: no cgroup needed, but per process (its children
 * inherit a copy) rather than per connection. One value sets both limits, as prlimit(1) does;
 * {@code unlimited} is no limit.
 */
public record ChildRlimit(Resource resource, long soft, long hard) {

    public static final String OPTION = "--child-rlimit";

    /** The limits one may set, by the names prlimit(1) and xinetd use. */
    public enum Resource {
        NOFILE(Posix.RLIMIT_NOFILE, "descriptors", false),
        CORE(Posix.RLIMIT_CORE, "bytes", true),
        CPU(Posix.RLIMIT_CPU, "seconds", false),
        FSIZE(Posix.RLIMIT_FSIZE, "bytes", true),
        NPROC(Posix.RLIMIT_NPROC, "processes", false),
        AS(Posix.RLIMIT_AS, "bytes", true);

        final int number;
        final String unit;
        final boolean sizes;

        Resource(int number, String unit, boolean sizes) {
            this.number = number;
            this.unit = unit;
            this.sizes = sizes;
        }

        public String optionName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private static final Pattern FORM = Pattern.compile("([a-z]+)=([^:]+)(?::(.+))?");
    private static final Pattern NUMBER = Pattern.compile("(\\d+)([KMGT]?)", Pattern.CASE_INSENSITIVE);

    public ChildRlimit {
        if (Long.compareUnsigned(soft, hard) > 0) {
            throw new IllegalArgumentException("the soft limit is above the hard one");
        }
    }

    /** The value of {@code --child-rlimit}; the message of its exception is one line for the user. */
    public static ChildRlimit parse(String text) {
        Matcher m = FORM.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("expected NAME=SOFT[:HARD] such as nofile=1024 or core=0, got '" + text + "'");
        }
        Resource resource = resource(m.group(1));
        long soft = value(resource, m.group(2));
        long hard = m.group(3) == null ? soft : value(resource, m.group(3));
        if (Long.compareUnsigned(soft, hard) > 0) {
            throw new IllegalArgumentException("'" + text.trim() + "': the soft limit is above the hard one");
        }
        return new ChildRlimit(resource, soft, hard);
    }

    /**
     * What a user should know before relying on this limit, or empty. {@code as} bounds address
     * space, which a JVM reserves far beyond what it uses; {@code nproc} counts the user's processes
     * everywhere, not the connection's.
     */
    public Optional<String> warning() {
        return switch (resource) {
            case AS -> Optional.of(OPTION + " as=" + format(soft) + ": a JVM reserves far more address space than it"
                    + " uses (heap, metaspace, code cache, a stack per thread) and fails to start, or throws"
                    + " OutOfMemoryError, under a limit near its real use; use " + BoxLimits.MEMORY_OPTION + " for memory");
            case NPROC -> Optional.of(OPTION + " nproc=" + format(soft) + ": counts every process and thread of the"
                    + " child's user, not of its connection, and root is exempt; use " + BoxLimits.TASKS_OPTION
                    + " for a limit per connection");
            default -> Optional.empty();
        };
    }

    /**
     * The shell's {@code ulimit} command that sets this limit before the command is exec'd, or
     * empty when the shell cannot say it: {@code nproc}, whose letter differs between shells
     * (dash {@code -p}, bash {@code -u}), and sizes the shell's units (512-byte blocks for
     * {@code core} and {@code fsize}, KiB for {@code as}) cannot carry exactly. With different
     * limits, the soft one first where it fits, then the hard one, then the soft one again: each
     * step keeps soft at most hard, whichever way the limits move.
     */
    public Optional<String> shellCommand() {
        String letter = switch (resource) {
            case NOFILE -> "n";
            case CPU -> "t";
            case CORE -> "c";
            case FSIZE -> "f";
            case AS -> "v";
            case NPROC -> null;
        };
        long unit = switch (resource) {
            case CORE, FSIZE -> 512;
            case AS -> 1024;
            default -> 1;
        };
        if (letter == null || !inUnits(soft, unit) || !inUnits(hard, unit)) {
            return Optional.empty();
        }
        String softText = shellValue(soft, unit);
        String hardText = shellValue(hard, unit);
        if (soft == hard) {
            return Optional.of("ulimit -" + letter + " " + softText);
        }
        return Optional.of("{ ulimit -S -" + letter + " " + softText + " 2>/dev/null; ulimit -H -" + letter + " " + hardText
                + " && ulimit -S -" + letter + " " + softText + "; }");
    }

    /** The limits {@link #shellCommand} cannot set: the supervisor sets them right after the start. */
    public static List<ChildRlimit> afterStart(List<ChildRlimit> limits) {
        return limits.stream().filter(l -> l.shellCommand().isEmpty()).toList();
    }

    private static boolean inUnits(long value, long unit) {
        return value == Posix.RLIM_INFINITY || Long.remainderUnsigned(value, unit) == 0;
    }

    private static String shellValue(long value, long unit) {
        return value == Posix.RLIM_INFINITY ? "unlimited" : Long.toUnsignedString(value / unit);
    }

    /** Sets the limits on {@code pid} (a spawned child; its descendants inherit them from then on). */
    public static void apply(long pid, List<ChildRlimit> limits) throws ErrnoException {
        for (ChildRlimit limit : limits) {
            Posix.prlimit(pid, limit.resource.number, limit.soft, limit.hard);
        }
    }

    /** {@code nofile=1024:4096}: what {@link #parse} reads. */
    @Override
    public String toString() {
        String text = resource.optionName() + "=" + format(soft);
        return hard == soft ? text : text + ":" + format(hard);
    }

    private static String format(long value) {
        return value == Posix.RLIM_INFINITY ? "unlimited" : Long.toUnsignedString(value);
    }

    private static Resource resource(String name) {
        for (Resource resource : Resource.values()) {
            if (resource.optionName().equals(name)) {
                return resource;
            }
        }
        throw new IllegalArgumentException("'" + name + "' is not a limit one can set: expected nofile, core, cpu, fsize, nproc or as");
    }

    private static long value(Resource resource, String text) {
        String trimmed = text.trim();
        if (trimmed.equalsIgnoreCase("unlimited") || trimmed.equalsIgnoreCase("infinity")) {
            return Posix.RLIM_INFINITY;
        }
        Matcher m = NUMBER.matcher(trimmed);
        if (!m.matches() || (!m.group(2).isEmpty() && !resource.sizes)) {
            throw new IllegalArgumentException(resource.optionName() + ": expected a number of " + resource.unit
                    + (resource.sizes ? " (or 64M, 1G)" : "") + " or unlimited, got '" + text + "'");
        }
        BigInteger value = MemorySize.bytes(m.group(1), m.group(2));
        if (value.bitLength() > 62) {
            throw new IllegalArgumentException(resource.optionName() + ": '" + trimmed + "' is too large: say unlimited");
        }
        return value.longValueExact();
    }
}
