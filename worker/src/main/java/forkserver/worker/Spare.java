package forkserver.worker;

import forkserver.handler.Handler;
import forkserver.posix.Errno;
import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.posix.SpareProtocol;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Spare mode ({@code FORKSERVER_SPARE=1}, set by the supervisor's {@code --spares}): the worker
 * is started before its connection exists, warms the path the connection will take, and then
 * waits for the connection to be handed to it.
 *
 * <p>fd 0 is then not a client but this process's end of a private {@code socketpair}
 * (AF_UNIX, SOCK_SEQPACKET) whose other end the supervisor holds; {@link SpareProtocol} is the
 * conversation on it. Once acknowledged, the spare {@code dup2}s the socket onto fd 0 (which
 * closes its end of the pair) and from there on is exactly an on-demand worker:
 * {@link System#inheritedChannel()} takes fd 0. End of file instead of a message means the
 * supervisor stopped this idle spare: exit 0, quietly.
 *
 * <p>Only loaded in spare mode: it pulls in {@link Posix} and the FFM API, which an on-demand
 * worker never loads.
 */
final class Spare {

    /** The value of {@code FORKSERVER_SPARE} that selects spare mode. */
    static final String MODE = "1";

    private Spare() {
    }

    /**
     * Warms up (the worker's path, then {@code handler}'s own {@link Handler#warmUp}), says ready,
     * and waits for the connection: returns with the connection on fd 0
     * and {@code environment} overlaid with the connection's variables. Exits the process when
     * the supervisor closes the pair first (0) or the hand-off is not what it should be (2).
     */
    static Map<String, String> awaitConnection(Map<String, String> environment, Handler handler,
            List<String> arguments) {
        try {
            // Before any byte is written: under inetd or a spawn fd 0 is a client, who must
            // never read a byte of this protocol.
            if (Posix.getsockopt(0, Posix.SOL_SOCKET, Posix.SO_DOMAIN) != Posix.AF_UNIX) {
                throw new IllegalStateException("fd 0 is not a UNIX socket");
            }
            warmUp(environment, handler, arguments);
            Posix.sendByte(0, SpareProtocol.READY);
            Posix.ReceivedFd received = Posix.receiveFd(0, SpareProtocol.MAX_MESSAGE);
            if (received == null) {
                System.exit(Launcher.EXIT_OK);
            }
            if (received.fd() < 0) {
                System.err.println("forkserver worker: spare: the hand-off carried no descriptor");
                System.exit(Launcher.EXIT_USAGE);
            }
            try {
                Posix.sendByte(0, SpareProtocol.ACKNOWLEDGED);
            } catch (ErrnoException e) {
                // The supervisor gave up waiting for us and stops us; nothing to serve.
                System.exit(Launcher.EXIT_OK);
            }
            // Onto fd 0, where System.inheritedChannel() looks; the received copy (close-on-exec,
            // so never inherited by anything this handler runs) is closed right after.
            Posix.dup2(received.fd(), 0);
            Posix.close(received.fd());
            Map<String, String> overlaid = new HashMap<>(environment);
            overlaid.putAll(SpareProtocol.decode(received.body()));
            return overlaid;
        } catch (ErrnoException | RuntimeException e) {
            if (e instanceof ErrnoException errno && (errno.errno() == Errno.EMFILE || errno.errno() == Errno.ENFILE)) {
                // A handler's warm-up that keeps files open, or a low --child-rlimit nofile: not
                // a wrong fd 0. Unacknowledged, the connection goes back to the supervisor.
                System.err.println("forkserver worker: spare: out of descriptors: " + e.getMessage());
            } else {
                System.err.println("forkserver worker: spare mode needs fd 0 to be the supervisor's socketpair"
                        + " (bin/supervisor --spares sets FORKSERVER_SPARE): " + e.getMessage());
            }
            System.exit(Launcher.EXIT_USAGE);
            throw new AssertionError(e);
        }
    }

    /**
     * Runs, before the connection exists, what its first milliseconds would otherwise pay for:
     * the FFM downcalls of the hand-off (their first call links and spins classes), and the NIO
     * socket classes with the echo handler over a private loopback connection, then the handler's
     * own warm-up. A failure here only costs speed later: the handler's is one line on stderr.
     */
    private static void warmUp(Map<String, String> environment, Handler handler, List<String> arguments)
            throws ErrnoException {
        int[] pair = Posix.socketpair(Posix.AF_UNIX, Posix.SOCK_SEQPACKET);
        int scratch = Posix.open("/dev/null", Posix.O_RDWR | Posix.O_CLOEXEC);
        try {
            Posix.sendFd(pair[0], scratch, "PROTO=TCP\0".getBytes(StandardCharsets.UTF_8));
            Posix.ReceivedFd received = Posix.receiveFd(pair[1], SpareProtocol.MAX_MESSAGE);
            Posix.dup2(received.fd(), scratch);
            Posix.close(received.fd());
            SpareProtocol.decode(received.body());
        } finally {
            Posix.close(scratch);
            Posix.close(pair[0]);
            Posix.close(pair[1]);
        }
        WarmUp.socketPath(environment);
        WarmUp.handler(handler, arguments);
    }
}
