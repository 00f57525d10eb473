package forkserver.supervisor.listen;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The listening sockets passed from a supervisor to its successor at an upgrade, over a private
 * {@code socketpair(AF_UNIX, SOCK_SEQPACKET)} that is the successor's fd 0 (the JDK gives a child
 * fds 0 to 2 only, so the descriptors travel as SCM_RIGHTS messages, not as fds 3 and up).
 *
 * <p>The conversation, one record per line of it:
 * <pre>
 *   old -> new   "listener bound NAME" or "listener inherited NAME" carrying a listening
 *                socket (once per listener): bound by the old one (the new one closes it, and
 *                removes its socket file, at stop), or an activator's (never closed)
 *   old -> new   "end"
 *   new -> old   "ready"      the successor's acceptor is about to accept on them
 *   old -> new   "go"         the old one stopped accepting and told systemd MAINPID=new
 * </pre>
 * Both processes hold the same sockets from the first message on, so the kernel's queue keeps
 * every new connection whoever accepts it: "ready" comes before the successor's first accept and
 * the old one accepts until it reads it, so there is no moment with no acceptor.
 */
public final class Handover {

    /** Set in the successor's environment to the predecessor's pid: its fd 0 is the channel. */
    public static final String VARIABLE = "FORKSERVER_UPGRADE";

    static final int MAX_MESSAGE = 512;
    private static final String LISTENER = "listener ";
    private static final String BOUND = "bound ";
    private static final String INHERITED = "inherited ";
    private static final String END = "end";
    private static final String READY = "ready";
    private static final String GO = "go";

    private Handover() {
    }

    // The predecessor's side.

    /**
     * A listening socket on its way to a successor: a descriptor of our own for it, its name
     * ({@code FORKSERVER_LISTENER}), and whether it is ours to close at stop (we bound it).
     */
    public record Passing(int fd, String name, boolean owned) {
    }

    /**
     * Copies of the listeners' descriptors (close-on-exec), taken while they are sure to be open
     * (the caller holds off the drain that closes them): the hand-over then never touches a
     * descriptor a concurrent stop may have closed, and whose number may be another file's.
     */
    public static List<Passing> copies(List<Listener> listeners) throws ErrnoException {
        List<Passing> copies = new ArrayList<>();
        try {
            for (Listener listener : listeners) {
                copies.add(new Passing(Posix.dupCloexec(listener.fd(), InheritedSocket.SD_LISTEN_FDS_START), listener.name(),
                        listener.owned()));
            }
            return copies;
        } catch (ErrnoException e) {
            close(copies);
            throw e;
        }
    }

    /** Closes the copies once passed (the successor has its own). */
    public static void close(List<Passing> copies) {
        for (Passing copy : copies) {
            try {
                Posix.close(copy.fd());
            } catch (ErrnoException e) {
                // EBADF cannot be: ours alone
            }
        }
    }

    /** Passes every socket, then "end". */
    public static void send(int channel, List<Passing> sockets) throws ErrnoException {
        for (Passing socket : sockets) {
            String line = LISTENER + (socket.owned() ? BOUND : INHERITED) + socket.name();
            Posix.sendFd(channel, socket.fd(), line.getBytes(StandardCharsets.UTF_8));
        }
        sendLine(channel, END);
    }

    /** What the successor answered within the deadline. */
    public enum Answer { READY, GONE, TIMEOUT }

    /** Waits at most {@code timeout} for "ready"; GONE when the successor closed the channel (it exited). */
    public static Answer awaitReady(int channel, Duration timeout) throws ErrnoException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return Answer.TIMEOUT;
            }
            if (Posix.pollReadable(new int[] {channel}, (int) Math.max(1, Math.min(left / 1_000_000, Integer.MAX_VALUE))) < 0) {
                continue; // timeout or EINTR: the loop's deadline decides
            }
            byte[] message = new byte[MAX_MESSAGE];
            int length;
            try {
                length = Posix.receiveNow(channel, message, 0, message.length, false);
            } catch (ErrnoException e) {
                if (e.errno() == forkserver.posix.Errno.ECONNRESET) {
                    return Answer.GONE; // it exited with our messages unread
                }
                throw e;
            }
            if (length == 0) {
                return Answer.GONE;
            }
            if (length > 0 && READY.equals(new String(message, 0, length, StandardCharsets.UTF_8))) {
                return Answer.READY;
            }
        }
    }

    /** Tells the successor it is the service now. */
    public static void go(int channel) throws ErrnoException {
        sendLine(channel, GO);
    }

    private static void sendLine(int channel, String line) throws ErrnoException {
        byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
        if (Posix.sendNow(channel, bytes) != bytes.length) {
            throw new ErrnoException("send", forkserver.posix.Errno.EAGAIN, "the upgrade's channel is full");
        }
    }

    // The successor's side.

    /**
     * What a successor was handed: its predecessor's pid, the sockets, and the channel (moved off
     * fd 0, close-on-exec) for "ready" and "go".
     */
    public record Predecessor(long pid, int channel, List<InheritedSocket> sockets) {

        /** Says "ready": call just before the first accept. */
        public void ready() throws ErrnoException {
            sendLine(channel, READY);
        }

        /** Waits at most {@code timeout} for "go"; false when it did not come (the predecessor is gone). */
        public boolean awaitGo(Duration timeout) throws ErrnoException {
            if (Posix.pollReadable(new int[] {channel}, (int) timeout.toMillis()) < 0) {
                return false;
            }
            byte[] message = new byte[MAX_MESSAGE];
            int length = Posix.receiveNow(channel, message, 0, message.length, false);
            return length > 0 && GO.equals(new String(message, 0, length, StandardCharsets.UTF_8));
        }

    }

    /**
     * When {@link #VARIABLE} is set: takes the channel off fd 0 (which then points at /dev/null)
     * and receives the listening sockets on it; null when this supervisor is no successor. Call
     * before anything else touches fd 0.
     *
     * @throws IllegalArgumentException when the variable is set but fd 0 is no such channel
     * @throws IOException when the predecessor went away before "end"
     */
    public static Predecessor receive(Map<String, String> environment) throws IOException {
        String pid = environment.get(VARIABLE);
        if (pid == null) {
            return null;
        }
        long predecessor;
        try {
            predecessor = Long.parseLong(pid);
            if (Posix.getsockopt(0, Posix.SOL_SOCKET, Posix.SO_TYPE) != Posix.SOCK_SEQPACKET) {
                throw new IllegalArgumentException("not a SOCK_SEQPACKET socket");
            }
        } catch (ErrnoException | IllegalArgumentException e) {
            throw new IllegalArgumentException(VARIABLE + "=" + pid + " is set, but fd 0 is not an upgrade's channel ("
                    + e.getMessage() + "): it is set by a supervisor for its successor only");
        }
        int channel = Posix.dupCloexec(0, InheritedSocket.SD_LISTEN_FDS_START);
        int devNull = Posix.open("/dev/null", Posix.O_RDWR | Posix.O_CLOEXEC);
        try {
            Posix.dup2(devNull, 0);
        } finally {
            Posix.close(devNull);
        }
        List<InheritedSocket> sockets = new ArrayList<>();
        try {
            while (true) {
                Posix.ReceivedFd received = Posix.receiveFd(channel, MAX_MESSAGE);
                if (received == null) {
                    throw new IOException("supervisor " + predecessor + " closed the upgrade's channel before"
                            + " passing its listening sockets");
                }
                String body = new String(received.body(), StandardCharsets.UTF_8);
                String rest = body.startsWith(LISTENER) ? body.substring(LISTENER.length()) : "";
                boolean owned = rest.startsWith(BOUND);
                if (received.fd() >= 0 && (owned || rest.startsWith(INHERITED))) {
                    String name = rest.substring(owned ? BOUND.length() : INHERITED.length());
                    sockets.add(InheritedSocket.handedOver(received.fd(), "handed over by pid " + predecessor, name, owned));
                } else if (received.fd() < 0 && body.equals(END)) {
                    return new Predecessor(predecessor, channel, List.copyOf(sockets));
                } else {
                    if (received.fd() >= 0) {
                        Posix.close(received.fd());
                    }
                    throw new IOException("unexpected message on the upgrade's channel: " + body);
                }
            }
        } catch (IOException | RuntimeException e) {
            for (InheritedSocket socket : sockets) {
                Posix.close(socket.fd());
            }
            Posix.close(channel);
            throw e;
        }
    }
}
