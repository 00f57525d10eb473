package forkserver.worker;

import forkserver.posix.Durations;

import java.io.IOException;
import java.io.PrintStream;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketOption;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code FORKSERVER_IDLE_TIMEOUT}: the connection as the handler sees it, closed for input when
 * the client has sent nothing for that long.
 *
 * <p>A blocking {@link SocketChannel#read} has no timeout in the JDK (SO_TIMEOUT only applies to
 * a {@link Socket}'s streams), so this wrapper notes the time of every read that returns bytes,
 * and a daemon thread shuts the input down once the deadline passes: the handler's blocked read
 * returns end of stream, it ends as on a client's FIN, and the launcher exits with
 * {@link Launcher#EXIT_IDLE}. The handler sees the same blocking channel; only
 * {@link #socket()}'s streams bypass the clock, and the channel cannot be registered with a
 * selector. Loaded only when the variable is set: every other connection pays nothing.
 */
final class IdleTimeoutChannel extends SocketChannel implements Runnable {

    private final SocketChannel channel;
    private final long timeoutNanos;
    private final PrintStream err;
    private volatile long lastInput = System.nanoTime();
    private volatile boolean inputEnded;
    private volatile boolean expired;

    private IdleTimeoutChannel(SocketChannel channel, long timeoutNanos, PrintStream err) {
        super(channel.provider());
        this.channel = channel;
        this.timeoutNanos = timeoutNanos;
        this.err = err;
    }

    /** Wraps {@code channel} and starts its clock. */
    static IdleTimeoutChannel watch(SocketChannel channel, long timeoutNanos, PrintStream err) {
        IdleTimeoutChannel watched = new IdleTimeoutChannel(channel, timeoutNanos, err);
        Thread.ofPlatform().daemon().name("idle-timeout").start(watched);
        return watched;
    }

    /**
     * A duration as the supervisor's options take it ({@link Durations}: {@code 500ms},
     * {@code 30s}, {@code 2m}, {@code 1h}, a bare number of seconds, at most a year), in
     * nanoseconds; the supervisor's {@code --idle-timeout} passes milliseconds.
     *
     * @throws IllegalArgumentException when it is none of those, or zero
     */
    static long parse(String text) {
        long nanos = Durations.parse(text).toNanos();
        if (nanos == 0) {
            throw new IllegalArgumentException("expected a duration longer than zero, got '" + text + "'");
        }
        return nanos;
    }

    /** True once the deadline passed and the input was shut down. */
    boolean expired() {
        return expired;
    }

    /** The clock: sleeps until the deadline of the last input, then shuts the input down. */
    @Override
    public void run() {
        while (!inputEnded) {
            long idle = System.nanoTime() - lastInput;
            if (idle >= timeoutNanos) {
                expired = true;
                err.printf("forkserver worker: no input for %.3fs, closing the connection%n", idle / 1e9);
                try {
                    channel.shutdownInput();
                } catch (IOException e) {
                    // already closed: nothing to end
                }
                return;
            }
            try {
                TimeUnit.NANOSECONDS.sleep(timeoutNanos - idle);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private int counted(int read) {
        if (read > 0) {
            lastInput = System.nanoTime();
        } else if (read < 0) {
            inputEnded = true;
        }
        return read;
    }

    @Override
    public int read(ByteBuffer buffer) throws IOException {
        return counted(channel.read(buffer));
    }

    @Override
    public long read(ByteBuffer[] buffers, int offset, int length) throws IOException {
        long read = channel.read(buffers, offset, length);
        counted((int) Math.max(Math.min(read, 1), -1));
        return read;
    }

    @Override
    public int write(ByteBuffer buffer) throws IOException {
        return channel.write(buffer);
    }

    @Override
    public long write(ByteBuffer[] buffers, int offset, int length) throws IOException {
        return channel.write(buffers, offset, length);
    }

    @Override
    public SocketChannel bind(SocketAddress local) throws IOException {
        channel.bind(local);
        return this;
    }

    @Override
    public <T> SocketChannel setOption(SocketOption<T> name, T value) throws IOException {
        channel.setOption(name, value);
        return this;
    }

    @Override
    public <T> T getOption(SocketOption<T> name) throws IOException {
        return channel.getOption(name);
    }

    @Override
    public Set<SocketOption<?>> supportedOptions() {
        return channel.supportedOptions();
    }

    @Override
    public SocketChannel shutdownInput() throws IOException {
        channel.shutdownInput();
        return this;
    }

    @Override
    public SocketChannel shutdownOutput() throws IOException {
        channel.shutdownOutput();
        return this;
    }

    @Override
    public Socket socket() {
        return channel.socket();
    }

    @Override
    public boolean isConnected() {
        return channel.isConnected();
    }

    @Override
    public boolean isConnectionPending() {
        return channel.isConnectionPending();
    }

    @Override
    public boolean connect(SocketAddress remote) throws IOException {
        return channel.connect(remote);
    }

    @Override
    public boolean finishConnect() throws IOException {
        return channel.finishConnect();
    }

    @Override
    public SocketAddress getRemoteAddress() throws IOException {
        return channel.getRemoteAddress();
    }

    @Override
    public SocketAddress getLocalAddress() throws IOException {
        return channel.getLocalAddress();
    }

    @Override
    protected void implCloseSelectableChannel() throws IOException {
        channel.close();
    }

    @Override
    protected void implConfigureBlocking(boolean block) throws IOException {
        channel.configureBlocking(block);
    }
}
