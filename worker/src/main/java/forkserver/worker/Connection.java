package forkserver.worker;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.util.Map;

/**
 * The one connection a worker process serves, and the facts about it.
 *
 * <p>The facts come from the environment the spawner set, in the order a handler most likely
 * runs under: the UCSPI variables of forkserver's supervisor and tcpserver ({@code TCPREMOTEIP},
 * {@code TCPREMOTEPORT}, {@code TCPLOCALIP}, {@code TCPLOCALPORT}), then systemd's
 * ({@code REMOTE_ADDR}, {@code REMOTE_PORT}), then the socket itself (inetd sets nothing).
 */
public final class Connection {

    private final SocketChannel channel;
    private final Map<String, String> environment;

    public Connection(SocketChannel channel, Map<String, String> environment) {
        this.channel = channel;
        this.environment = Map.copyOf(environment);
    }

    /** The connected socket, in blocking mode. */
    public SocketChannel channel() {
        return channel;
    }

    /** A stream view of the socket, for handlers that prefer {@code java.io}. Not buffered. */
    public InputStream in() {
        return Channels.newInputStream(channel);
    }

    /** A stream view of the socket, for handlers that prefer {@code java.io}. Not buffered. */
    public OutputStream out() {
        return Channels.newOutputStream(channel);
    }

    /** The client's IP address as text, e.g. {@code 127.0.0.1} or {@code ::1}. */
    public String remoteIp() {
        return fact("TCPREMOTEIP", "REMOTE_ADDR", remoteSocketAddress(), true);
    }

    /** The client's port, or -1 when it is not known. */
    public int remotePort() {
        return port(fact("TCPREMOTEPORT", "REMOTE_PORT", remoteSocketAddress(), false));
    }

    /** The server's IP address of this connection as text. */
    public String localIp() {
        return fact("TCPLOCALIP", null, localSocketAddress(), true);
    }

    /** The server's port of this connection, or -1 when it is not known. */
    public int localPort() {
        return port(fact("TCPLOCALPORT", null, localSocketAddress(), false));
    }

    /** An environment variable of this connection (including the rule's variables), or null. */
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
