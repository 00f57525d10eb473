package forkserver.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Clients that keep connecting while something happens to the server (an upgrade, a reload), as
 * real ones would: one thread per {@link Target}, each a loop of sessions (connect, the child's
 * greeting checked, one line echoed, close) until stopped. Every failure is kept.
 */
public final class ClientLoops implements AutoCloseable {

    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<AtomicInteger> sessions = new ArrayList<>();
    private final AtomicLong longestNanos = new AtomicLong();
    private final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    private final List<Thread> threads = new ArrayList<>();

    public ClientLoops(List<Target> targets) {
        for (int i = 0; i < targets.size(); i++) {
            int loop = i;
            sessions.add(new AtomicInteger());
            threads.add(Thread.ofPlatform().daemon().name("client-loop-" + i).start(() -> run(targets.get(loop), loop)));
        }
    }

    private void run(Target target, int loop) {
        for (int n = 0; running.get(); n++) {
            String line = "loop " + loop + " session " + n;
            long start = System.nanoTime();
            try (Session session = Session.open(target.address())) {
                if (target.greeting() != null) {
                    String greeting = session.readLine();
                    if (!target.greeting().equals(greeting)) {
                        failures.add(line + ": greeted with " + greeting);
                    }
                }
                String answer = session.roundTrip(line);
                if (!line.equals(answer)) {
                    failures.add(line + ": got " + answer);
                }
            } catch (IOException e) {
                failures.add(line + ": " + e);
            }
            longestNanos.accumulateAndGet(System.nanoTime() - start, Math::max);
            sessions.get(loop).incrementAndGet();
        }
    }

    public int sessions() {
        return sessions.stream().mapToInt(AtomicInteger::get).sum();
    }

    public List<Integer> perTarget() {
        return sessions.stream().map(AtomicInteger::get).toList();
    }

    public List<String> failures() {
        return List.copyOf(failures);
    }

    public void awaitSessions(int count) {
        Await.until(count + " sessions by the client loops (" + perTarget() + " so far, failures " + failures + ")",
                Duration.ofSeconds(60), () -> sessions() >= count);
    }

    /** Until loop i has run {@code counts.get(i)} sessions, for every i. */
    public void awaitEach(List<Integer> counts) {
        Await.until(counts + " sessions by the client loops (" + perTarget() + " so far, failures " + failures + ")",
                Duration.ofSeconds(60), () -> {
                    for (int i = 0; i < counts.size(); i++) {
                        if (sessions.get(i).get() < counts.get(i)) {
                            return false;
                        }
                    }
                    return true;
                });
    }

    /**
     * On stderr, the figures for a note: {@code what} (an upgrade, say), the sessions in all and
     * per loop, how many ran before {@code mark}, the failures, and the longest connect-to-echo.
     */
    public void report(String what, int before, String mark) {
        System.err.println(what + ": " + sessions() + " sessions by " + threads.size() + " client loops " + perTarget()
                + ", " + before + " before " + mark + ", " + failures.size() + " failed; longest connect-to-echo "
                + longestNanos.get() / 1_000_000 + " ms");
    }

    public void stop() throws InterruptedException {
        running.set(false);
        for (Thread thread : threads) {
            thread.join(30_000);
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }

    /** Where a client loop connects, and the line its child says first (null: none, a bare cat). */
    public record Target(SocketAddress address, String greeting) {
    }

    /**
     * One client connection, TCP or UNIX-domain alike (a channel: {@link Socket} has no UNIX
     * sockets), every wait bounded: past {@link #DEADLINE} the channel is closed under the waiting
     * call, which then fails.
     */
    public static final class Session implements AutoCloseable {

        private static final long DEADLINE = 10;

        private final SocketChannel channel;
        private final BufferedReader in;
        private volatile CompletableFuture<Void> watchdog = CompletableFuture.completedFuture(null);

        private Session(SocketChannel channel) {
            this.channel = channel;
            this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
        }

        public static Session open(SocketAddress address) throws IOException {
            SocketChannel channel = SocketChannel.open(address instanceof UnixDomainSocketAddress
                    ? StandardProtocolFamily.UNIX : address instanceof InetSocketAddress inet
                    && inet.getAddress() instanceof java.net.Inet6Address ? StandardProtocolFamily.INET6
                    : StandardProtocolFamily.INET);
            Session session = new Session(channel);
            session.bounded(() -> channel.connect(address));
            return session;
        }

        public String readLine() throws IOException {
            String[] line = new String[1];
            bounded(() -> line[0] = in.readLine());
            return line[0];
        }

        public String roundTrip(String line) throws IOException {
            ByteBuffer bytes = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
            bounded(() -> {
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
            });
            return readLine();
        }

        private interface Step {
            void run() throws IOException;
        }

        /** Runs {@code step}, closing the channel (and so failing it) if it takes longer than the deadline. */
        private void bounded(Step step) throws IOException {
            watchdog = CompletableFuture.runAsync(this::close,
                    CompletableFuture.delayedExecutor(DEADLINE, java.util.concurrent.TimeUnit.SECONDS));
            try {
                step.run();
            } finally {
                watchdog.cancel(false);
            }
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException e) {
                // closing: nothing to do
            }
        }
    }
}
