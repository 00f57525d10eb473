package forkserver.worker;

import forkserver.handler.Connection;
import forkserver.handler.Handler;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;

/**
 * The built-in service: every line is echoed back unchanged; a line that is {@code done} once
 * trimmed is answered with {@code bye!} and ends the session; end of input ends it too.
 *
 * <p>Memory is bounded whatever the line length: bytes are echoed as they arrive, and only the
 * start of a line that could still turn out to be {@code done} (blanks, then a prefix of
 * {@code done}, then blanks) is held back, at most {@value #HELD_MAX} bytes. A line padded with
 * more blanks than that is echoed, not taken for {@code done}.
 */
public final class EchoHandler implements Handler {

    static final int BUFFER_SIZE = 8192;
    static final int HELD_MAX = 256;

    private static final byte[] DONE = {'d', 'o', 'n', 'e'};
    private static final byte[] BYE = {'b', 'y', 'e', '!', '\n'};

    @Override
    public void serve(Connection connection) throws IOException {
        ByteChannel channel = connection.channel();
        ByteBuffer in = ByteBuffer.allocate(BUFFER_SIZE);
        // Room for a whole input buffer plus a released held line and its newline.
        ByteBuffer out = ByteBuffer.allocate(BUFFER_SIZE + HELD_MAX + 1);
        byte[] held = new byte[HELD_MAX];
        int heldLength = 0;
        boolean midLine = false; // true once the current line is known not to be "done"

        while (channel.read(in.clear()) >= 0) {
            in.flip();
            while (in.hasRemaining()) {
                byte b = in.get();
                if (midLine) {
                    out.put(b);
                    midLine = b != '\n';
                } else if (b == '\n') {
                    if (isDone(held, heldLength)) {
                        writeFully(channel, out.flip());
                        writeFully(channel, ByteBuffer.wrap(BYE));
                        return;
                    }
                    out.put(held, 0, heldLength).put(b);
                    heldLength = 0;
                } else {
                    held[heldLength++] = b;
                    if (heldLength == HELD_MAX || !couldBeDone(held, heldLength)) {
                        out.put(held, 0, heldLength);
                        heldLength = 0;
                        midLine = true;
                    }
                }
            }
            writeFully(channel, out.flip());
            out.clear();
        }
        // End of input: a last line without its newline is still echoed.
        writeFully(channel, ByteBuffer.wrap(held, 0, heldLength));
    }

    /** True when {@code line} (without its newline) trimmed is exactly {@code done}. */
    static boolean isDone(byte[] line, int length) {
        return matchedOfDone(line, length) == DONE.length;
    }

    /** True while the start of a line may still be followed by the rest of a {@code done} line. */
    static boolean couldBeDone(byte[] line, int length) {
        return matchedOfDone(line, length) >= 0;
    }

    /**
     * How many bytes of {@code done} the line matches after leading blanks, or -1 when it cannot
     * be a {@code done} line. Blanks are what {@link String#trim()} removes: bytes up to space.
     */
    private static int matchedOfDone(byte[] line, int length) {
        int i = 0;
        while (i < length && isBlank(line[i])) {
            i++;
        }
        int matched = 0;
        while (i < length && matched < DONE.length) {
            if (line[i++] != DONE[matched++]) {
                return -1;
            }
        }
        while (i < length) {
            if (!isBlank(line[i++])) {
                return -1;
            }
        }
        return matched;
    }

    private static boolean isBlank(byte b) {
        return (b & 0xff) <= ' ';
    }

    private static void writeFully(ByteChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }
}
