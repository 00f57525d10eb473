package forkserver.worker;

import forkserver.handler.Handler;
import forkserver.handler.SocketConnection;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * What a worker runs before it has a connection, so that the connection does not pay for it:
 * in a spare before it says ready ({@link Spare}), and in an AOT training run
 * ({@code Launcher --train}) to record the classes in a cache. Never on an on-demand worker's
 * path (this class is not even loaded there).
 */
final class WarmUp {

    private WarmUp() {
    }

    /**
     * The worker's own socket path: the NIO socket classes and {@link SocketConnection}, the
     * streams a handler takes with {@code Connection.in()} and {@code out()} (a read and a write
     * through each), and the echo handler, over a private loopback connection. A failure only
     * costs speed later.
     */
    static void socketPath(Map<String, String> environment) {
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(loopback, 1);
             SocketChannel client = SocketChannel.open(server.getLocalAddress());
             SocketChannel served = server.accept()) {
            SocketConnection connection = new SocketConnection(served, environment);
            // Everything written fits in the socket buffers: the session runs to its end on this thread.
            byte[] line = "warm\n".getBytes(StandardCharsets.US_ASCII);
            client.write(ByteBuffer.wrap(line));
            byte[] read = connection.in().readNBytes(line.length);
            OutputStream out = connection.out();
            out.write(read);
            out.flush();
            client.read(ByteBuffer.allocate(line.length));
            client.write(ByteBuffer.wrap("warm\ndone\n".getBytes(StandardCharsets.US_ASCII)));
            new EchoHandler().serve(connection);
            served.shutdownOutput();
        } catch (IOException e) {
            // No loopback, or no port free: the first connection pays for these classes instead.
        }
    }

    /**
     * The handler's own {@link Handler#warmUp}; a failure is one line on stderr and returns
     * false (a spare still serves, cold; a training run fails).
     */
    static boolean handler(Handler handler, List<String> arguments) {
        try {
            handler.warmUp(arguments);
            return true;
        } catch (IOException | RuntimeException e) {
            System.err.println("forkserver worker: handler " + handler.getClass().getName() + " warm-up failed: " + e);
            return false;
        }
    }
}
