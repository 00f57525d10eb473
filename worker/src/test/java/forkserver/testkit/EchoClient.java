package forkserver.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** A client of the echo protocol over a real loopback socket, with timeouts on every read. */
public final class EchoClient implements AutoCloseable {

    public static final int READ_TIMEOUT_MILLIS = 30_000;

    private final Socket socket;
    private final BufferedReader in;
    private final OutputStream out;

    private EchoClient(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(READ_TIMEOUT_MILLIS);
        this.in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        this.out = socket.getOutputStream();
    }

    public static EchoClient connect(InetSocketAddress server) {
        return connect(server, null);
    }

    /** Connects from {@code source} (e.g. 127.0.0.2), or from any local address when null. */
    public static EchoClient connect(InetSocketAddress server, InetAddress source) {
        Socket socket = new Socket();
        try {
            if (source != null) {
                socket.bind(new InetSocketAddress(source, 0));
            }
            socket.connect(server, 10_000);
            return new EchoClient(socket);
        } catch (IOException e) {
            closeQuietly(socket);
            throw new UncheckedIOException("connecting to " + server, e);
        }
    }

    /** Sends {@code line} and a newline. */
    public EchoClient send(String line) {
        try {
            out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sends {@code bytes} as they are, in one write (a PROXY header and what follows it, say). */
    public EchoClient sendBytes(byte[] bytes) {
        try {
            out.write(bytes);
            out.flush();
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The next line, without its newline; null at end of stream. */
    public String readLine() {
        try {
            return in.readLine();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sends a line and returns the answer. */
    public String roundTrip(String line) {
        return send(line).readLine();
    }

    /** Waits at most {@code millis} for a line; null when none came in time. */
    public String readLineWithin(int millis) {
        try {
            socket.setSoTimeout(millis);
            return in.readLine();
        } catch (SocketTimeoutException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            try {
                socket.setSoTimeout(READ_TIMEOUT_MILLIS);
            } catch (IOException ignored) {
                // closed meanwhile
            }
        }
    }

    /** Everything the server sends from here until it closes (what the reader holds included). */
    public String readToEnd() {
        try {
            StringBuilder rest = new StringBuilder();
            char[] buffer = new char[4096];
            for (int read; (read = in.read(buffer)) >= 0; ) {
                rest.append(buffer, 0, read);
            }
            return rest.toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** True when the server closed its side: the next read is end of stream. */
    public boolean atEndOfStream() {
        return readLine() == null;
    }

    /** Half-closes: the server sees end of input. */
    public void shutdownOutput() {
        try {
            socket.shutdownOutput();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public int localPort() {
        return socket.getLocalPort();
    }

    public Socket socket() {
        return socket;
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
