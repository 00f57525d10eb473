package forkserver.bench.startup;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a server process's time went while a client waited, from the kernel's own accounts: the
 * CPU time of all its threads and their time waiting on a run queue for a CPU
 * ({@code /proc/PID/task/TID/schedstat}, nanoseconds). For the TLS breakdown of bin/bench-handlers:
 * a spare's handshake is its CPU (crypto, the JIT), its wait for a CPU, and the round trips.
 */
final class ServerCpu {

    /** CPU time and run-queue wait of a process's threads, summed, in nanoseconds. */
    record Sample(long cpuNanos, long waitNanos) {
        Sample minus(Sample earlier) {
            return new Sample(cpuNanos - earlier.cpuNanos, waitNanos - earlier.waitNanos);
        }
    }

    static Sample of(long pid) throws IOException {
        long cpu = 0;
        long wait = 0;
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/" + pid + "/task"))) {
            for (Path task : tasks) {
                String[] fields;
                try {
                    fields = Files.readString(task.resolve("schedstat")).trim().split(" ");
                } catch (IOException e) {
                    continue; // a thread that ended meanwhile
                }
                cpu += Long.parseLong(fields[0]);
                wait += Long.parseLong(fields[1]);
            }
        }
        return new Sample(cpu, wait);
    }

    /**
     * Waits (up to {@code boundNanos}) until none of {@code pid}'s threads runs or waits to run:
     * the server has done what the client's last flight asked and blocks for the next.
     */
    static void awaitIdle(long pid, long boundNanos) throws IOException {
        long deadline = System.nanoTime() + boundNanos;
        while (System.nanoTime() - deadline < 0 && running(pid)) {
            Thread.onSpinWait();
        }
    }

    private static boolean running(long pid) throws IOException {
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/" + pid + "/task"))) {
            for (Path task : tasks) {
                try {
                    String stat = Files.readString(task.resolve("stat"));
                    if (stat.charAt(stat.lastIndexOf(')') + 2) == 'R') {
                        return true;
                    }
                } catch (IOException e) {
                    // ended meanwhile
                }
            }
        }
        return false;
    }

    /** The ready spare of a supervisor with one: its one child started with FORKSERVER_SPARE=1, or -1. */
    static long spareOf(Process supervisor) throws IOException {
        List<Long> spares = new ArrayList<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/" + supervisor.pid() + "/task"))) {
            for (Path task : tasks) {
                String children;
                try {
                    children = Files.readString(task.resolve("children"));
                } catch (IOException e) {
                    continue; // a thread that ended meanwhile
                }
                for (String child : children.trim().split(" ")) {
                    if (!child.isEmpty() && isSpare(child)) {
                        spares.add(Long.parseLong(child));
                    }
                }
            }
        }
        return spares.size() == 1 ? spares.getFirst() : -1;
    }

    private static boolean isSpare(String pid) {
        try {
            return ("\0" + new String(Files.readAllBytes(Path.of("/proc/" + pid + "/environ")))).contains("\0FORKSERVER_SPARE=1\0");
        } catch (IOException e) {
            return false;
        }
    }

    private ServerCpu() {
    }
}
