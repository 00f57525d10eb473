package forkserver.bench.servers;

import forkserver.handler.SocketConnection;
import forkserver.worker.EchoHandler;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Map;

/**
 * One thread per connection in one JVM: accept, start a thread that runs the worker's own
 * {@link EchoHandler} on the blocking socket, repeat. The handler is the very code a forkserver
 * worker runs, so the only difference from the {@code process} model is what carries a connection.
 *
 * <pre>java ... ThreadPerConnection platform|virtual HOST PORT</pre>
 *
 * {@code platform} starts an operating-system thread per connection (about a megabyte of stack
 * reserved, a kernel task to schedule); {@code virtual} starts a virtual thread, which the JDK
 * parks on a few carrier threads while it waits for input (Java's answer to coroutines).
 */
public final class ThreadPerConnection {

    private ThreadPerConnection() {
    }

    public static void main(String[] args) throws IOException {
        Thread.Builder threads = switch (args[0]) {
            case "platform" -> Thread.ofPlatform().name("echo-", 0);
            case "virtual" -> Thread.ofVirtual().name("echo-", 0);
            default -> throw new IllegalArgumentException("platform or virtual, not " + args[0]);
        };
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress(args[1], Integer.parseInt(args[2])), 1024);
            System.err.println("listening on " + server.getLocalAddress());
            while (true) {
                SocketChannel client = server.accept();
                threads.start(() -> serve(client));
            }
        }
    }

    private static void serve(SocketChannel client) {
        try (client) {
            new EchoHandler().serve(new SocketConnection(client, Map.of()));
        } catch (IOException e) {
            // The client went away mid-session: its connection is closed, nothing else to do.
        }
    }
}
