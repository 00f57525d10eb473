package forkserver.posix;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

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
}
