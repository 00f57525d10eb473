package forkserver.handler;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.ByteChannel;
import java.nio.channels.Channels;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLSession;

/**
 * The one connection a worker process serves, and the facts about it.
 *
 * <p>The client is on TCP or, {@link #protocol()} says, on a UNIX-domain socket, where its facts
 * are its credentials rather than an address.
 *
 * <p>The facts come from the environment the process was started with, in the order a handler
 * most likely runs under: the UCSPI variables of forkserver's supervisor and tcpserver
 * ({@code TCPREMOTEIP}, {@code TCPREMOTEPORT}, {@code TCPLOCALIP}, {@code TCPLOCALPORT}), then
 * systemd's ({@code REMOTE_ADDR}, {@code REMOTE_PORT}), then the socket itself (inetd sets
 * nothing).
 *
 * <p>Reads block until bytes arrive or the client closes; writes block until the bytes are
 * handed to the kernel. Nothing is buffered by the connection itself.
 */
public interface Connection {

    /**
     * The conversation as a blocking channel: {@code read} returns -1 at the client's end of
     * input. Use either this or {@link #in()}/{@link #out()}, not both at once.
     *
     * @return the connection's channel, in blocking mode
     */
    ByteChannel channel();

    /**
     * A stream view of {@link #channel()}, for handlers that prefer {@code java.io}. Not buffered.
     *
     * @return the client's bytes
     */
    default InputStream in() {
        return Channels.newInputStream(channel());
    }

    /**
     * A stream view of {@link #channel()}, for handlers that prefer {@code java.io}. Not buffered:
     * wrap it in a {@link java.io.BufferedOutputStream} and flush before {@code serve} returns.
     *
     * @return the way to the client
     */
    default OutputStream out() {
        return Channels.newOutputStream(channel());
    }

    /**
     * The client's IP address.
     *
     * @return the address as text, e.g. {@code 127.0.0.1} or {@code ::1}, or null when unknown
     */
    String remoteIp();

    /**
     * The client's port.
     *
     * @return the port, or -1 when it is not known
     */
    int remotePort();

    /**
     * The server's IP address of this connection.
     *
     * @return the address as text, or null when unknown
     */
    String localIp();

    /**
     * The server's port of this connection.
     *
     * @return the port, or -1 when it is not known
     */
    int localPort();

    /**
     * What the client is connected over, in UCSPI's words: {@code TCP} (its address is
     * {@link #remoteIp()}), or {@code IPC} for a UNIX-domain socket (the client is a local process:
     * {@link #remoteUid()}, {@link #remoteGid()}, {@link #remotePid()}; {@link #remoteIp()} is null).
     *
     * @return {@code TCP} or {@code IPC}, from {@code PROTO}; {@code TCP} when nothing says
     */
    default String protocol() {
        String proto = env("PROTO");
        return proto != null ? proto : "TCP";
    }

    /**
     * On a UNIX-domain connection, the client's effective user id, as the kernel recorded it when
     * it connected ({@code SO_PEERCRED}; {@code IPCREMOTEEUID}): it cannot be forged by the client.
     *
     * @return the uid, or -1 on TCP or when it is not known
     */
    default long remoteUid() {
        return number(env("IPCREMOTEEUID"));
    }

    /**
     * On a UNIX-domain connection, the client's effective group id ({@code IPCREMOTEEGID}).
     *
     * @return the gid, or -1 on TCP or when it is not known
     */
    default long remoteGid() {
        return number(env("IPCREMOTEEGID"));
    }

    /**
     * On a UNIX-domain connection, the client's process id when it connected ({@code IPCREMOTEPID}).
     *
     * @return the pid, or -1 on TCP or when it is not known
     */
    default long remotePid() {
        return number(env("IPCREMOTEPID"));
    }

    /**
     * On a UNIX-domain connection, the socket the client dialled ({@code IPCLOCALPATH}): a path,
     * or {@code @name} in the abstract namespace.
     *
     * @return the path, or null on TCP or when it is not known
     */
    default String localPath() {
        return env("IPCLOCALPATH");
    }

    /**
     * An environment variable of this connection: the process's environment, with the variables
     * the supervisor set for this connection (its access rule's, for example).
     *
     * @param name the variable's name
     * @return its value, or null when it is not set
     */
    String env(String name);

    /**
     * The handler's arguments: what follows the handler's name on the worker's command line
     * ({@code forkserver-worker com.example.MyHandler ARG...}, or the supervisor's
     * {@code --handler-arg}).
     *
     * @return the arguments, in order; empty when none were given
     */
    List<String> arguments();

    /**
     * The TLS session when the worker speaks TLS ({@code forkserver --tls-cert}): its protocol,
     * cipher suite and the client's certificate chain when one was asked for. The same facts are
     * in {@link #env} under s6-tlsserver's names: {@code SSL_PROTOCOL}, {@code SSL_CIPHER},
     * {@code SSL_TLS_SNI_SERVERNAME} (the name the client asked for, SNI),
     * {@code SSL_PEER_CERT_SUBJECT} and {@code SSL_PEER_CERT_HASH} (SHA-256 of the client's
     * certificate, in hex). {@link #channel()}, {@link #in()} and {@link #out()} carry plaintext.
     *
     * @return the session, or empty when the connection is plain TCP
     */
    default Optional<SSLSession> tlsSession() {
        return Optional.empty();
    }

    /**
     * Chooses the status the process exits with once {@code serve} returns normally, so that the
     * supervisor's {@code end} line says how the conversation ended. 0 by default. The worker itself
     * uses 1 (the handler threw), 2 (misconfiguration) and 3 (idle timeout); a handler's own
     * meanings are clearest from 64 up (as in {@code sysexits.h}).
     *
     * @param status 0 to 255
     * @throws IllegalArgumentException when {@code status} is outside 0 to 255
     */
    void setExitStatus(int status);

    private static long number(String text) {
        if (text == null) {
            return -1;
        }
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
