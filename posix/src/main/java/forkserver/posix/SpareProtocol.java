package forkserver.posix;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The conversation between the supervisor and a spare worker ({@code --spares}) over their
 * private {@code socketpair(AF_UNIX, SOCK_SEQPACKET)}, defined once for both sides:
 * <ol>
 *   <li>the spare sends {@link #READY} once it is warm;</li>
 *   <li>the supervisor sends one message: the client's socket as {@code SCM_RIGHTS}, and as its
 *       bytes the variables an on-demand child would have found in its environment
 *       ({@link #encode});</li>
 *   <li>the spare answers {@link #ACKNOWLEDGED} before it reads a byte of the connection; until
 *       then the connection is still the supervisor's to give to another process.</li>
 * </ol>
 * End of file instead of a message tells an idle spare to exit.
 */
public final class SpareProtocol {

    /** The spare is warm and waits for its connection. */
    public static final byte READY = 'R';
    /** The spare holds its connection; the supervisor may close its copy. */
    public static final byte ACKNOWLEDGED = 'A';
    /** The longest hand-off message a spare takes: the connection's variables and a rule's. */
    public static final int MAX_MESSAGE = 64 * 1024;

    private SpareProtocol() {
    }

    /** The hand-off message's bytes: {@code NAME=VALUE}, each ended by NUL, UTF-8. */
    public static byte[] encode(Map<String, String> variables) {
        ByteArrayOutputStream message = new ByteArrayOutputStream();
        variables.forEach((name, value) -> {
            message.writeBytes((name + "=" + value).getBytes(StandardCharsets.UTF_8));
            message.write(0);
        });
        return message.toByteArray();
    }

    /** The variables of a hand-off message ({@link #encode}); pairs without a name are skipped. */
    public static Map<String, String> decode(byte[] message) {
        Map<String, String> variables = new HashMap<>();
        for (String pair : new String(message, StandardCharsets.UTF_8).split("\0")) {
            int equals = pair.indexOf('=');
            if (equals > 0) {
                variables.put(pair.substring(0, equals), pair.substring(equals + 1));
            }
        }
        return variables;
    }
}
