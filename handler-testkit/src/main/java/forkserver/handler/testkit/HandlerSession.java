package forkserver.handler.testkit;

import forkserver.handler.Connection;
import forkserver.handler.Handler;
import forkserver.handler.SocketConnection;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One handler serving one real connection, in this JVM: the handler's {@link Handler#serve} runs
 * on a thread of its own with the server's end of a connected loopback TCP socket, and the test
 * talks to it through {@link #client()} as a client would. The {@link Connection}'s facts (client
 * address, environment, arguments) are what the test sets, so a handler that reads them can be
 * tested without a supervisor.
 *
 * <p>As the worker does, the session sends the client end of file once {@code serve} returns, and
 * records the exit status the handler chose (or 1 when it threw). Nothing here depends on a test
 * framework:
 *
 * <pre>{@code
 * try (HandlerSession session = HandlerSession.builder().remoteIp("192.0.2.7").start(new Greeter())) {
 *     session.send("hello\n");
 *     assertEquals("hello 192.0.2.7\n", session.receiveAll());
 *     assertEquals(0, session.awaitExit(Duration.ofSeconds(5)));
 * }
 * }</pre>
 *
 * <p>What it cannot show is what only a process shows (its exit, its start-up, what it leaks into
 * the next connection): {@link ForkserverProcess} runs the handler as forkserver does.
 */
public final class HandlerSession implements AutoCloseable {

    private final Socket client;
    private final SocketChannel served;
    private final SocketConnection connection;
    private final CompletableFuture<Integer> exit = new CompletableFuture<>();
    private final Thread thread;
    private volatile Throwable failure;

    private HandlerSession(Handler handler, Builder facts) throws IOException {
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        try (ServerSocketChannel listener = ServerSocketChannel.open().bind(loopback, 1)) {
            client = new Socket();
            try {
                client.connect(listener.getLocalAddress(), 10_000);
                served = listener.accept();
            } catch (IOException e) {
                client.close();
                throw e;
            }
        }
        connection = new SocketConnection(served, facts.environment(), facts.arguments);
        thread = Thread.ofPlatform().name("handler " + handler.getClass().getName()).daemon().unstarted(() -> {
            try {
                handler.serve(connection);
                exit.complete(connection.exitStatus());
            } catch (Throwable e) {
                failure = e;
                exit.complete(1);
            } finally {
                try {
                    served.shutdownOutput(); // the worker's end of conversation: FIN, as when its process exits
                } catch (IOException e) {
                    // the client is gone
                }
            }
        });
        thread.start();
    }

    /** Serves one connection with {@code handler} and the socket's own facts. */
    public static HandlerSession start(Handler handler) throws IOException {
        return builder().start(handler);
    }

    /** The facts of the connection to come, to set before {@link Builder#start}. */
    public static Builder builder() {
        return new Builder();
    }

    /** The client's end of the connection: a connected socket, for the test to talk through. */
    public Socket client() {
        return client;
    }

    /** Writes {@code text} (UTF-8) to the handler and flushes. */
    public void send(String text) throws IOException {
        OutputStream out = client.getOutputStream();
        out.write(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        out.flush();
    }

    /** Tells the handler the client has no more to say (end of file on its side). */
    public void shutdownInput() throws IOException {
        client.shutdownOutput();
    }

    /** Reads one line (up to and without {@code \n}, UTF-8), or null at end of stream. */
    public String receiveLine() throws IOException {
        InputStream in = client.getInputStream();
        java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != -1 && b != '\n') {
            line.write(b);
        }
        return b == -1 && line.size() == 0 ? null : line.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Reads everything until the handler's end of conversation, as UTF-8. */
    public String receiveAll() throws IOException {
        return new String(client.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * Waits for {@code serve} to return and gives the status the worker would exit with: the one
     * the handler chose (0 unless it did), or 1 when it threw ({@link #failure()} says what).
     *
     * @throws TimeoutException when the handler still serves after {@code timeout}
     */
    public int awaitExit(Duration timeout) throws TimeoutException, InterruptedException {
        try {
            return exit.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause()); // never completed exceptionally
        }
    }

    /** What {@code serve} threw, or null while it serves or when it returned normally. */
    public Throwable failure() {
        return failure;
    }

    /**
     * Closes both ends. A handler still serving sees end of file or an error on its next read or
     * write; its thread (a daemon) is interrupted and not waited for.
     */
    @Override
    public void close() throws IOException {
        try {
            client.close();
        } finally {
            served.close();
            thread.interrupt();
        }
    }

    /** The facts of one connection: each unset one is the socket's own. */
    public static final class Builder {

        String remoteIp;
        Integer remotePort;
        String localIp;
        Integer localPort;
        final Map<String, String> environment = new HashMap<>();
        List<String> arguments = List.of();

        private Builder() {
        }

        /** What {@link Connection#remoteIp()} says, e.g. {@code 192.0.2.7}. */
        public Builder remoteIp(String ip) {
            this.remoteIp = Objects.requireNonNull(ip);
            return this;
        }

        /** What {@link Connection#remotePort()} says. */
        public Builder remotePort(int port) {
            this.remotePort = port;
            return this;
        }

        /** What {@link Connection#localIp()} says. */
        public Builder localIp(String ip) {
            this.localIp = Objects.requireNonNull(ip);
            return this;
        }

        /** What {@link Connection#localPort()} says. */
        public Builder localPort(int port) {
            this.localPort = port;
            return this;
        }

        /**
         * A variable {@link Connection#env} gives: those set here, and the facts chosen here under
         * their UCSPI names ({@code TCPREMOTEIP}, ...) as under forkserver; not this JVM's environment.
         */
        public Builder env(String name, String value) {
            environment.put(Objects.requireNonNull(name), Objects.requireNonNull(value));
            return this;
        }

        /** What {@link Connection#arguments()} gives. */
        public Builder arguments(String... arguments) {
            this.arguments = List.of(arguments);
            return this;
        }

        /**
         * The connection's environment, as a worker's would be: the variables set here, and the
         * facts chosen here under their UCSPI names (the others come from the socket).
         */
        Map<String, String> environment() {
            Map<String, String> all = new HashMap<>(environment);
            if (remoteIp != null) {
                all.put("TCPREMOTEIP", remoteIp);
            }
            if (remotePort != null) {
                all.put("TCPREMOTEPORT", Integer.toString(remotePort));
            }
            if (localIp != null) {
                all.put("TCPLOCALIP", localIp);
            }
            if (localPort != null) {
                all.put("TCPLOCALPORT", Integer.toString(localPort));
            }
            return all;
        }

        /** Connects a client and starts {@code handler} on the server's end. */
        public HandlerSession start(Handler handler) throws IOException {
            Objects.requireNonNull(handler, "handler");
            return new HandlerSession(handler, this);
        }
    }
}
