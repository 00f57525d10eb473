package forkserver.worker;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/** A connected pair of real TCP sockets on loopback: the worker's side and the client's. */
record SocketPair(SocketChannel server, SocketChannel client) implements AutoCloseable {

    static SocketPair open() throws IOException {
        try (ServerSocketChannel listener = ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            SocketChannel client = SocketChannel.open(listener.getLocalAddress());
            return new SocketPair(listener.accept(), client);
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        client.close();
    }
}
