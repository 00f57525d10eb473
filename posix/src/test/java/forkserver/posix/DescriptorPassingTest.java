package forkserver.posix;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A descriptor passed over a socketpair is the same open file, close-on-exec, with its message. */
class DescriptorPassingTest {

    @Test
    void aDescriptorAndItsMessageArriveTogether() throws Exception {
        int[] pair = Posix.socketpair(Posix.AF_UNIX, Posix.SOCK_SEQPACKET);
        int[] pipe = Posix.pipe();
        try {
            Posix.sendFd(pair[0], pipe[0], "TCPREMOTEIP=127.0.0.1".getBytes(StandardCharsets.UTF_8));
            Posix.ReceivedFd received = Posix.receiveFd(pair[1], 4096);
            assertArrayEquals("TCPREMOTEIP=127.0.0.1".getBytes(StandardCharsets.UTF_8), received.body());
            assertNotEquals(pipe[0], received.fd());
            assertEquals(Files.readSymbolicLink(Path.of("/proc/self/fd/" + pipe[0])),
                    Files.readSymbolicLink(Path.of("/proc/self/fd/" + received.fd())), "the same pipe");
            assertTrue((Posix.fcntl(received.fd(), 1 /* F_GETFD */, 0) & 1 /* FD_CLOEXEC */) != 0,
                    "received close-on-exec");
            Posix.writeByte(pipe[1]);
            assertEquals(0, Posix.pollReadable(new int[] {received.fd()}, 5_000), "readable through the copy");
            Posix.close(received.fd());
        } finally {
            for (int fd : new int[] {pipe[0], pipe[1], pair[0], pair[1]}) {
                Posix.close(fd);
            }
        }
    }

    @Test
    void endOfFileIsNullAndAGonePeerIsAnErrorNotASignal() throws Exception {
        int[] pair = Posix.socketpair(Posix.AF_UNIX, Posix.SOCK_SEQPACKET);
        Posix.sendByte(pair[0], (byte) 'R');
        assertEquals('R', Posix.receiveByte(pair[1]));
        Posix.close(pair[0]);
        assertNull(Posix.receiveFd(pair[1], 16));
        assertEquals(-1, Posix.receiveByte(pair[1]));

        int[] other = Posix.socketpair(Posix.AF_UNIX, Posix.SOCK_SEQPACKET);
        Posix.close(other[1]);
        ErrnoException gone = assertThrows(ErrnoException.class, () -> Posix.sendFd(other[0], pair[1], new byte[] {1}));
        assertTrue(gone.errno() == Errno.EPIPE || gone.errno() == Errno.ECONNRESET, gone.getMessage());
        Posix.close(other[0]);
        Posix.close(pair[1]);
    }

    /**
     * A receiver with no descriptor free (at RLIMIT_NOFILE) gets the message but not the
     * descriptor: the kernel drops it and sets MSG_CTRUNC. That is EMFILE, not a message "longer
     * than ... or carrying more than one descriptor". Run in a JVM of its own under
     * {@code prlimit}, so that filling the table touches no other test.
     */
    @Test
    void aDescriptorThatFindsNoFreeSlotIsEmfile() throws Exception {
        Process probe = new ProcessBuilder(List.of("prlimit", "--nofile=256:256",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), FullTable.class.getName()))
                .redirectErrorStream(true).start();
        probe.getOutputStream().close();
        assertTrue(probe.waitFor(60, TimeUnit.SECONDS), "the probe did not end within 60 s");
        String said = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(0, probe.exitValue(), said);
        assertEquals("EMFILE recvmsg: a descriptor came with the message, and this process had no descriptor"
                + " free to take it (errno 24); the next message still arrives", said);
    }

    /** The probe: sends itself /dev/null, fills its descriptor table, then receives. */
    static final class FullTable {
        public static void main(String[] args) throws Exception {
            int[] pair = Posix.socketpair(Posix.AF_UNIX, Posix.SOCK_SEQPACKET);
            int sent = Posix.open("/dev/null", Posix.O_RDWR | Posix.O_CLOEXEC);
            // Once through every path first, the error's text and the string concatenations below
            // included: with the table full, no class could be loaded from a jar.
            Posix.sendFd(pair[0], sent, "warm".getBytes(StandardCharsets.US_ASCII));
            Posix.close(Posix.receiveFd(pair[1], 64).fd());
            try {
                Posix.close(-1);
            } catch (ErrnoException e) {
                String warm = e.name() + " " + e.getMessage() + "; the next message still arrives" + "; next: " + 1;
            }
            Posix.sendFd(pair[0], sent, "first".getBytes(StandardCharsets.US_ASCII));
            Posix.sendByte(pair[0], (byte) 'n');
            java.util.ArrayList<Integer> fillers = new java.util.ArrayList<>();
            try {
                while (fillers.size() < 1024) {
                    fillers.add(Posix.open("/dev/null", Posix.O_RDONLY | Posix.O_CLOEXEC));
                }
                System.out.println("the table never filled");
                System.exit(1);
            } catch (ErrnoException full) {
                if (full.errno() != Errno.EMFILE) {
                    throw full;
                }
            }
            String outcome;
            try {
                Posix.ReceivedFd received = Posix.receiveFd(pair[1], 64);
                outcome = "received " + received;
            } catch (ErrnoException e) {
                outcome = e.name() + " " + e.getMessage();
            }
            for (int fd : fillers) {
                Posix.close(fd);
            }
            // The lost descriptor's message was consumed: the conversation goes on with the next.
            int next = Posix.receiveByte(pair[1]);
            System.out.println(outcome + (next == 'n' ? "; the next message still arrives" : "; next: " + next));
        }
    }
}
