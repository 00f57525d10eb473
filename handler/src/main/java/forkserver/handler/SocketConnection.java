package forkserver.handler;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;
import javax.net.ssl.SSLSession;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A {@link Connection} over a connected TCP socket, its facts from an environment (in the order
 * {@link Connection} gives: the UCSPI variables, systemd's, then the socket itself), the handler's
 * arguments and the exit status it chose. Forkserver's worker gives a handler one over fd 0 and
 * the environment it was started with; {@code forkserver-handler-testkit}'s {@code HandlerSession}
 * gives one over a loopback socket and the facts a test chose.
 */
public final class SocketConnection implements Connection {

    private final SocketChannel channel;
    /** What the handler reads and writes: the socket itself, or TLS's plaintext over it. */
    private final ByteChannel plaintext;
    /** The TLS session, or null on plain TCP. */
    private final SSLSession session;
    private final Map<String, String> environment;
    private final List<String> arguments;
    private volatile int exitStatus; // 0 unless the handler chose another

    /**
     * A plain TCP connection without arguments.
     *
     * @param channel     the connected socket, in blocking mode
     * @param environment where the facts are read first (see {@link Connection}), and what {@link #env} gives
     */
    public SocketConnection(SocketChannel channel, Map<String, String> environment) {
        this(channel, environment, List.of());
    }

    /**
     * A plain TCP connection.
     *
     * @param channel     the connected socket, in blocking mode
     * @param environment where the facts are read first (see {@link Connection}), and what {@link #env} gives
     * @param arguments   what {@link #arguments()} gives
     */
    public SocketConnection(SocketChannel channel, Map<String, String> environment, List<String> arguments) {
        this(channel, channel, null, environment, arguments);
    }

    /**
     * A connection whose conversation is {@code plaintext} over {@code channel} (TLS's, when
     * {@code session} is not null).
     *
     * @param channel     the connected socket, in blocking mode
     * @param plaintext   what the handler reads and writes: {@code channel} itself, or TLS over it
     * @param session     the TLS session, or null on plain TCP
     * @param environment where the facts are read first (see {@link Connection}), and what {@link #env} gives
     * @param arguments   what {@link #arguments()} gives
     */
    public SocketConnection(SocketChannel channel, ByteChannel plaintext, SSLSession session,
            Map<String, String> environment, List<String> arguments) {
        this.channel = channel;
        this.plaintext = plaintext;
        this.session = session;
        this.environment = Map.copyOf(environment);
        this.arguments = List.copyOf(arguments);
    }

    /** The connected socket in blocking mode, or TLS's plaintext over it. */
    @Override
    public ByteChannel channel() {
        return plaintext;
    }

    @Override
    public Optional<SSLSession> tlsSession() {
        return Optional.ofNullable(session);
    }

    /**
     * The TCP socket itself, under TLS's plaintext when there is TLS.
     *
     * @return the connected socket
     */
    public SocketChannel socket() {
        return channel;
    }

    @Override
    public List<String> arguments() {
        return arguments;
    }

    @Override
    public void setExitStatus(int status) {
        if (status < 0 || status > 255) {
            throw new IllegalArgumentException("exit status must be 0 to 255, got " + status);
        }
        exitStatus = status;
    }

    /**
     * The status the handler chose.
     *
     * @return what {@link #setExitStatus} set, else 0
     */
    public int exitStatus() {
        return exitStatus;
    }



    /** The client's IP address as text, e.g. {@code 127.0.0.1} or {@code ::1}. */
    @Override
    public String remoteIp() {
        return fact("TCPREMOTEIP", "REMOTE_ADDR", remoteSocketAddress(), true);
    }

    /** The client's port, or -1 when it is not known. */
    @Override
    public int remotePort() {
        return port(fact("TCPREMOTEPORT", "REMOTE_PORT", remoteSocketAddress(), false));
    }

    /** The server's IP address of this connection as text. */
    @Override
    public String localIp() {
        return fact("TCPLOCALIP", null, localSocketAddress(), true);
    }

    /** The server's port of this connection, or -1 when it is not known. */
    @Override
    public int localPort() {
        return port(fact("TCPLOCALPORT", null, localSocketAddress(), false));
    }

    /**
     * {@code PROTO}, else the socket's kind: under systemd's {@code Accept=yes} on a
     * {@code ListenStream=/path} nothing sets the variable.
     */
    @Override
    public String protocol() {
        String proto = environment.get("PROTO");
        if (proto != null) {
            return proto;
        }
        return localSocketAddress() instanceof java.net.UnixDomainSocketAddress ? "IPC" : "TCP";
    }

    /** {@code IPCLOCALPATH}, else the UNIX-domain socket's own path (systemd {@code Accept=yes}). */
    @Override
    public String localPath() {
        String path = environment.get("IPCLOCALPATH");
        if (path == null && localSocketAddress() instanceof java.net.UnixDomainSocketAddress unix) {
            path = unix.getPath().toString();
        }
        return path;
    }

    /** An environment variable of this connection (including the rule's variables), or null. */
    @Override
    public String env(String name) {
        return environment.get(name);
    }

    private String fact(String ucspi, String systemd, SocketAddress socket, boolean ip) {
        String value = environment.get(ucspi);
        if (value == null && systemd != null) {
            value = environment.get(systemd);
        }
        if (value == null && socket instanceof InetSocketAddress inet) {
            value = ip ? inet.getAddress().getHostAddress() : Integer.toString(inet.getPort());
        }
        return value;
    }

    private SocketAddress remoteSocketAddress() {
        try {
            return channel.getRemoteAddress();
        } catch (IOException e) {
            return null;
        }
    }

    private SocketAddress localSocketAddress() {
        try {
            return channel.getLocalAddress();
        } catch (IOException e) {
            return null;
        }
    }

    private static int port(String text) {
        if (text == null) {
            return -1;
        }
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
