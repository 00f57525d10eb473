package forkserver.supervisor;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.testkit.Await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * What systemd's end of sd_notify(3) is: an AF_UNIX datagram socket the supervisor finds in
 * {@code NOTIFY_SOCKET}. Bound by the test (a path, or an {@code @name}), read by a thread of its
 * own; each datagram is kept with the time it came.
 */
final class SystemdStandIn implements AutoCloseable {

    /** One datagram: its lines, and when it came (System.nanoTime()). */
    record Message(String text, long nanos) {

        boolean has(String line) {
            return text.lines().anyMatch(line::equals);
        }

        /** The value of {@code NAME=} in this message, or null. */
        String value(String name) {
            return text.lines().filter(line -> line.startsWith(name + "=")).map(line -> line.substring(name.length() + 1))
                    .findFirst().orElse(null);
        }
    }

    private final String address;
    private final int socket;
    private final List<Message> messages = new CopyOnWriteArrayList<>();
    private final Thread reader;
    private volatile boolean closed;

    SystemdStandIn(String address) throws ErrnoException {
        this.address = address;
        this.socket = Posix.unixDatagramSocket();
        Posix.bindUnix(socket, address);
        this.reader = Thread.ofPlatform().daemon().name("systemd-stand-in").start(this::read);
    }

    /** A name in the abstract namespace no other test uses. */
    static SystemdStandIn abstractName() throws ErrnoException {
        return new SystemdStandIn("@forkserver-notify-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    }

    String address() {
        return address;
    }

    /** NOTIFY_SOCKET for the supervisor, and {@code more}. */
    Map<String, String> environment(String... more) {
        Map<String, String> environment = new java.util.HashMap<>(Map.of("NOTIFY_SOCKET", address));
        for (int i = 0; i + 1 < more.length; i += 2) {
            environment.put(more[i], more[i + 1]);
        }
        return environment;
    }

    List<Message> messages() {
        return List.copyOf(messages);
    }

    /** The messages after index {@code from} that match. */
    List<Message> since(int from, Predicate<Message> filter) {
        List<Message> all = messages();
        List<Message> found = new ArrayList<>();
        for (int i = from; i < all.size(); i++) {
            if (filter.test(all.get(i))) {
                found.add(all.get(i));
            }
        }
        return found;
    }

    /** Waits for a message after index {@code from} that has {@code line} and returns it. */
    Message await(int from, String line) {
        return Await.value("a notification with " + line + " after #" + from + "; got " + messages, Await.DEFAULT,
                () -> since(from, m -> m.has(line)).stream().findFirst().orElse(null));
    }

    /** Waits until {@code count} messages after index {@code from} have {@code line}. */
    List<Message> awaitCount(int from, String line, int count, Duration timeout) {
        return Await.value(count + " notifications with " + line + " after #" + from + "; got " + messages, timeout, () -> {
            List<Message> found = since(from, m -> m.has(line));
            return found.size() >= count ? found : null;
        });
    }

    private void read() {
        int[] watched = {socket};
        while (!closed) {
            try {
                if (Posix.pollReadable(watched, 100) == 0) {
                    for (byte[] datagram; (datagram = Posix.receiveNow(socket, 4096)) != null; ) {
                        messages.add(new Message(new String(datagram, StandardCharsets.UTF_8), System.nanoTime()));
                    }
                }
            } catch (ErrnoException e) {
                return; // closed
            }
        }
    }

    @Override
    public void close() throws Exception {
        closed = true;
        reader.join(5_000);
        Posix.close(socket);
    }
}
