package forkserver.bench;

import java.io.PrintStream;

/**
 * What the bench is doing, on stderr: on a terminal one line redrawn in place every second
 * (model or "all models", phase, time spent and an estimate of what is left); otherwise one line
 * per phase.
 */
final class Progress implements AutoCloseable {

    private final PrintStream err;
    private final boolean terminal;
    private final long started = System.nanoTime();
    private final double estimateSeconds;
    private final Thread ticker;
    private String line = "";

    Progress(PrintStream err, boolean terminal, double estimateSeconds) {
        this.err = err;
        this.terminal = terminal;
        this.estimateSeconds = estimateSeconds;
        this.ticker = terminal ? Thread.ofPlatform().daemon().name("progress").start(this::tick) : null;
    }

    synchronized void phase(String name, String what) {
        line = "[" + name + "] " + what;
        if (terminal) {
            redraw();
        } else {
            err.println("bench: " + line);
        }
    }

    private synchronized void redraw() {
        double elapsed = (System.nanoTime() - started) / 1e9;
        String left = elapsed < estimateSeconds ? ", about " + clock(estimateSeconds - elapsed) + " left" : "";
        err.print("\r\033[K" + line + "  (" + clock(elapsed) + left + ")");
        err.flush();
    }

    private void tick() {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
            redraw();
        }
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s / 60 + ":" + String.format("%02d", s % 60);
    }

    @Override
    public synchronized void close() {
        if (ticker != null) {
            ticker.interrupt();
            err.print("\r\033[K");
            err.flush();
        }
    }
}
