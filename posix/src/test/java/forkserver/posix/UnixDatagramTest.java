package forkserver.posix;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** AF_UNIX datagrams, as sd_notify(3) sends them: to a path, or to a name in the abstract namespace. */
class UnixDatagramTest {

    @Test
    void aDatagramReachesAPath(@TempDir Path directory) throws ErrnoException {
        String address = directory.resolve("notify").toString();
        assertDelivered(address);
    }

    @Test
    void aDatagramReachesAnAbstractName() throws ErrnoException {
        assertDelivered("@forkserver-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    }

    @Test
    void noReceiverIsAnErrnoNotAWait(@TempDir Path directory) throws ErrnoException {
        int sender = Posix.unixDatagramSocket();
        try {
            ErrnoException gone = assertThrows(ErrnoException.class,
                    () -> Posix.sendToUnix(sender, directory.resolve("nobody").toString(), new byte[] {1}));
            assertEquals("ENOENT", gone.name());
            ErrnoException abstractGone = assertThrows(ErrnoException.class,
                    () -> Posix.sendToUnix(sender, "@forkserver-nobody-" + System.nanoTime(), new byte[] {1}));
            assertEquals("ECONNREFUSED", abstractGone.name());
        } finally {
            Posix.close(sender);
        }
    }

    @Test
    void aFullQueueIsEagainNotAWait() throws ErrnoException {
        String address = "@forkserver-full-" + System.nanoTime();
        int receiver = Posix.unixDatagramSocket();
        int sender = Posix.unixDatagramSocket();
        try {
            Posix.bindUnix(receiver, address);
            byte[] message = new byte[1024];
            ErrnoException full = null;
            for (int i = 0; i < 100_000 && full == null; i++) { // the queue holds far fewer
                try {
                    Posix.sendToUnix(sender, address, message);
                } catch (ErrnoException e) {
                    full = e;
                }
            }
            assertTrue(full != null && full.name().equals("EAGAIN"), "EAGAIN once full, got " + full);
        } finally {
            Posix.close(sender);
            Posix.close(receiver);
        }
    }

    @Test
    void anAddressTooLongForSunPathIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Posix.sendToUnix(0, "/" + "x".repeat(200), new byte[0]));
    }

    @Test
    void theMonotonicClockIsTheJvmsNanoTime() {
        long before = System.nanoTime() / 1_000;
        long micros = Posix.monotonicMicros();
        long after = System.nanoTime() / 1_000;
        assertTrue(before <= micros && micros <= after + 1, before + " <= " + micros + " <= " + after);
    }

    private static void assertDelivered(String address) throws ErrnoException {
        int receiver = Posix.unixDatagramSocket();
        int sender = Posix.unixDatagramSocket();
        try {
            Posix.bindUnix(receiver, address);
            assertNull(Posix.receiveNow(receiver, 4096), "nothing yet");
            Posix.sendToUnix(sender, address, "READY=1\nSTATUS=ok".getBytes(StandardCharsets.UTF_8));
            assertArrayEquals("READY=1\nSTATUS=ok".getBytes(StandardCharsets.UTF_8), Posix.receiveNow(receiver, 4096));
        } finally {
            Posix.close(sender);
            Posix.close(receiver);
        }
    }
}
