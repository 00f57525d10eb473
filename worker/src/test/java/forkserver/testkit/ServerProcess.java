package forkserver.testkit;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A server under test as a real process (bin/supervisor, systemd-socket-activate, inetd, ...):
 * its stderr and stdout are collected line by line, conditions on them are awaited with a
 * deadline, and {@link #close()} kills it and everything it started.
 */
public final class ServerProcess implements AutoCloseable {

    private static final Pattern START_PID = Pattern.compile("start pid=(\\d+) remote=\\S+:(\\d+)");
    /** A finished upgrade names its successor, which writes on in the same stderr. */
    private static final Pattern SUCCESSOR = Pattern.compile("forkserver: upgrade pid=(\\d+) ");

    private final Instant created;
    private final String name;
    private final Process process;
    private final List<String> stderr = new CopyOnWriteArrayList<>();
    private final List<String> stdout = new CopyOnWriteArrayList<>();
    private final List<ProcessHandle> seen = new CopyOnWriteArrayList<>();
    private final List<Thread> readers = new CopyOnWriteArrayList<>();

    private ServerProcess(String name, Process process) {
        this.created = Instant.now();
        this.name = name;
        this.process = process;
        collect(process.getErrorStream(), stderr, "stderr");
        collect(process.getInputStream(), stdout, "stdout");
    }

    /** Starts {@code command} with JAVA_HOME set to the test JDK, stdin on /dev/null. */
    public static ServerProcess start(List<String> command, Map<String, String> extraEnvironment) {
        ProcessBuilder builder = new ProcessBuilder(command).redirectInput(new File("/dev/null"));
        builder.environment().put("JAVA_HOME", Project.javaHome());
        builder.environment().putAll(extraEnvironment);
        try {
            return new ServerProcess(new File(command.getFirst()).getName(), builder.start());
        } catch (IOException e) {
            throw new UncheckedIOException("starting " + command, e);
        }
    }

    /** {@code bin/supervisor ARGS}. */
    public static ServerProcess supervisor(String... args) {
        return supervisor(Map.of(), args);
    }

    public static ServerProcess supervisor(Map<String, String> environment, String... args) {
        List<String> command = new ArrayList<>();
        command.add(Project.bin("supervisor"));
        command.addAll(List.of(args));
        return start(command, environment);
    }

    /** Waits for the {@code listening on HOST:PORT} line and returns that address. */
    public InetSocketAddress awaitListening() {
        return awaitListeningLine().address();
    }

    /** Waits for the {@code listening on HOST:PORT (HOW)} line and returns what it says. */
    public Listening awaitListeningLine() {
        return Listening.of(awaitMatch(Listening.LINE));
    }

    /** Waits until a line of stderr matches and returns the match. */
    public Matcher awaitMatch(Pattern pattern) {
        return Await.value(name + " to log a line matching " + pattern + "; it logged " + stderr, Await.DEFAULT,
                () -> {
                    for (String line : stderr) {
                        Matcher m = pattern.matcher(line);
                        if (m.find()) {
                            return m;
                        }
                    }
                    if (!process.isAlive() && drained()) {
                        throw new AssertionError(name + " exited (" + process.exitValue() + ") before logging "
                                + pattern + "; it logged " + stderr);
                    }
                    return null;
                });
    }

    /**
     * Waits until a line of stderr matches (true) or the process has exited and said all it had
     * to say without one (false).
     */
    public boolean awaitLineOrExit(Pattern pattern) {
        return Await.value(name + " to log a line matching " + pattern + " or exit; it logged " + stderr,
                Await.DEFAULT, () -> {
                    boolean exited = !process.isAlive() && drained();
                    if (stderr.stream().anyMatch(line -> pattern.matcher(line).find())) {
                        return true;
                    }
                    return exited ? false : null;
                });
    }

    /** Waits until stderr has {@code count} lines matching {@code pattern}. */
    public List<Matcher> awaitMatches(Pattern pattern, int count) {
        return Await.value(name + " to log " + count + " lines matching " + pattern + "; it logged " + stderr,
                Await.DEFAULT, () -> {
                    List<Matcher> found = matches(pattern);
                    return found.size() >= count ? found : null;
                });
    }

    /** Every stderr line so far matching {@code pattern}. */
    public List<Matcher> matches(Pattern pattern) {
        List<Matcher> found = new ArrayList<>();
        for (String line : stderr) {
            Matcher m = pattern.matcher(line);
            if (m.find()) {
                found.add(m);
            }
        }
        return found;
    }

    /**
     * The child pid the supervisor logged for the client whose local port is {@code clientPort}:
     * the latest such start line. After many sessions a port may have served an earlier client
     * too; {@link #awaitChildPidOf(int, int)} then says which one is meant.
     */
    public long awaitChildPidOf(int clientPort) {
        return awaitChildPidOf(clientPort, 0);
    }

    /**
     * As above, among the lines logged from line {@code fromLine} on ({@link #lines()} before the
     * client connected): not an earlier client's whose local port was the same.
     */
    public long awaitChildPidOf(int clientPort, int fromLine) {
        return Await.value("a start line for client port " + clientPort + " from line " + fromLine + " in " + stderr,
                Await.DEFAULT, () -> {
                    // A copy first: a view of the live list would throw if a line came in meanwhile.
                    List<String> logged = List.copyOf(stderr);
                    Long found = null;
                    for (String line : logged.subList(Math.min(fromLine, logged.size()), logged.size())) {
                        Matcher m = START_PID.matcher(line);
                        if (m.find() && Integer.parseInt(m.group(2)) == clientPort) {
                            found = Long.parseLong(m.group(1));
                        }
                    }
                    return found;
                });
    }

    /** How many stderr lines have been read so far. */
    public int lines() {
        return stderr.size();
    }

    /**
     * Waits (with a deadline) until this process holds no TCP connection, only listening
     * sockets: after a session of any kind (spawned, handed to a spare, behind a proxy, refused)
     * the supervisor must have closed its copy of the client's socket, or the client would not
     * see end of file when its child exits. Fails naming the descriptors still held.
     */
    public void assertHoldsNoConnection() {
        AtomicReference<Map<Integer, String>> held = new AtomicReference<>(Map.of());
        try {
            Await.until("the supervisor to hold no connection's socket, only its listeners", () -> {
                try {
                    held.set(Descriptors.connections(pid()));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                return held.get().isEmpty();
            });
        } catch (AssertionError e) {
            throw new AssertionError("the supervisor still holds connections: " + held.get() + " (" + e.getMessage() + ")", e);
        }
    }

    public List<String> stderr() {
        return List.copyOf(stderr);
    }

    public List<String> stdout() {
        return List.copyOf(stdout);
    }

    public long pid() {
        return process.pid();
    }

    /** Sends a signal by name (TERM, INT, HUP, USR1, KILL) with kill(1). */
    public void signal(String signal) {
        signal(pid(), signal);
    }

    public static void signal(long pid, String signal) {
        try {
            Process kill = new ProcessBuilder("kill", "-s", signal, Long.toString(pid)).inheritIO().start();
            if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new AssertionError("kill -s " + signal + " " + pid + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Remembers the current descendants, so that {@link #close()} can kill them even once orphaned. */
    public List<ProcessHandle> descendants() {
        List<ProcessHandle> now = process.descendants().toList();
        seen.addAll(now);
        return now;
    }

    /**
     * Remembers the successors its upgrades named, and their descendants: once its predecessor
     * has left, a successor is nobody's descendant here (the kernel gave it to init). Only
     * processes started since this one are taken, so that a pid used again is not.
     */
    private void successors() {
        Instant started = created.minusSeconds(1); // start times are counted in clock ticks
        for (String line : stderr) {
            Matcher successor = SUCCESSOR.matcher(line);
            if (successor.find()) {
                ProcessHandle.of(Long.parseLong(successor.group(1)))
                        .filter(h -> !h.info().startInstant().orElse(Instant.EPOCH).isBefore(started))
                        .ifPresent(h -> {
                            seen.add(h);
                            seen.addAll(h.descendants().toList());
                        });
            }
        }
    }

    /** Waits for the process to exit and returns its status (and waits until its output is read). */
    public int awaitExit(Duration timeout) {
        int status = awaitExitOfThisProcess(timeout);
        Await.until(name + "'s output to be read", this::drained);
        return status;
    }

    /**
     * Waits for the process to exit and returns its status, without waiting for the end of its
     * output: a process it started may hold the pipes on (an upgrade's successor does).
     */
    public int awaitExitOfThisProcess(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                throw new AssertionError(name + " still running after " + timeout + "; it logged " + stderr);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        return process.exitValue();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    private boolean drained() {
        return readers.stream().noneMatch(Thread::isAlive);
    }

    private void collect(InputStream stream, List<String> into, String which) {
        Thread reader = Thread.ofPlatform().daemon().name(name + "-" + which).start(() -> {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                for (String line; (line = lines.readLine()) != null; ) {
                    into.add(line);
                    System.err.println("[" + name + " " + which + "] " + line);
                }
            } catch (IOException e) {
                // the process is gone
            }
        });
        readers.add(reader);
    }

    /**
     * Kills the process and every descendant it had (SIGKILL), and the successors of its upgrades
     * with theirs, and waits for them.
     */
    @Override
    public void close() {
        descendants();
        successors();
        // The supervisor is this process, or one of its descendants behind an activator, or a
        // successor (in the cgroup its predecessor was in, which may have left already).
        List<Long> pids = new ArrayList<>(List.of(process.pid()));
        seen.forEach(handle -> pids.add(handle.pid()));
        List<Path> cgroups = new ArrayList<>();
        for (long pid : pids) {
            cgroupsOf(pid).stream().filter(dir -> !cgroups.contains(dir)).forEach(cgroups::add);
        }
        process.destroyForcibly();
        for (ProcessHandle handle : seen) {
            handle.destroyForcibly();
        }
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (ProcessHandle handle : seen) {
            handle.onExit().orTimeout(10, TimeUnit.SECONDS).exceptionally(t -> null).join();
        }
        for (long pid : pids) {
            removeBoxes(cgroups, pid);
        }
    }

    /**
     * The cgroup directories the process is in (every hierarchy), and their parents: a supervisor
     * makes its connections' boxes ({@code box-PID-N}) beside itself, or beside its leaf on cgroup
     * v2. Empty when they cannot be read.
     */
    private static List<Path> cgroupsOf(long pid) {
        List<Path> dirs = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) {
                String[] fields = line.split(":", 3);
                if (fields.length != 3) {
                    continue;
                }
                String relative = fields[2].substring(1);
                List<Path> mounts = fields[1].isEmpty()
                        ? List.of(Path.of("/sys/fs/cgroup/unified"), Path.of("/sys/fs/cgroup"))
                        : List.of(Path.of("/sys/fs/cgroup", fields[1].replaceFirst("^name=", "")));
                for (Path mount : mounts) {
                    Path dir = mount.resolve(relative);
                    if (Files.isDirectory(dir) && Files.exists(mount.resolve("cgroup.procs"))) {
                        dirs.add(dir);
                        if (dir.getParent() != null && !dir.equals(mount)) {
                            dirs.add(dir.getParent());
                        }
                        break;
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone already, or no cgroups to read: nothing to clean
        }
        return dirs;
    }

    /**
     * A supervisor killed with SIGKILL cannot remove its connections' boxes, as systemd would with
     * its unit's cgroup: the test kit does, killing what is still in them (best effort: a box that
     * will not go stays, and a test that counts cgroups says so).
     */
    private static void removeBoxes(List<Path> dirs, long pid) {
        String prefix = "box-" + pid + "-";
        List<Path> boxes = new ArrayList<>();
        for (Path dir : dirs) {
            try (var children = Files.list(dir)) {
                children.filter(b -> b.getFileName().toString().startsWith(prefix)).forEach(boxes::add);
            } catch (IOException e) {
                // not listable: nothing of ours there
            }
        }
        for (Path box : boxes) {
            try {
                if (Files.exists(box.resolve("cgroup.kill"))) {
                    Files.writeString(box.resolve("cgroup.kill"), "1");
                } else {
                    for (String line : Files.readAllLines(box.resolve("cgroup.procs"))) {
                        ProcessHandle.of(Long.parseLong(line.trim())).ifPresent(ProcessHandle::destroyForcibly);
                    }
                }
            } catch (IOException | RuntimeException e) {
                // gone, or empty
            }
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        for (Path box : boxes) {
            while (true) {
                try {
                    Files.deleteIfExists(box);
                    break;
                } catch (IOException e) {
                    if (System.nanoTime() > deadline) {
                        break; // EBUSY: something is stuck in it
                    }
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException interrupted) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }
    }
}
