package forkserver.supervisor.admit;

import forkserver.supervisor.base.Reason;
import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.supervisor.base.Accepted;

import java.nio.charset.StandardCharsets;

/**
 * Turns an accepted connection away on the acceptor's thread: writes the reject message (with
 * {@code --over-limit reject}), closes, and the caller logs the reason.
 *
 * <p>It must never hold the acceptor up: the message is sent with {@code MSG_DONTWAIT} (whatever
 * does not fit in the socket's buffer at once is dropped; a one-line message always fits in a
 * fresh socket's), nothing is waited for, and what the client already sent is discarded before
 * the close, so that the kernel ends the connection with a FIN after the message rather than a
 * reset that could destroy it.
 */
public final class Rejector {

    /** The default {@code --reject-message}; {reason} becomes e.g. max-per-source. */
    public static final String DEFAULT_MESSAGE = "refused: {reason}";

    private final String message; // null: close without a word

    /** {@code message} null closes rejected connections without writing anything. */
    public Rejector(String message) {
        this.message = message;
    }

    public void reject(Accepted connection, Reason reason) {
        try {
            if (message != null) {
                byte[] line = (message.replace("{reason}", reason.text) + "\r\n").getBytes(StandardCharsets.UTF_8);
                Posix.sendNow(connection.fd(), line);
                Posix.shutdown(connection.fd(), Posix.SHUT_WR);
            }
            Posix.discardNow(connection.fd());
        } catch (ErrnoException e) {
            // The client is gone already (reset, broken pipe): it cannot hear us anyway.
        } finally {
            connection.close();
        }
    }
}
