package forkserver.supervisor.admit;

/**
 * A rule that does not parse. Its message quotes what was given, for a command line's usage
 * error; {@link #expected()} says only what was expected, for a rules file, whose bytes are never
 * repeated in the log (a file named by mistake, or on purpose, may hold a secret).
 */
public final class BadRule extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String expected;

    /** {@code message} names what was given; {@code expected} does not. */
    BadRule(String message, String expected) {
        super(message);
        this.expected = expected;
    }

    public String expected() {
        return expected;
    }
}
