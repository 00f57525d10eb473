package forkserver.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.Function;

/**
 * The bench's client: one echo session over a loopback socket, every answer checked. A session
 * that gets a wrong answer, none in time, or no end of stream after {@code bye!} throws
 * {@link Failure}; the bench then reports the model as failing.
 */
public final class Session implements AutoCloseable {

    static final int CONNECT_TIMEOUT_MILLIS = 10_000;
    private static final byte[] NOTHING = new byte[0];
    /** Generous: a burst of JVMs on two shared cores can take many seconds to answer. */
    static final int READ_TIMEOUT_MILLIS = 60_000;

    /** A session that did not go as the protocol says. */
    public static final class Failure extends RuntimeException {
        Failure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final Socket socket;
    private final BufferedReader in;
    private final OutputStream out;
    private final String name;
    private final long firstEchoNanos;

    private Session(Socket socket, String name, long started, byte[] prefix) throws IOException {
        this.socket = socket;
        this.name = name;
        this.in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        this.out = socket.getOutputStream();
        expectEcho("hello from " + name, prefix);
        this.firstEchoNanos = System.nanoTime() - started;
    }

    /**
     * Connects and waits for the first echo: the time from connect to that answer is what a new
     * connection costs a client (a process and maybe a JVM start, or a thread, or nothing).
     */
    public static Session open(InetSocketAddress server, String name) {
        return open(server, name, socket -> NOTHING);
    }

    /**
     * The same, with {@code prefix.apply(socket)} sent in the same write as the first line: a
     * PROXY header, made once the socket is connected, as a proxy makes it.
     */
    public static Session open(InetSocketAddress server, String name, Function<Socket, byte[]> prefix) {
        long started = System.nanoTime();
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(READ_TIMEOUT_MILLIS);
            socket.connect(server, CONNECT_TIMEOUT_MILLIS);
            return new Session(socket, name, started, prefix.apply(socket));
        } catch (IOException | RuntimeException e) {
            closeQuietly(socket);
            throw e instanceof Failure f ? f : new Failure(name + ": " + e, e);
        }
    }

    /**
     * A session with a program that knows no protocol ({@code cat}) or a worker: the first echo,
     * then end of input, then the server's end of stream, so that its process has ended before
     * the caller times anything else. Returns the first-echo time in milliseconds.
     */
    public static double firstEchoThenClose(InetSocketAddress server, String name, Function<Socket, byte[]> prefix) {
        try (Session session = open(server, name, prefix)) {
            session.endByClosing();
            return session.firstEchoNanos() / 1e6;
        }
    }

    public static double firstEchoThenClose(InetSocketAddress server, String name) {
        return firstEchoThenClose(server, name, socket -> NOTHING);
    }

    /** Half-closes and reads until the server's end of stream; anything it still sends is a failure. */
    public void endByClosing() {
        try {
            socket.shutdownOutput();
        } catch (IOException e) {
            throw new Failure(name + ": ending input: " + e, e);
        }
        String after = readLine();
        if (after != null) {
            throw new Failure(name + ": expected end of stream after end of input, got " + quote(after), null);
        }
    }

    /** A whole session: connect, one echo, {@code done}, {@code bye!}, end of stream. Returns the first-echo time. */
    public static long run(InetSocketAddress server, String name) {
        try (Session session = open(server, name)) {
            session.finish();
            return session.firstEchoNanos();
        }
    }

    public long firstEchoNanos() {
        return firstEchoNanos;
    }

    /** One more line on an open session; returns the round trip in nanoseconds. */
    public long roundTrip(String line) {
        long started = System.nanoTime();
        expectEcho(line);
        return System.nanoTime() - started;
    }

    /** Says {@code done}, expects {@code bye!}, then the server's end of stream. */
    public void finish() {
        String answer = send("  done  ");
        if (!"bye!".equals(answer)) {
            throw new Failure(name + ": expected 'bye!' after done, got " + quote(answer), null);
        }
        String after = readLine();
        if (after != null) {
            throw new Failure(name + ": expected end of stream after bye!, got " + quote(after), null);
        }
    }

    private void expectEcho(String line) {
        expectEcho(line, NOTHING);
    }

    private void expectEcho(String line, byte[] prefix) {
        String answer = send(line, prefix);
        if (!line.equals(answer)) {
            throw new Failure(name + ": sent " + quote(line) + ", got back " + quote(answer), null);
        }
    }

    private String send(String line) {
        return send(line, NOTHING);
    }

    private String send(String line, byte[] prefix) {
        try {
            byte[] text = (line + "\n").getBytes(StandardCharsets.UTF_8);
            byte[] bytes = Arrays.copyOf(prefix, prefix.length + text.length);
            System.arraycopy(text, 0, bytes, prefix.length, text.length);
            out.write(bytes);
            out.flush();
        } catch (IOException e) {
            throw new Failure(name + ": writing: " + e, e);
        }
        return readLine();
    }

    private String readLine() {
        try {
            return in.readLine();
        } catch (IOException e) {
            throw new Failure(name + ": reading: " + e, e);
        }
    }

    private static String quote(String s) {
        return s == null ? "end of stream" : "'" + s + "'";
    }

    @Override
    public void close() {
        closeQuietly(socket);
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }
}
