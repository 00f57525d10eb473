package forkserver.supervisor;

import forkserver.posix.Errno;
import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.supervisor.base.Failures;
import forkserver.supervisor.listen.Handover;
import forkserver.supervisor.listen.InheritedSocket;
import forkserver.supervisor.spawn.Spawner;
import forkserver.supervisor.systemd.SystemdNotify;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * SIGUSR2: the supervisor starts its successor from its own command line (so the code a new
 * package installed), hands it the listening sockets ({@link Handover}) and waits for it to say
 * it is ready; only then does it stop accepting, and it exits once its own children have ended.
 * A successor that fails (exits, cannot start, is not ready within {@link #READY_DEADLINE}) is
 * stopped and changes nothing: the supervisor goes on serving.
 *
 * <p>Why a successor and not an exec in place: a JVM cannot exec itself and keep its children's
 * registry (their pidfds, stderr pipes, boxes, spares' channels and the JDK's reaper threads), so
 * an in-place exec would have to rebuild all of it from /proc, or lose it. The successor is a
 * new process that owns nothing of the old one's but the listening sockets; under systemd the old
 * one names it the main process ({@code MAINPID=}) before it leaves, so the service never
 * restarts.
 */
final class Upgrade {

    /** How long a successor may take from its start to "ready" (a JVM's start, its spares not awaited). */
    static final Duration READY_DEADLINE = Duration.ofSeconds(60);
    /** How long a failed successor has between SIGTERM and SIGKILL. */
    static final Duration KILL_WAIT = Duration.ofSeconds(5);
    /** The launcher to run again (bin/supervisor sets it to itself); else this JVM's own command line. */
    static final String LAUNCHER_VARIABLE = "FORKSERVER_LAUNCHER";

    private Upgrade() {
    }

    /** How to start a successor: the command and its environment. */
    record Relaunch(List<String> argv, Map<String, String> environment) {

        /**
         * The launcher in {@link #LAUNCHER_VARIABLE} with {@code args}, else this process's own
         * command line; the environment as we got it but for what names this process alone
         * (systemd's LISTEN_* and WATCHDOG_PID, which would name the wrong pid), and
         * {@link Handover#VARIABLE}. WATCHDOG_USEC stays only when the watchdog is ours: unset
         * WATCHDOG_PID then makes it the successor's.
         */
        static Relaunch of(String[] args, Map<String, String> environment, SystemdNotify notify) {
            List<String> argv = new ArrayList<>();
            String launcher = environment.get(LAUNCHER_VARIABLE);
            if (launcher != null && !launcher.isEmpty()) {
                argv.add(launcher);
                argv.addAll(List.of(args));
            } else {
                argv.addAll(ownCommandLine());
            }
            Map<String, String> successor = InheritedSocket.withoutActivationVariables(environment);
            successor.remove("WATCHDOG_PID");
            if (notify.watchdogInterval() == null) {
                successor.remove("WATCHDOG_USEC");
            }
            successor.put(Handover.VARIABLE, Long.toString(ProcessHandle.current().pid()));
            return new Relaunch(List.copyOf(argv), Map.copyOf(successor));
        }

        /** /proc/self/cmdline: the java command and its options, exactly as this JVM was started. */
        private static List<String> ownCommandLine() {
            try {
                String all = new String(Files.readAllBytes(Path.of("/proc/self/cmdline")), StandardCharsets.UTF_8);
                return List.of(all.split("\0"));
            } catch (IOException e) {
                return List.of(ProcessHandle.current().info().command().orElse("java"));
            }
        }
    }

    /** How an upgrade went. */
    sealed interface Outcome {
    }

    /** The successor serves: tell it {@link #go()} once this supervisor stopped accepting. */
    record Ready(Process successor, int channel, Duration took) implements Outcome {

        /** "go", and the channel closed: from here on the two share nothing but the sockets. */
        void go() {
            try {
                Handover.go(channel);
            } catch (ErrnoException e) {
                // It waits a bounded time for it, then goes on: nothing to undo here.
            } finally {
                Failures.closeOwn(channel, "the upgrade's channel");
            }
        }
    }

    /** No successor serves ({@code pid} 0 when none started); {@code reason} for the log line. */
    record Failed(long pid, String reason) implements Outcome {
    }

    /** Starts the successor, hands it {@code listeners}, and waits for its readiness. */
    static Outcome start(Spawner spawner, Relaunch relaunch, List<Handover.Passing> listeners) {
        long began = System.nanoTime();
        int[] pair;
        try {
            pair = Posix.socketpair(Posix.AF_UNIX, Posix.SOCK_SEQPACKET);
        } catch (ErrnoException e) {
            return new Failed(0, "socketpair: " + e.name());
        }
        Process successor;
        try {
            successor = spawner.spawnSuccessor(relaunch.argv(), relaunch.environment(), pair[1]);
        } catch (Failures.SpawnFailed e) {
            Failures.closeOwn(pair[0], "the upgrade's channel");
            return new Failed(0, "cannot start " + relaunch.argv().getFirst() + ": " + e.reason() + " " + e.getMessage());
        } finally {
            Failures.closeOwn(pair[1], "the successor's end of the upgrade's channel");
        }
        String failure;
        try {
            Handover.send(pair[0], listeners);
            failure = switch (Handover.awaitReady(pair[0], READY_DEADLINE)) {
                case READY -> null;
                case GONE -> gone(successor);
                case TIMEOUT -> "not ready within " + READY_DEADLINE.toSeconds() + "s";
            };
        } catch (ErrnoException e) {
            // EPIPE, ECONNRESET: it exited before it took the sockets (a usage error, a crash).
            failure = e.errno() == Errno.EPIPE || e.errno() == Errno.ECONNRESET ? gone(successor)
                    : "handover: " + e.call() + " " + e.name();
        }
        if (failure == null) {
            return new Ready(successor, pair[0], Duration.ofNanos(System.nanoTime() - began));
        }
        Failures.closeOwn(pair[0], "the upgrade's channel");
        stop(successor);
        return new Failed(successor.pid(), failure);
    }

    private static String gone(Process successor) {
        return "exited status=" + exitStatus(successor) + " before it was ready";
    }

    /** Its exit status once it has exited (waited for a moment: the channel closes just before), or "unknown". */
    private static String exitStatus(Process process) {
        try {
            return process.waitFor(KILL_WAIT.toMillis(), TimeUnit.MILLISECONDS) ? Integer.toString(process.exitValue())
                    : "unknown";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }

    /** A failed successor: SIGTERM, SIGKILL after {@link #KILL_WAIT}; reaped (by the JDK) either way. */
    private static void stop(Process successor) {
        successor.destroy();
        try {
            if (!successor.waitFor(KILL_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                successor.destroyForcibly();
                successor.waitFor(KILL_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
