package forkserver.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Running a command under real limits, as an operator's service manager would: as an
 * unprivileged user ({@code setpriv}, util-linux) with {@code prlimit} limits, or inside a
 * cgroup of its own with {@code pids.max}. Needs root to set up; tests check {@link #root()}.
 *
 * <p>The uid is one no account uses ({@link #UID}): {@code RLIMIT_NPROC} counts every task of the
 * user on the machine, so a uid shared with anything else (nobody) would make the count drift.
 */
public final class Limited {

    /** An unprivileged uid (and gid) that nothing else on a test machine runs as. */
    public static final int UID = 61234;

    private Limited() {
    }

    public static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** {@code command} as {@link #UID}, with at most {@code tasks} tasks (RLIMIT_NPROC) for that user. */
    public static List<String> asUserWithTasks(int tasks, List<String> command) {
        List<String> limited = new ArrayList<>(List.of("setpriv", "--reuid=" + UID, "--regid=" + UID,
                "--clear-groups", "--", "prlimit", "--nproc=" + tasks + ":" + tasks, "--"));
        limited.addAll(command);
        return limited;
    }

    /** {@code command} as {@link #UID}, without limits. */
    public static List<String> asUser(List<String> command) {
        List<String> unprivileged = new ArrayList<>(List.of("setpriv", "--reuid=" + UID, "--regid=" + UID,
                "--clear-groups", "--"));
        unprivileged.addAll(command);
        return unprivileged;
    }

    /** The pids of every process running as {@link #UID} now. */
    public static List<Long> processesOfUser() {
        return ProcessHandle.allProcesses()
                .filter(process -> uidOf(process.pid()) == UID)
                .map(ProcessHandle::pid)
                .toList();
    }

    /** The processes whose parent is {@code parent} and that are zombies (exited, never reaped). */
    public static List<Long> zombieChildrenOf(long parent) {
        List<Long> zombies = new ArrayList<>();
        ProcessHandle.allProcesses().forEach(process -> {
            String stat = stat(process.pid());
            if (stat != null) {
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                if (fields[0].equals("Z") && Long.parseLong(fields[1]) == parent) {
                    zombies.add(process.pid());
                }
            }
        });
        return zombies;
    }

    private static long uidOf(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("Uid:")) {
                    return Long.parseLong(line.substring(4).strip().split("\\s+")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // exited while we looked
        }
        return -1;
    }

    private static String stat(long pid) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/stat"));
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * A cgroup (v1 pids controller, or v2 with pids enabled) of its own with {@code pids.max}, or
     * null when this machine does not let the test make one.
     */
    public static PidsCgroup pidsCgroup(String name, int max) {
        for (Path parent : List.of(Path.of("/sys/fs/cgroup/pids"), Path.of("/sys/fs/cgroup"))) {
            if (!Files.isWritable(parent) || !Files.exists(parent.resolve("cgroup.procs"))) {
                continue;
            }
            Path group = parent.resolve(name);
            try {
                Files.createDirectories(group);
                if (!Files.exists(group.resolve("pids.max"))) {
                    Files.delete(group);
                    continue; // v2 without the pids controller delegated
                }
                Files.writeString(group.resolve("pids.max"), Integer.toString(max));
                return new PidsCgroup(group);
            } catch (IOException | UnsupportedOperationException e) {
                // read-only, or not ours to change
            }
        }
        return null;
    }

    /** A pids cgroup made by a test: commands run inside it, and it is removed at close. */
    public record PidsCgroup(Path directory) implements AutoCloseable {

        /** {@code command}, started inside this cgroup (it moves itself there, then execs). */
        public List<String> inside(List<String> command) {
            List<String> wrapped = new ArrayList<>(List.of("/bin/sh", "-c",
                    "echo $$ > \"$0\" && exec \"$@\"", directory.resolve("cgroup.procs").toString()));
            wrapped.addAll(command);
            return wrapped;
        }

        /** Removes the cgroup once its processes are gone (waits for them). */
        @Override
        public void close() {
            Await.until("the processes of " + directory + " to be gone", () -> {
                try {
                    return Files.readString(directory.resolve("cgroup.procs")).isBlank();
                } catch (IOException e) {
                    return true;
                }
            });
            try {
                Files.deleteIfExists(directory);
            } catch (IOException e) {
                throw new UncheckedIOException("removing " + directory, e);
            }
        }
    }
}
