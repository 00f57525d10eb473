package forkserver.testkit;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The supervisor's start-up line, {@code forkserver: listening on HOST:PORT (HOW) ...}, read in
 * one place for every test: where it listens (the address's text as logged, IPv6 without its
 * brackets) and how it got the socket ({@code bound}, {@code inherited on fd 0}, ...).
 */
public record Listening(String host, int port, String how) {

    /** The line, anywhere in a text: host, port, how. */
    public static final Pattern LINE = Pattern.compile("listening on \\[?([0-9a-fA-F.:]+)]?:(\\d+) \\(([^)]*)\\)");

    /** The first start-up line in {@code text} (a line, or a whole log), if any. */
    public static Optional<Listening> in(String text) {
        Matcher m = LINE.matcher(text);
        return m.find() ? Optional.of(of(m)) : Optional.empty();
    }

    /** A match of {@link #LINE}. */
    public static Listening of(Matcher m) {
        return new Listening(m.group(1), Integer.parseInt(m.group(2)), m.group(3));
    }

    /** Where a client connects. */
    public InetSocketAddress address() {
        return new InetSocketAddress(InetAddress.ofLiteral(host), port);
    }
}
