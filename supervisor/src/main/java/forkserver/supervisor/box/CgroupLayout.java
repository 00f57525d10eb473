package forkserver.supervisor.box;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.StringJoiner;

/**
 * What this host offers for boxes, seen from the supervisor's own cgroup: where each controller
 * is (on cgroup v2, or on a v1 hierarchy of its own, the "hybrid" layout), whether the supervisor
 * may write there, and the one line that says so at start-up.
 *
 * <p>Read once at start-up from {@code /proc/self/cgroup} (the supervisor's cgroup in each
 * hierarchy) and {@code /proc/self/mountinfo} (where each hierarchy is mounted, and from which of
 * its directories: a container may see only its own subtree). Boxes are made under the
 * supervisor's own cgroup: what systemd hands a service with {@code Delegate=yes}, and root's
 * anyway.
 */
public final class CgroupLayout {

    /** The controllers a box uses, by the kernel's names. */
    public enum Controller {
        MEMORY, PIDS, CPU, CPUACCT;

        public String kernelName() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Controller of(String name) {
            for (Controller c : values()) {
                if (c.kernelName().equals(name)) {
                    return c;
                }
            }
            return null;
        }
    }

    /**
     * One mounted hierarchy: cgroup v2 (then {@code controllers} are those the supervisor's cgroup
     * may give its children) or a v1 one with its controllers; {@code own} is the supervisor's
     * cgroup in it, as a directory.
     */
    public record Hierarchy(boolean v2, Set<Controller> controllers, Path own, boolean writable) {

        /**
         * Whether cgroups made here have {@code cgroup.kill}, which kills everything in one at once
         * (Linux 5.14). A hierarchy's root has none of its own (it cannot be killed): then the
         * kernel's version says.
         */
        boolean hasKill() {
            if (!v2) {
                return false;
            }
            if (Files.exists(own.resolve("cgroup.kill"))) {
                return true;
            }
            String[] version = System.getProperty("os.version", "0.0").split("[.-]");
            try {
                int major = Integer.parseInt(version[0]);
                int minor = version.length > 1 ? Integer.parseInt(version[1]) : 0;
                return major > 5 || major == 5 && minor >= 14;
            } catch (NumberFormatException e) {
                return false;
            }
        }

        @Override
        public String toString() {
            return own.toString();
        }
    }

    private final Hierarchy unified;
    private final Map<Controller, Hierarchy> controllers;
    private final String absence;

    private CgroupLayout(Hierarchy unified, Map<Controller, Hierarchy> controllers, String absence) {
        this.unified = unified;
        this.controllers = controllers;
        this.absence = absence;
    }

    /** This process's layout, from /proc/self. */
    public static CgroupLayout detect() {
        Optional<String> cgroups = readQuietly(Path.of("/proc/self/cgroup"));
        Optional<String> mounts = readQuietly(Path.of("/proc/self/mountinfo"));
        if (cgroups.isEmpty() || mounts.isEmpty()) {
            return new CgroupLayout(null, Map.of(), "cannot read /proc/self/cgroup or /proc/self/mountinfo");
        }
        return of(cgroups.get(), mounts.get());
    }

    /** The layout that {@code /proc/self/cgroup} and {@code /proc/self/mountinfo} describe (their text). */
    static CgroupLayout of(String procSelfCgroup, String mountinfo) {
        List<Mount> mounts = Mount.parseAll(mountinfo);
        Hierarchy unified = null;
        Map<Controller, Hierarchy> byController = new EnumMap<>(Controller.class);
        for (String line : procSelfCgroup.split("\n")) {
            String[] fields = line.split(":", 3);
            if (fields.length != 3) {
                continue;
            }
            boolean v2 = fields[0].equals("0") && fields[1].isEmpty();
            Set<String> names = v2 ? Set.of() : Set.of(fields[1].split(","));
            for (Mount mount : mounts) {
                if (v2 ? !mount.v2() : mount.v2() || !mount.controllers().equals(names)) {
                    continue;
                }
                Path own = mount.directoryOf(fields[2]);
                if (own == null || !Files.isDirectory(own)) {
                    continue;
                }
                boolean writable = Files.isWritable(own) && Files.isWritable(own.resolve("cgroup.procs"));
                if (v2) {
                    Set<Controller> offered = EnumSet.noneOf(Controller.class);
                    readQuietly(own.resolve("cgroup.controllers")).ifPresent(text -> {
                        for (String name : text.trim().split("\\s+")) {
                            Controller c = Controller.of(name);
                            if (c != null) {
                                offered.add(c);
                            }
                        }
                    });
                    unified = new Hierarchy(true, Collections.unmodifiableSet(offered), own, writable);
                } else {
                    Set<Controller> here = EnumSet.noneOf(Controller.class);
                    for (String name : names) {
                        Controller c = Controller.of(name);
                        if (c != null) {
                            here.add(c);
                        }
                    }
                    if (!here.isEmpty()) {
                        Hierarchy hierarchy = new Hierarchy(false, Collections.unmodifiableSet(here), own, writable);
                        here.forEach(c -> byController.putIfAbsent(c, hierarchy));
                    }
                }
                break;
            }
        }
        // A controller on v2 is used there; a v1 hierarchy only for what v2 does not offer.
        if (unified != null) {
            for (Controller c : unified.controllers()) {
                byController.put(c, unified);
            }
        }
        // cpu.stat's usage exists on every v2 cgroup, controller or not: cpuacct is v1's stand-in.
        if (unified != null) {
            byController.remove(Controller.CPUACCT);
        }
        String absence = unified == null && byController.isEmpty()
                ? "no cgroup hierarchy is mounted where the supervisor can see its own cgroup" : null;
        return new CgroupLayout(unified, Collections.unmodifiableMap(byController), absence);
    }

    /** The v2 hierarchy (pure v2, or the hybrid layout's controller-less one), or null. */
    public Hierarchy unified() {
        return unified;
    }

    /** Where {@code controller} can be had (v2 first), or null when this host does not offer it. */
    public Hierarchy hierarchyOf(Controller controller) {
        return controllers.get(controller);
    }

    /** Pure cgroup v2: every controller there is lives on the unified hierarchy. */
    public boolean pureV2() {
        return unified != null && controllers.values().stream().allMatch(Hierarchy::v2);
    }

    /** Whether connections can be boxed at all (contained, killed, accounted), limits aside. */
    public boolean boxable() {
        return containment() != null;
    }

    /** The hierarchy whose cgroup.procs says what is in a box: v2 when writable, else the first writable v1. */
    Hierarchy containment() {
        if (unified != null && unified.writable()) {
            return unified;
        }
        return controllers.values().stream().filter(Hierarchy::writable).findFirst().orElse(null);
    }

    /**
     * Why {@code limits} cannot be had here, in one line naming what is missing (the controller,
     * write access: root or systemd's {@code Delegate=yes}); empty when they can.
     */
    public Optional<String> problem(BoxLimits limits) {
        List<String> missing = new ArrayList<>();
        if (limits.memoryMax() != null) {
            check(BoxLimits.MEMORY_OPTION, Controller.MEMORY).ifPresent(missing::add);
        }
        if (limits.tasksMax() != null) {
            check(BoxLimits.TASKS_OPTION, Controller.PIDS).ifPresent(missing::add);
        }
        if (limits.cpuMax() != null) {
            check(BoxLimits.CPU_OPTION, Controller.CPU).ifPresent(missing::add);
        }
        return missing.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", missing));
    }

    private Optional<String> check(String option, Controller controller) {
        Hierarchy hierarchy = controllers.get(controller);
        if (hierarchy == null) {
            if (absence != null) {
                return Optional.of(option + " needs cgroups, and " + absence);
            }
            if (unified != null && !controllers.containsKey(controller)) {
                return Optional.of(option + " needs the " + controller.kernelName() + " controller, which the supervisor's"
                        + " cgroup (" + unified.own() + ") is not given: run it as a systemd service with Delegate=yes,"
                        + " or enable " + controller.kernelName() + " in its parent's cgroup.subtree_control");
            }
            return Optional.of(option + " needs the " + controller.kernelName() + " controller, which this host does not mount");
        }
        if (!hierarchy.writable()) {
            return Optional.of(option + " needs write access to " + hierarchy.own() + ": run the supervisor as root,"
                    + " or as a systemd service with Delegate=yes");
        }
        return Optional.empty();
    }

    /**
     * The start-up line: {@code connections are boxed: cgroup v2 at /sys/fs/cgroup/forkserver.service,
     * memory pids cpu}, the hybrid layout's hierarchies one by one, or why connections are not boxed.
     */
    public String describe() {
        Hierarchy containment = containment();
        if (containment == null) {
            if (absence != null) {
                return "connections are not boxed: " + absence;
            }
            Hierarchy any = unified != null ? unified : controllers.values().iterator().next();
            return "connections are not boxed: no write access to " + any.own()
                    + " (run the supervisor as root, or as a systemd service with Delegate=yes)";
        }
        if (pureV2()) {
            StringJoiner names = new StringJoiner(" ");
            unified.controllers().forEach(c -> names.add(c.kernelName()));
            return "connections are boxed: cgroup v2 at " + unified.own()
                    + (names.length() == 0 ? ", no controllers (no limits; cpu.stat, cgroup.kill)" : ", " + names);
        }
        StringJoiner parts = new StringJoiner(", ");
        Set<Hierarchy> seen = new LinkedHashSet<>();
        for (Map.Entry<Controller, Hierarchy> entry : controllers.entrySet()) {
            Hierarchy h = entry.getValue();
            if (h.writable() && seen.add(h)) {
                StringJoiner names = new StringJoiner(",");
                controllers.forEach((c, other) -> {
                    if (other.equals(h)) {
                        names.add(c.kernelName());
                    }
                });
                parts.add(names + (h.v2() ? " on v2 at " : " at ") + h.own());
            }
        }
        String v2 = unified != null && unified.writable()
                ? (parts.length() == 0 ? "" : "; ") + "cgroup v2 at " + unified.own() + " (" + (unified.hasKill() ? "cgroup.kill, " : "") + "cpu.stat)"
                : "";
        return "connections are boxed: " + (unified != null ? "hybrid cgroups: " : "cgroup v1: ") + parts + v2;
    }

    @Override
    public String toString() {
        return describe();
    }

    static Optional<String> readQuietly(Path file) {
        try {
            return Optional.of(Files.readString(file));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** A cgroup mount from /proc/self/mountinfo: which hierarchy, and the directory of it at its mount point. */
    record Mount(boolean v2, Set<String> controllers, String root, Path mountPoint) {

        // The v1 controllers a mount's options may name (the others are flags: rw, nsdelegate, ...).
        private static final Set<String> V1_CONTROLLERS = Set.of("cpuset", "cpu", "cpuacct", "blkio", "io", "memory",
                "devices", "freezer", "net_cls", "perf_event", "net_prio", "hugetlb", "pids", "rdma", "misc", "debug");

        static List<Mount> parseAll(String mountinfo) {
            List<Mount> mounts = new ArrayList<>();
            for (String line : mountinfo.split("\n")) {
                // id parent major:minor root mount-point options [optional fields] - type source super-options
                int dash = line.indexOf(" - ");
                if (dash < 0) {
                    continue;
                }
                String[] left = line.substring(0, dash).split(" ");
                String[] right = line.substring(dash + 3).split(" ");
                if (left.length < 5 || right.length < 3) {
                    continue;
                }
                String type = right[0];
                if (type.equals("cgroup2")) {
                    mounts.add(new Mount(true, Set.of(), unescape(left[3]), Path.of(unescape(left[4]))));
                } else if (type.equals("cgroup")) {
                    Set<String> names = new LinkedHashSet<>();
                    for (String option : right[2].split(",")) {
                        if (V1_CONTROLLERS.contains(option) || option.startsWith("name=")) {
                            names.add(option);
                        }
                    }
                    mounts.add(new Mount(false, Set.copyOf(names), unescape(left[3]), Path.of(unescape(left[4]))));
                }
            }
            return mounts;
        }

        /** The directory of cgroup {@code path} under this mount, or null when the mount does not show it. */
        Path directoryOf(String path) {
            if (root.equals("/")) {
                return mountPoint.resolve(path.substring(1));
            }
            if (path.equals(root)) {
                return mountPoint;
            }
            if (path.startsWith(root + "/")) {
                return mountPoint.resolve(path.substring(root.length() + 1));
            }
            return null;
        }

        // mountinfo writes a space, a tab, a newline and a backslash in octal: \040.
        private static String unescape(String field) {
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < field.length(); i++) {
                char c = field.charAt(i);
                if (c == '\\' && i + 3 < field.length() && field.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                    text.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                    i += 3;
                } else {
                    text.append(c);
                }
            }
            return text.toString();
        }
    }
}
