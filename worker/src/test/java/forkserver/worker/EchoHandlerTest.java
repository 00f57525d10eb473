package forkserver.worker;

import forkserver.handler.SocketConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EchoHandlerTest {

    private SocketPair sockets;
    private CompletableFuture<Void> session;

    @BeforeEach
    void startHandler() throws IOException {
        sockets = SocketPair.open();
        sockets.client().socket().setSoTimeout(20_000);
        session = CompletableFuture.runAsync(() -> {
            try {
                new EchoHandler().serve(new SocketConnection(sockets.server(), Map.of()));
                sockets.server().shutdownOutput(); // what the launcher does after serve()
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
    }

    @AfterEach
    void close() throws IOException {
        sockets.close();
    }

    @Test
    void echoesEachLineUnchanged() throws Exception {
        String lines = "hello\r\n  two words\t\n\nünïcödé\n";
        send(lines);
        assertEquals(lines, read(lines.getBytes(StandardCharsets.UTF_8).length));
    }

    @Test
    void echoesALineSplitAcrossWrites() throws Exception {
        send("hel");
        send("lo\n");
        assertEquals("hello\n", read(6));
    }

    @Test
    void answersDoneWithByeAndCloses() throws Exception {
        send("first\ndone\n");
        assertEquals("first\nbye!\n", readToEnd());
        session.get(10, TimeUnit.SECONDS);
    }

    @Test
    void doneIsTrimmed() throws Exception {
        send(" \t done \r\n");
        assertEquals("bye!\n", readToEnd());
    }

    @Test
    void linesThatOnlyStartOrEndLikeDoneAreEchoed() throws Exception {
        send("don\ndone!\nundone\ndonedone\nd o n e\nDONE\n");
        String expected = "don\ndone!\nundone\ndonedone\nd o n e\nDONE\n";
        assertEquals(expected, read(expected.length()));
        assertFalse(session.isDone());
    }

    @Test
    void endOfInputEndsTheSessionAndEchoesALastPartialLine() throws Exception {
        send("complete\npartial");
        sockets.client().shutdownOutput();
        assertEquals("complete\npartial", readToEnd());
        session.get(10, TimeUnit.SECONDS);
    }

    @Test
    void echoesAHugeLineWhileItIsStillArriving() throws Exception {
        // 4 MiB without a newline come back before the line ends: nothing waits for the newline,
        // so memory stays bounded whatever the line's length.
        byte[] chunk = new byte[64 * 1024];
        Arrays.fill(chunk, (byte) 'x');
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        ByteBuffer in = ByteBuffer.allocate(64 * 1024);
        for (int i = 0; i < 64; i++) {
            write(ByteBuffer.wrap(chunk));
            while (received.size() < (i + 1) * chunk.length) {
                in.clear();
                assertTrue(sockets.client().read(in) > 0, "echo ended early");
                received.write(in.array(), 0, in.position());
            }
        }
        byte[] expected = new byte[64 * chunk.length];
        Arrays.fill(expected, (byte) 'x');
        assertArrayEquals(expected, received.toByteArray());
        send("\ndone\n");
        assertEquals("\nbye!\n", readToEnd());
    }

    @Test
    void aDoneLinePaddedBeyondTheHeldLimitIsEchoed() throws Exception {
        String padded = " ".repeat(EchoHandler.HELD_MAX) + "done\n";
        send(padded);
        assertEquals(padded, read(padded.length()));
    }

    @Test
    void isDoneFollowsStringTrim() {
        for (String line : new String[] {"done", " done", "done ", "\tdone\r", "\u0001done\u001f"}) {
            byte[] bytes = line.getBytes(StandardCharsets.ISO_8859_1);
            assertEquals(line.trim().equals("done"), EchoHandler.isDone(bytes, bytes.length), line);
        }
        byte[] notDone = "done.".getBytes(StandardCharsets.US_ASCII);
        assertFalse(EchoHandler.isDone(notDone, notDone.length));
        assertFalse(EchoHandler.couldBeDone(notDone, notDone.length));
        assertTrue(EchoHandler.couldBeDone(notDone, 3));
    }

    private void send(String text) throws IOException {
        write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
    }

    private void write(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            sockets.client().write(buffer);
        }
    }

    /** Reads exactly {@code bytes} bytes (fails on timeout or end of stream first). */
    private String read(int bytes) throws IOException {
        byte[] data = sockets.client().socket().getInputStream().readNBytes(bytes);
        return new String(data, StandardCharsets.UTF_8);
    }

    /** Reads until the handler's side is shut down; fails if that does not happen in time. */
    private String readToEnd() throws IOException {
        try {
            return new String(sockets.client().socket().getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the handler did not close its side", e);
        }
    }
}
