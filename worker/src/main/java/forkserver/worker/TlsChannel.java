package forkserver.worker;

import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;

/**
 * The plaintext of a TLS connection as a blocking ByteChannel, what {@code Connection.channel()}
 * gives a handler when the worker speaks TLS. Closing it ends TLS (close_notify), then TCP (FIN).
 */
final class TlsChannel implements ByteChannel {

    private final SSLSocket socket;
    private final InputStream in;
    private final OutputStream out;
    private volatile boolean open = true;

    TlsChannel(SSLSocket socket) throws IllegalStateException {
        this.socket = socket;
        try {
            this.in = socket.getInputStream();
            this.out = socket.getOutputStream();
        } catch (IOException e) {
            throw new IllegalStateException("a connected TLS socket without streams", e);
        }
    }

    @Override
    public int read(ByteBuffer buffer) throws IOException {
        if (!buffer.hasRemaining()) {
            return 0;
        }
        byte[] bytes = new byte[Math.min(buffer.remaining(), 16 * 1024)];
        int read = in.read(bytes);
        if (read > 0) {
            buffer.put(bytes, 0, read);
        }
        return read;
    }

    @Override
    public int write(ByteBuffer buffer) throws IOException {
        int length = buffer.remaining();
        if (buffer.hasArray()) {
            out.write(buffer.array(), buffer.arrayOffset() + buffer.position(), length);
            buffer.position(buffer.limit());
        } else {
            byte[] bytes = new byte[length];
            buffer.get(bytes);
            out.write(bytes);
        }
        out.flush();
        return length;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    /** The end of the conversation: close_notify to the client; the descriptor is left to exit. */
    void endOfConversation() {
        try {
            socket.shutdownOutput();
        } catch (IOException | UnsupportedOperationException e) {
            // the client is gone, or the session cannot half-close: the FIN that follows says it
        }
    }

    @Override
    public void close() {
        open = false;
        endOfConversation();
    }
}
