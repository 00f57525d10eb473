package forkserver.supervisor.log;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.supervisor.base.Failures;
import forkserver.supervisor.base.Monitors;
import forkserver.supervisor.base.Poller;
import forkserver.supervisor.base.RateLimit;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Children's stderr, carried into the log as events of their own ({@code stderr pid=123
 * line="oops"}, a JSON object under {@code --log-format json}), so that one {@code echo oops >&2}
 * cannot break a parser of the log and every line says whose it is.
 *
 * <p>Each child's fd 2 is the write end of a pipe of its own ({@code Spawner}); the read ends,
 * non-blocking, are watched by one thread, {@code forkserver-stderr}, in {@code epoll}, as the
 * {@code Reaper} watches pidfds: no thread per child. A pipe is read until end of file (the child
 * and whatever it started that kept its fd 2 have closed it), then closed here; or, once its
 * child has exited, for at most {@link #AFTER_EXIT} more.
 *
 * <p>A child cannot hold the supervisor up through it. Everything a child writes is read at once
 * (so the child never waits on a full pipe either), but what reaches the log is bounded: a line
 * longer than {@link #LINE_LIMIT} bytes is cut (the event says how much with {@code cut=}); each
 * child has a bucket of {@link #CHILD_BURST} lines refilled over {@link #CHILD_REFILL}, and all
 * children together one of {@link #TOTAL_BURST} over {@link #TOTAL_REFILL}; lines past them are
 * dropped and counted ({@code stderr-dropped pid=... lines=... bytes=...}, said when the child's
 * next line gets through, or at its end of file). A child writing megabytes costs this thread
 * the reading and nothing else.
 */
public final class ChildStderr {

    /** Bytes of one line the log keeps; the rest of the line is cut. */
    static final int LINE_LIMIT = 2048;
    /** Lines one child may log at once, and the time in which the bucket fills again. */
    // A worker's -Xlog:class+load (the README's way to check the AOT cache) is ~1100 lines at once.
    static final int CHILD_BURST = 2000;
    static final Duration CHILD_REFILL = Duration.ofSeconds(20);
    /** Lines all children together may log at once, and the time in which that bucket fills again. */
    static final int TOTAL_BURST = 5000;
    static final Duration TOTAL_REFILL = Duration.ofSeconds(5);
    /**
     * How long after its child's exit a pipe may stay open: what the child wrote last is read by
     * then. Past it the pipe is closed even if a process the child left behind still holds the
     * write end, so that leftovers cannot pile up descriptors in the supervisor one connection
     * after another (their next write to stderr fails with EPIPE).
     */
    static final Duration AFTER_EXIT = Duration.ofSeconds(1);
    private static final int READ_SIZE = 65536;
    private static final int READS_PER_WAKE_UP = 4; // then the other pipes' turn
    private static final int MAX_EVENTS = 64;

    /** One child's pipe: its pid, the line being read, and what was dropped since its last line. */
    public static final class Stream {
        final int fd;
        final long pid;
        final RateLimit bucket = new RateLimit(new RateLimit.Spec(CHILD_BURST, CHILD_REFILL), System::nanoTime);
        final ByteArrayOutputStream line = new ByteArrayOutputStream();
        long cut; // bytes of the current line past LINE_LIMIT
        long droppedLines;
        long droppedBytes;

        Stream(int fd, long pid) {
            this.fd = fd;
            this.pid = pid;
        }
    }

    private final EventLog log;
    private final Totals totals;
    private final Poller poller; // the read ends of the children's pipes
    private final Map<Integer, Stream> streams = new ConcurrentHashMap<>();
    // Children that exited, in order of their deadline (now + AFTER_EXIT): their pipes to close then.
    private record Ended(Stream stream, long deadlineNanos) {
    }
    private final ConcurrentLinkedQueue<Ended> ended = new ConcurrentLinkedQueue<>();
    private final RateLimit total = new RateLimit(new RateLimit.Spec(TOTAL_BURST, TOTAL_REFILL), System::nanoTime);
    private final Object closed = new Object(); // notified when a pipe is closed
    private volatile boolean shortOfPipes; // pipe() failed, and has not succeeded since: said once

    public ChildStderr(EventLog log, Totals totals) throws ErrnoException {
        this.log = log;
        this.totals = totals;
        this.poller = new Poller();
        Thread.ofPlatform().daemon().name("forkserver-stderr").start(this::run);
    }

    /**
     * A pipe for a child's stderr ({read end, write end}, both non-blocking and close-on-exec), or
     * null when none can be made (EMFILE, ENFILE): the child is then served with /dev/null as its
     * stderr, as a child is served without a pidfd; said once until pipes can be made again.
     */
    public int[] pipe() {
        try {
            int[] pipe = Posix.pipe();
            shortOfPipes = false;
            return pipe;
        } catch (ErrnoException e) {
            if (!shortOfPipes) {
                shortOfPipes = true;
                log.stderrLost(e.name(), e.getMessage());
            }
            return null;
        }
    }

    /**
     * From now on, the lines that arrive on {@code readEnd} (non-blocking, close-on-exec) are
     * {@code pid}'s; the descriptor is this class's and closed at end of file. Returns the pipe's
     * stream, for {@link #exited}.
     */
    public Stream watch(int readEnd, long pid) {
        Stream stream = new Stream(readEnd, pid);
        streams.put(readEnd, stream);
        try {
            poller.add(readEnd);
        } catch (ErrnoException e) {
            // ENOMEM in the kernel: nobody can read this pipe; closed, the child's writes fail (EPIPE).
            streams.remove(readEnd);
            closePipe(readEnd);
        }
        return stream;
    }

    /**
     * The child whose pipe {@code stream} is has exited: the pipe is closed {@link #AFTER_EXIT}
     * from now if it has not reached end of file by then (a process the child left behind holds
     * it). Usually it has, at once. (A stream, not a pid: the pid may be another child's by now.)
     */
    public void exited(Stream stream) {
        if (streams.get(stream.fd) != stream) {
            return; // read to its end already
        }
        boolean first = ended.isEmpty();
        ended.add(new Ended(stream, System.nanoTime() + AFTER_EXIT.toNanos()));
        if (first) {
            poller.wakeUp(); // it waits without a deadline; later ones come after this one's
        }
    }

    /**
     * Waits up to {@code timeout} for every pipe to reach end of file: at the end of the drain,
     * so that a child's last lines come before {@code stopped}. True when none is left.
     */
    public boolean awaitAllClosed(Duration timeout) {
        return Monitors.await(closed, () -> streams.isEmpty(), timeout);
    }

    private void run() {
        while (true) {
            Ended next = ended.peek();
            for (int fd : poller.await(next == null ? Poller.NO_DEADLINE : next.deadlineNanos())) {
                Stream stream = streams.get(fd);
                if (stream != null) {
                    read(fd, stream);
                }
            }
            closeHeldPipes();
        }
    }

    /** The pipes of children that exited {@link #AFTER_EXIT} ago and are still open: read once more, closed. */
    private void closeHeldPipes() {
        long now = System.nanoTime();
        for (Ended next; (next = ended.peek()) != null && next.deadlineNanos() - now <= 0; ) {
            ended.poll();
            Stream stream = next.stream();
            if (streams.get(stream.fd) == stream) {
                read(stream.fd, stream); // what it holds now, then its end
                if (streams.get(stream.fd) == stream) {
                    finish(stream.fd, stream);
                }
            }
        }
    }

    /** Reads what the pipe holds now (a few buffers at most, then the others' turn); closes it at end of file. */
    private void read(int fd, Stream stream) {
        for (int round = 0; round < READS_PER_WAKE_UP; round++) {
            byte[] bytes;
            try {
                bytes = Posix.readNow(fd, READ_SIZE);
            } catch (ErrnoException e) {
                bytes = new byte[0]; // EIO and the like: treated as the end of this child's stderr
            }
            if (bytes == null) {
                return; // drained for now
            }
            if (bytes.length == 0) {
                finish(fd, stream);
                return;
            }
            split(stream, bytes);
        }
    }

    private void split(Stream stream, byte[] bytes) {
        int start = 0;
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == '\n') {
                append(stream, bytes, start, i - start);
                line(stream);
                start = i + 1;
            }
        }
        append(stream, bytes, start, bytes.length - start);
    }

    private static void append(Stream stream, byte[] bytes, int from, int length) {
        int room = Math.max(0, LINE_LIMIT - stream.line.size());
        stream.line.write(bytes, from, Math.min(room, length));
        stream.cut += Math.max(0, length - room);
    }

    /** A whole line was read: logged, or dropped and counted. */
    private void line(Stream stream) {
        byte[] bytes = stream.line.toByteArray();
        int length = bytes.length;
        if (length > 0 && bytes[length - 1] == '\r') {
            length--;
        }
        long size = bytes.length + stream.cut + 1;
        if (stream.bucket.tryTake() && total.tryTake()) {
            reportDropped(stream);
            log.stderr(stream.pid, new String(bytes, 0, length, StandardCharsets.UTF_8), stream.cut);
        } else {
            stream.droppedLines++;
            stream.droppedBytes += size;
        }
        stream.line.reset();
        stream.cut = 0;
    }

    private void reportDropped(Stream stream) {
        if (stream.droppedLines > 0) {
            log.stderrDropped(stream.pid, stream.droppedLines, stream.droppedBytes);
            totals.stderrDropped(stream.droppedLines);
            stream.droppedLines = 0;
            stream.droppedBytes = 0;
        }
    }

    /** End of file: the last line without its newline, what was dropped, and the pipe is closed. */
    private void finish(int fd, Stream stream) {
        if (stream.line.size() > 0 || stream.cut > 0) {
            line(stream);
        }
        reportDropped(stream);
        poller.remove(fd);
        // Out of the map before the number is closed: once closed, the next spawn may get the
        // same number for its pipe and register it, and removing after that would drop the new
        // child's stream (its pipe then unread, and epoll reporting it for ever).
        synchronized (closed) {
            streams.remove(fd);
            closePipe(fd);
            closed.notifyAll();
        }
    }

    private static void closePipe(int fd) {
        Failures.closeOwn(fd, "a child's stderr pipe");
    }
}
