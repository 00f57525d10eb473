package forkserver.bench.servers;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * Every connection on one thread: a NIO {@link Selector} (epoll on Linux) says which sockets
 * are ready, and the loop reacts to each with a callback that never blocks. A connection costs
 * one small {@link Session} object and its buffers, nothing the kernel has to schedule.
 *
 * <pre>java ... EventLoop HOST PORT</pre>
 *
 * The protocol is the worker's echo: lines come back unchanged, a line that is {@code done} once
 * trimmed is answered with {@code bye!} and closes the connection, end of input closes it too.
 */
public final class EventLoop {

    /** A line longer than this is echoed in pieces and can no longer be {@code done}. */
    private static final int LINE_MAX = 8192;
    private static final int INPUT_SIZE = 8192;
    private static final byte[] BYE = "bye!\n".getBytes(StandardCharsets.US_ASCII);

    /** One connection's state between two callbacks. */
    private static final class Session {
        final ByteBuffer line = ByteBuffer.allocate(LINE_MAX); // the current line so far
        // What one read can produce: a held line, a whole input buffer, bye!. Nothing is read while
        // output is pending, so it never overflows.
        final ByteBuffer out = ByteBuffer.allocate(LINE_MAX + INPUT_SIZE + BYE.length);
        boolean midLine;   // the current line was too long: echo the rest as it comes
        boolean closing;   // bye! (or end of input) is queued: close once it is written
    }

    private EventLoop() {
    }

    public static void main(String[] args) throws IOException {
        try (Selector selector = Selector.open(); ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress(args[0], Integer.parseInt(args[1])), 1024);
            server.configureBlocking(false);
            server.register(selector, SelectionKey.OP_ACCEPT);
            System.err.println("listening on " + server.getLocalAddress());
            ByteBuffer input = ByteBuffer.allocate(INPUT_SIZE); // shared: callbacks run one at a time
            while (true) {
                selector.select();
                for (SelectionKey key : selector.selectedKeys()) {
                    try {
                        if (key.isAcceptable()) {
                            accept(server, selector);
                        } else if (key.isReadable()) {
                            read(key, input);
                        } else if (key.isWritable()) {
                            write(key);
                        }
                    } catch (IOException e) {
                        key.channel().close(); // this client went away; the others carry on
                    }
                }
                selector.selectedKeys().clear();
            }
        }
    }

    private static void accept(ServerSocketChannel server, Selector selector) throws IOException {
        SocketChannel client = server.accept();
        if (client != null) {
            client.configureBlocking(false);
            client.register(selector, SelectionKey.OP_READ, new Session());
        }
    }

    private static void read(SelectionKey key, ByteBuffer input) throws IOException {
        SocketChannel client = (SocketChannel) key.channel();
        Session session = (Session) key.attachment();
        if (client.read(input.clear()) < 0) {
            session.out.put(session.line.flip()); // end of input: a last unfinished line is still echoed
            session.closing = true;
        } else {
            input.flip();
            while (input.hasRemaining() && !session.closing) {
                take(session, input.get());
            }
        }
        write(key);
    }

    /** One byte of input: complete the line, echo it, or answer {@code done}. */
    private static void take(Session session, byte b) {
        if (session.midLine) {
            session.out.put(b);
            session.midLine = b != '\n';
            return;
        }
        session.line.put(b);
        if (b == '\n') {
            session.line.flip();
            String text = StandardCharsets.ISO_8859_1.decode(session.line.duplicate()).toString();
            session.closing = text.trim().equals("done"); // trim(): bytes up to space, as the worker's
            session.out.put(session.closing ? ByteBuffer.wrap(BYE) : session.line);
            session.line.clear();
        } else if (!session.line.hasRemaining()) {
            session.out.put(session.line.flip());
            session.line.clear();
            session.midLine = true;
        }
    }

    /** Writes what the socket takes; waits for OP_WRITE (and reads nothing) while output is pending. */
    private static void write(SelectionKey key) throws IOException {
        SocketChannel client = (SocketChannel) key.channel();
        Session session = (Session) key.attachment();
        client.write(session.out.flip());
        boolean pending = session.out.hasRemaining();
        session.out.compact();
        if (pending) {
            key.interestOps(SelectionKey.OP_WRITE);
        } else if (session.closing) {
            client.close();
        } else {
            key.interestOps(SelectionKey.OP_READ);
        }
    }
}
