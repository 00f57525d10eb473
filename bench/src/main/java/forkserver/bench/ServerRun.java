package forkserver.bench;

import org.apache.commons.exec.CommandLine;
import org.apache.commons.exec.DefaultExecuteResultHandler;
import org.apache.commons.exec.DefaultExecutor;
import org.apache.commons.exec.ExecuteWatchdog;
import org.apache.commons.exec.ProcessDestroyer;
import org.apache.commons.exec.PumpStreamHandler;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One server the bench started, and its reliable end.
 *
 * <p>The command runs as {@code setsid [/usr/bin/time -v -o FILE] SERVER...}: {@code setsid}
 * makes it the leader of a new process group that every child it spawns joins (the supervisor's
 * workers, tcpserver's and systemd's children), so killing every process of that group ends the
 * whole tree even after a parent died and its children were orphaned. That is also why the bench does
 * not use commons-exec's ShutdownHookProcessDestroyer, which destroys the first process only:
 * {@link #ON_EXIT} kills every group still running when the bench's JVM exits (Ctrl-C included),
 * and commons-exec's watchdog bounds a server's life should the bench hang.
 */
public final class ServerRun implements AutoCloseable {

    /**
     * No workload keeps a server longer; past this the watchdog ends it. The scale ladder keeps
     * each model's server through every rung, up to 10,000 held (half an hour on two shared cores).
     */
    static final Duration LIFETIME = Duration.ofMinutes(90);
    private static final Duration START = Duration.ofSeconds(30);
    private static final Duration STOP = Duration.ofSeconds(30);

    /** Process groups to kill when the bench exits, whatever the reason. */
    private static final Set<Long> ON_EXIT = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> ON_EXIT.forEach(ServerRun::killGroup), "kill-servers"));
    }

    private final Process root;          // setsid's pid: the process group's id
    // The server itself (time's child when timed). A handle, not a number: it remembers the
    // process's start time, so that a signal never reaches another process that got the same pid.
    private final ProcessHandle server;
    private final Path timeFile;         // /usr/bin/time's report, or null
    private final DefaultExecuteResultHandler exit;
    private final OutputStream log;
    private boolean stopped;

    private ServerRun(Process root, ProcessHandle server, Path timeFile, DefaultExecuteResultHandler exit, OutputStream log) {
        this.root = root;
        this.server = server;
        this.timeFile = timeFile;
        this.exit = exit;
        this.log = log;
    }

    /**
     * Starts {@code server} with its output appended to {@code log}; under /usr/bin/time when
     * {@code timeFile} is not null. Returns once the server's process exists (not once it listens).
     */
    public static ServerRun start(List<String> server, Path log, Path timeFile, Map<String, String> environment) {
        List<String> command = new ArrayList<>(List.of("setsid"));
        if (timeFile != null) {
            command.addAll(List.of(TimeReport.PROGRAM, "-v", "-o", timeFile.toString()));
        }
        command.addAll(server);
        CommandLine line = new CommandLine(command.getFirst());
        command.subList(1, command.size()).forEach(argument -> line.addArgument(argument, false));

        CompletableFuture<Process> launched = new CompletableFuture<>();
        DefaultExecutor executor = DefaultExecutor.builder().get();
        executor.setProcessDestroyer(new Launched(launched));
        executor.setWatchdog(ExecuteWatchdog.builder().setTimeout(LIFETIME).get());
        executor.setExitValues(null); // a server's exit status is not the bench's failure
        OutputStream output = append(log);
        executor.setStreamHandler(new PumpStreamHandler(output, output));
        Map<String, String> env = new HashMap<>(System.getenv());
        env.putAll(environment);
        DefaultExecuteResultHandler exit = new DefaultExecuteResultHandler();
        try {
            executor.execute(line, env, exit);
            Process root = launched.get(START.toSeconds(), TimeUnit.SECONDS);
            ProcessHandle serverProcess = timeFile == null ? root.toHandle() : awaitChild(root, exit);
            return new ServerRun(root, serverProcess, timeFile, exit, output);
        } catch (IOException e) {
            throw new UncheckedIOException("starting " + command, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("could not start " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting " + command, e);
        }
    }

    /** The server's pid: the root of the tree whose memory and CPU the bench reads. */
    public long pid() {
        return server.pid();
    }

    public boolean isAlive() {
        return !exit.hasResult();
    }

    /**
     * How the server ended ("killed by signal 15") if it ends within {@code wait} without being
     * stopped, for a failure's message; empty when it still runs.
     */
    public String endedEarly(Duration wait) {
        if (stopped) {
            return "";
        }
        try {
            exit.waitFor(wait);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return exit.hasResult() ? describe(exit.getExitValue()) : "";
    }

    private static String describe(int status) {
        return status > 128 && status < 160 ? "the server was killed by signal " + (status - 128)
                : "the server exited with status " + status;
    }

    /**
     * Ends the server as an operator would (SIGTERM to the server, so that the supervisor reaps
     * its children and /usr/bin/time reports), then kills whatever is left of its group.
     */
    public void stop() {
        if (stopped) {
            return;
        }
        stopped = true;
        server.destroy();
        try {
            exit.waitFor(STOP);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        killGroup(root.pid());
        ON_EXIT.remove(root.pid());
        try {
            log.close();
        } catch (IOException e) {
            // the log is for reading after the fact; nothing to do
        }
    }

    /** /usr/bin/time's report once stopped, or null when not timed or it wrote none. */
    public TimeReport timeReport() {
        if (timeFile == null || !Files.isReadable(timeFile)) {
            return null;
        }
        try {
            return TimeReport.parse(Files.readString(timeFile));
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
    }

    @Override
    public void close() {
        stop();
    }

    private static ProcessHandle awaitChild(Process root, DefaultExecuteResultHandler exit) throws InterruptedException {
        long deadline = System.nanoTime() + START.toNanos();
        while (System.nanoTime() < deadline && !exit.hasResult()) {
            var child = root.children().findFirst();
            if (child.isPresent()) {
                return child.get();
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException("the server under " + TimeReport.PROGRAM + " did not start");
    }

    /**
     * SIGKILL to every process of the group, found by the group id in /proc/PID/stat. While one
     * member lives the kernel does not hand the id to a new process, so each one found is ours;
     * each is killed through its handle, which checks its start time.
     */
    static void killGroup(long pgid) {
        ProcessHandle.allProcesses().filter(p -> processGroup(p.pid()) == pgid).forEach(ProcessHandle::destroyForcibly);
    }

    private static long processGroup(long pid) {
        try {
            // Fields after "(comm)", which may hold blanks: state, ppid, pgrp. (Read by lines: the
            // JDK's readString trusts a /proc file's size, which may be 0 or wrong.)
            String stat = Files.readAllLines(Path.of("/proc", Long.toString(pid), "stat")).getFirst();
            return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[2]);
        } catch (IOException | RuntimeException e) {
            return -1; // gone, or not ours to read
        }
    }

    private static OutputStream append(Path log) {
        try {
            Files.createDirectories(log.getParent());
            return Files.newOutputStream(log, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + log, e);
        }
    }

    /**
     * commons-exec hands the launched process to its destroyer: that is where the bench learns its
     * pid, and registers its group for {@link #ON_EXIT} (kept after the process ends: its
     * orphans may still run until {@link #stop()} kills the group).
     */
    private record Launched(CompletableFuture<Process> launched) implements ProcessDestroyer {

        @Override
        public boolean add(Process process) {
            ON_EXIT.add(process.pid());
            launched.complete(process);
            return true;
        }

        @Override
        public boolean remove(Process process) {
            return true;
        }

        @Override
        public int size() {
            return launched.isDone() ? 1 : 0;
        }
    }
}
