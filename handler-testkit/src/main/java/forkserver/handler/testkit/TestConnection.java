package forkserver.handler.testkit;

import forkserver.handler.Connection;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.List;

/**
 * The {@link Connection} a {@link HandlerSession} gives its handler: the server's end of a real
 * loopback connection, with the facts the test chose (else the socket's own).
 */
final class TestConnection implements Connection {

    private final SocketChannel channel;
    private final HandlerSession.Builder facts;
    private final java.util.Map<String, String> environment;
    private final InetSocketAddress remote;
    private final InetSocketAddress local;
    private volatile int exitStatus;

    TestConnection(SocketChannel channel, HandlerSession.Builder facts) throws IOException {
        this.channel = channel;
        this.facts = facts;
        this.environment = java.util.Map.copyOf(facts.environment);
        this.remote = (InetSocketAddress) channel.getRemoteAddress();
        this.local = (InetSocketAddress) channel.getLocalAddress();
    }

    @Override
    public SocketChannel channel() {
        return channel;
    }



    @Override
    public String remoteIp() {
        return facts.remoteIp != null ? facts.remoteIp : remote.getAddress().getHostAddress();
    }

    @Override
    public int remotePort() {
        return facts.remotePort != null ? facts.remotePort : remote.getPort();
    }

    @Override
    public String localIp() {
        return facts.localIp != null ? facts.localIp : local.getAddress().getHostAddress();
    }

    @Override
    public int localPort() {
        return facts.localPort != null ? facts.localPort : local.getPort();
    }

    @Override
    public String env(String name) {
        return environment.get(name);
    }

    @Override
    public List<String> arguments() {
        return facts.arguments;
    }

    @Override
    public void setExitStatus(int status) {
        if (status < 0 || status > 255) {
            throw new IllegalArgumentException("exit status must be 0 to 255, got " + status);
        }
        exitStatus = status;
    }

    int exitStatus() {
        return exitStatus;
    }
}
