package forkserver.supervisor.box;

import forkserver.supervisor.box.CgroupLayout.Hierarchy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A service's cgroup that a test makes, as systemd makes a unit's: a directory of its own under
 * the test's cgroup in every hierarchy a box may use, and the {@link CgroupLayout} a supervisor
 * started in it would detect. On cgroup v2 the test's JVM moves into it (the supervisor's own
 * cgroup must hold nothing but the supervisor), and back when it closes. Closing fails the test
 * when a box is left in it.
 */
public final class ServiceCgroup implements AutoCloseable {

    private static int count;

    private final String name;
    private final List<Path> directories = new ArrayList<>();
    private final CgroupLayout layout;
    private final Path movedFrom;

    private ServiceCgroup(String name, CgroupLayout layout, Path movedFrom, List<Path> directories) {
        this.name = name;
        this.layout = layout;
        this.movedFrom = movedFrom;
        this.directories.addAll(directories);
    }

    /** A service cgroup in every hierarchy the real layout has; {@code withUnified} false leaves v2 out (a v1-only host). */
    public static synchronized ServiceCgroup make(boolean withUnified) throws IOException {
        String name = "fstest-" + ProcessHandle.current().pid() + "-" + (++count);
        CgroupLayout real = CgroupLayout.detect();
        List<Path> made = new ArrayList<>();
        String procSelf = Files.readString(Path.of("/proc/self/cgroup"));
        StringBuilder text = new StringBuilder();
        Path movedFrom = null;
        for (String line : procSelf.split("\n")) {
            String[] fields = line.split(":", 3);
            if (fields.length != 3) {
                continue;
            }
            boolean v2 = fields[0].equals("0") && fields[1].isEmpty();
            if (v2 && !withUnified) {
                continue;
            }
            text.append(fields[0]).append(':').append(fields[1]).append(':')
                    .append(fields[2].equals("/") ? "" : fields[2]).append('/').append(name).append('\n');
        }
        // The directories that layout will look for: the test's own cgroups + name.
        for (Path own : ownsIncludingCpuacct(real, withUnified)) {
            Path dir = own.resolve(name);
            Files.createDirectory(dir);
            made.add(dir);
        }
        CgroupLayout layout = CgroupLayout.of(text.toString(), Files.readString(Path.of("/proc/self/mountinfo")));
        if (layout.pureV2()) {
            // No process may stay in a cgroup whose children get controllers: the supervisor
            // (this JVM) lives in its service's cgroup, as under systemd.
            movedFrom = real.unified().own();
            Files.writeString(layout.unified().own().resolve("cgroup.procs"), Long.toString(ProcessHandle.current().pid()));
        }
        return new ServiceCgroup(name, layout, movedFrom, made);
    }

    private static Set<Path> ownsIncludingCpuacct(CgroupLayout real, boolean withUnified) throws IOException {
        Set<Path> owns = new LinkedHashSet<>();
        if (real.unified() != null && withUnified) {
            owns.add(real.unified().own());
        }
        // Every v1 hierarchy of a box controller, cpuacct too, from /proc/self/cgroup and mountinfo.
        CgroupLayout v1Only = CgroupLayout.of(
                Files.readString(Path.of("/proc/self/cgroup")).lines().filter(l -> !l.startsWith("0::"))
                        .reduce("", (a, b) -> a + b + "\n"),
                Files.readString(Path.of("/proc/self/mountinfo")));
        for (CgroupLayout.Controller c : CgroupLayout.Controller.values()) {
            Hierarchy h = v1Only.hierarchyOf(c);
            if (h != null) {
                owns.add(h.own());
            }
        }
        return owns;
    }

    public CgroupLayout layout() {
        return layout;
    }

    /** Directories of boxes (or anything else) left in the service's cgroups. */
    public List<Path> leftovers() throws IOException {
        List<Path> left = new ArrayList<>();
        for (Path dir : directories) {
            if (Files.isDirectory(dir)) {
                try (Stream<Path> children = Files.list(dir)) {
                    children.filter(Files::isDirectory).forEach(left::add);
                }
            }
        }
        return left;
    }

    /**
     * {@code command} started inside this service's cgroups, in every hierarchy (a shell writes
     * its pid into each cgroup.procs, then execs it), as systemd starts a unit's main process.
     */
    public List<String> inside(List<String> command) {
        StringBuilder script = new StringBuilder();
        for (Path dir : directories) {
            script.append("echo $$ > '").append(dir.resolve("cgroup.procs")).append("' && ");
        }
        List<String> wrapped = new ArrayList<>(List.of("/bin/sh", "-c", script + "exec \"$@\"", "sh"));
        wrapped.addAll(command);
        return wrapped;
    }

    /**
     * Writes {@code value} into {@code file} of the service's cgroup in whichever hierarchy has
     * it ({@code pids.max}, {@code memory.limit_in_bytes}, {@code memory.max}): the service's own
     * limits, as systemd's TasksMax= and MemoryMax= set them.
     */
    public void limit(String file, String value) throws IOException {
        for (Path dir : directories) {
            if (Files.exists(dir.resolve(file))) {
                Files.writeString(dir.resolve(file), value);
                return;
            }
        }
        throw new IOException("no hierarchy of service " + name + " has " + file);
    }

    @Override
    public void close() throws IOException {
        List<Path> left = leftovers();
        if (movedFrom != null) {
            Files.writeString(movedFrom.resolve("cgroup.procs"), Long.toString(ProcessHandle.current().pid()));
        }
        for (Path dir : left) {
            Files.deleteIfExists(dir); // empty or not, the next test must not find it: fails below anyway
        }
        for (Path dir : directories.reversed()) {
            Files.deleteIfExists(dir);
        }
        if (!left.isEmpty()) {
            throw new AssertionError("cgroups left behind in service " + name + ": " + left);
        }
    }
}
