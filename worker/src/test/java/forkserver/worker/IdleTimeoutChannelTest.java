package forkserver.worker;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The worker's idle clock: input pushes the deadline back; silence ends the handler's read. */
class IdleTimeoutChannelTest {

    @Test
    void durations() {
        assertEquals(TimeUnit.MILLISECONDS.toNanos(1500), IdleTimeoutChannel.parse("1500ms"));
        assertEquals(TimeUnit.SECONDS.toNanos(30), IdleTimeoutChannel.parse("30"));
        assertEquals(TimeUnit.MINUTES.toNanos(2), IdleTimeoutChannel.parse("2m"));
        assertEquals(TimeUnit.HOURS.toNanos(8760), IdleTimeoutChannel.parse("8760h"), "the supervisor's bound: a year");
        for (String bad : new String[] {"", "0s", "0", "soon", "5 s", "-1s", "10d", "8761h", "99999999999h"}) {
            assertThrows(IllegalArgumentException.class, () -> IdleTimeoutChannel.parse(bad), bad);
        }
    }

    @Test
    void inputKeepsItOpenAndSilenceEndsTheRead() throws IOException {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (SocketPair sockets = SocketPair.open()) {
            IdleTimeoutChannel channel = IdleTimeoutChannel.watch(sockets.server(), TimeUnit.MILLISECONDS.toNanos(1000),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            ByteBuffer buffer = ByteBuffer.allocate(16);
            for (int i = 0; i < 5; i++) { // 5 x 300 ms of traffic: longer than the timeout in all
                sleep(300);
                sockets.client().write(ByteBuffer.wrap(new byte[] {'x'}));
                assertEquals(1, channel.read(buffer.clear()));
            }
            assertFalse(channel.expired());
            long before = System.nanoTime();
            assertEquals(-1, channel.read(buffer.clear()), "the blocked read ends as at end of input");
            assertTrue(System.nanoTime() - before >= TimeUnit.MILLISECONDS.toNanos(900));
            assertTrue(channel.expired());
            assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("forkserver worker: no input for 1."), err.toString());
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis); // the traffic's pace is what is under test, not a wait for a condition
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
