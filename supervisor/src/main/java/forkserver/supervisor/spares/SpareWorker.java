package forkserver.supervisor.spares;

import forkserver.supervisor.base.Failures;
import forkserver.supervisor.spawn.ChildProcess;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A spare worker as the supervisor holds it: its process, and the supervisor's end of their
 * private socketpair (close-on-exec), over which it is handed its connection. Which thread may
 * use the channel follows the spare's state in the {@link SparePool}.
 */
public final class SpareWorker {

    public final ChildProcess process;
    final int channel;
    final long startedNanos;
    private boolean channelClosed; // guarded by this
    final AtomicBoolean exitSeen = new AtomicBoolean(); // its exit handled by Spares, once

    SpareWorker(ChildProcess process, int channel) {
        this.process = process;
        this.channel = channel;
        this.startedNanos = System.nanoTime();
    }

    long pid() {
        return process.pid();
    }

    /** Closes our end of the pair, once (end of file for the spare, if it still reads). */
    synchronized void closeChannel() {
        if (channelClosed) {
            return;
        }
        channelClosed = true;
        Failures.closeOwn(channel, "spare " + pid() + "'s socketpair end");
    }

    @Override
    public String toString() {
        return "spare " + pid();
    }
}
