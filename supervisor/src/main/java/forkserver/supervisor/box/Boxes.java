package forkserver.supervisor.box;

import forkserver.posix.Posix;
import forkserver.supervisor.box.CgroupLayout.Controller;
import forkserver.supervisor.box.CgroupLayout.Hierarchy;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * The supervisor's place in the cgroup tree, and the maker of its connections' boxes: each box a
 * cgroup under the supervisor's own, in every hierarchy it needs (on cgroup v2 one; in the hybrid
 * layout memory, pids and cpu each on their v1 hierarchy, and the unified one for cgroup.kill and
 * cpu.stat). Knows every box it made until it is removed, so that {@link #close} leaves none.
 *
 * <p>On cgroup v2 a cgroup whose children have controllers may hold no process (the "no internal
 * processes" rule): {@link #open} moves the supervisor into a leaf of its own cgroup,
 * {@value #LEAF}, and gives the controllers to its children, as a service with
 * {@code Delegate=yes} may. {@link #close} undoes it when nothing else is left there.
 */
public final class Boxes implements AutoCloseable {

    /** The leaf the supervisor moves itself into on cgroup v2. */
    public static final String LEAF = "supervisor";
    /** Names of boxes: {@code box-PID-N}, the supervisor's pid keeping two supervisors in one cgroup apart. */
    static final String PREFIX = "box-";

    /**
     * What a box uses one hierarchy for; {@code weight}: its CPU weight is set there
     * ({@link Box#weigh}), in the hierarchy with the cpu controller.
     */
    record Use(boolean v2, boolean memory, boolean cpuAccounting, Set<Controller> limits, boolean weight) {
    }

    /** One hierarchy a box has a cgroup in: the directory boxes are made in, and what for. */
    private record Place(Path parent, Use use) {
    }

    private final CgroupLayout layout;
    private final BoxLimits limits;
    private final List<Place> places;
    private final String prefix;
    private final AtomicLong sequence = new AtomicLong();
    private final Set<Box> made = ConcurrentHashMap.newKeySet();
    private final Path movedFrom;
    private final String enabled;

    private Boxes(CgroupLayout layout, BoxLimits limits, List<Place> places, Path movedFrom, String enabled) {
        this.layout = layout;
        this.limits = limits;
        this.places = places;
        this.prefix = PREFIX + ProcessHandle.current().pid() + "-";
        this.movedFrom = movedFrom;
        this.enabled = enabled;
    }

    /**
     * Takes the supervisor's place for boxes with {@code limits}: checks that this host offers
     * them ({@link CgroupLayout#problem}: the one-line start-up error), and on cgroup v2 moves the
     * supervisor into its leaf and enables the controllers the limits need.
     */
    public static Boxes open(CgroupLayout layout, BoxLimits limits) throws IOException {
        return open(layout, limits, false);
    }

    /**
     * As {@link #open(CgroupLayout, BoxLimits)}; with {@code weights}, boxes also get a CPU weight
     * ({@link Box#weigh}) where the host's cpu controller is ours to use: a wish, not a limit,
     * so a host without one boxes without weights rather than refuse.
     */
    public static Boxes open(CgroupLayout layout, BoxLimits limits, boolean weights) throws IOException {
        var problem = layout.problem(limits);
        if (problem.isPresent()) {
            throw new IOException(problem.get());
        }
        Hierarchy containment = layout.containment();
        if (containment == null) {
            throw new IOException(layout.describe());
        }
        // Which hierarchy each job goes to; the containment one first (its cgroup.procs says what is in a box).
        Map<Hierarchy, EnumSet<Controller>> limitsBy = new LinkedHashMap<>();
        Map<Hierarchy, Boolean> memoryBy = new LinkedHashMap<>();
        limitsBy.put(containment, EnumSet.noneOf(Controller.class));
        Hierarchy memory = layout.hierarchyOf(Controller.MEMORY);
        if (memory != null && memory.writable()) {
            limitsBy.computeIfAbsent(memory, h -> EnumSet.noneOf(Controller.class));
            memoryBy.put(memory, true);
            if (limits.memoryMax() != null) {
                limitsBy.get(memory).add(Controller.MEMORY);
            }
        }
        if (limits.tasksMax() != null) {
            limitsBy.computeIfAbsent(layout.hierarchyOf(Controller.PIDS), h -> EnumSet.noneOf(Controller.class))
                    .add(Controller.PIDS);
        }
        if (limits.cpuMax() != null) {
            limitsBy.computeIfAbsent(layout.hierarchyOf(Controller.CPU), h -> EnumSet.noneOf(Controller.class))
                    .add(Controller.CPU);
        }
        Hierarchy weighing = weights ? layout.hierarchyOf(Controller.CPU) : null;
        if (weighing != null && weighing.writable()) {
            limitsBy.computeIfAbsent(weighing, h -> EnumSet.noneOf(Controller.class));
        } else {
            weighing = null;
        }
        Hierarchy cpuAccounting = layout.unified() != null && layout.unified().writable()
                ? layout.unified() : layout.hierarchyOf(Controller.CPUACCT);
        if (cpuAccounting != null && cpuAccounting.writable()) {
            limitsBy.computeIfAbsent(cpuAccounting, h -> EnumSet.noneOf(Controller.class));
        }
        List<Place> places = new ArrayList<>();
        Set<Controller> onV2 = EnumSet.noneOf(Controller.class);
        for (var entry : limitsBy.entrySet()) {
            Hierarchy h = entry.getKey();
            boolean memoryHere = memoryBy.getOrDefault(h, false);
            boolean weightHere = h.equals(weighing);
            places.add(new Place(h.own(), new Use(h.v2(), memoryHere, h.equals(cpuAccounting), Set.copyOf(entry.getValue()),
                    weightHere)));
            if (h.v2()) {
                onV2.addAll(entry.getValue());
                if (memoryHere) {
                    onV2.add(Controller.MEMORY);
                }
                if (weightHere) {
                    onV2.add(Controller.CPU);
                }
            }
        }
        Path movedFrom = null;
        String enabled = "";
        boolean limitOnV2 = onV2.contains(Controller.PIDS) || onV2.contains(Controller.CPU) && limits.cpuMax() != null
                || onV2.contains(Controller.MEMORY) && limits.memoryMax() != null;
        Path unifiedOwn = layout.unified() == null ? null : layout.unified().own();
        if (!onV2.isEmpty() && !limitOnV2 && !isRoot(unifiedOwn) && !othersIn(unifiedOwn).isEmpty()) {
            // Memory was wanted for its figures only, the cpu controller for weights only: rather than
            // refuse, box without them (contained, killed, CPU counted; no memory peak, no weights),
            // since the supervisor may not leave its cgroup.
            places.replaceAll(p -> p.use().v2()
                    ? new Place(p.parent(), new Use(true, false, p.use().cpuAccounting(), p.use().limits(), false)) : p);
            onV2.clear();
        }
        if (!onV2.isEmpty()) {
            Path own = layout.unified().own();
            Set<String> active = Set.of(Files.readString(own.resolve("cgroup.subtree_control")).trim().split("\\s+"));
            StringJoiner enable = new StringJoiner(" ");
            for (Controller c : onV2) {
                if (!active.contains(c.kernelName())) {
                    enable.add("+" + c.kernelName());
                }
            }
            if (enable.length() > 0) {
                movedFrom = leaveForLeaf(own);
                try {
                    Posix.writeFile(own.resolve("cgroup.subtree_control").toString(), enable.toString());
                } catch (IOException e) {
                    comeBack(movedFrom);
                    throw new IOException("cannot enable " + enable + " in " + own.resolve("cgroup.subtree_control")
                            + ": " + Box.reason(e), e);
                }
                enabled = enable.toString();
            }
        }
        for (Place place : places) {
            removeStale(place.parent());
        }
        return new Boxes(layout, limits, List.copyOf(places), movedFrom, enabled);
    }

    /**
     * On cgroup v2 (not at the hierarchy's root, which is exempt), moves the supervisor out of its
     * own cgroup into {@link #LEAF} below it. Refuses when other processes share the cgroup: they
     * are not the supervisor's to move. Returns the cgroup left, or null when none was.
     */
    private static Path leaveForLeaf(Path own) throws IOException {
        if (isRoot(own)) {
            return null;
        }
        long self = ProcessHandle.current().pid();
        List<String> others = othersIn(own);
        if (!others.isEmpty()) {
            throw new IOException("cgroup v2: " + own + " holds " + others.size() + " other processes than the supervisor,"
                    + " so its boxes cannot be given controllers: run the supervisor as a systemd service with"
                    + " Delegate=yes, or start it in a cgroup of its own");
        }
        Path leaf = own.resolve(LEAF);
        try {
            Files.createDirectory(leaf);
        } catch (FileAlreadyExistsException e) {
            // A second supervisor in the same service, or one that was killed: a leaf is a leaf.
        }
        Posix.writeFile(leaf.resolve("cgroup.procs").toString(), Long.toString(self));
        return own;
    }

    /**
     * Removes the empty boxes a supervisor that is gone left in {@code parent} (one killed with
     * SIGKILL cannot remove its own): {@code box-PID-N} whose PID runs no process. rmdir(2) removes
     * only an empty cgroup, so a box something still runs in stays; failures are ignored.
     */
    private static void removeStale(Path parent) {
        try (Stream<Path> children = Files.list(parent)) {
            for (Path dir : children.toList()) {
                String[] name = dir.getFileName().toString().split("-");
                if (name.length == 3 && (name[0] + "-").equals(PREFIX) && name[1].matches("\\d{1,10}")
                        && ProcessHandle.of(Long.parseLong(name[1])).isEmpty()) {
                    try {
                        Files.delete(dir);
                    } catch (IOException e) {
                        // not empty, or not ours to remove: left as it is
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // not listable: nothing to clean
        }
    }

    /** A hierarchy's root cgroup (it alone has no cgroup.type): exempt from the no-internal-processes rule. */
    private static boolean isRoot(Path dir) {
        return !Files.exists(dir.resolve("cgroup.type"));
    }

    /** The processes in cgroup {@code dir} other than the supervisor. */
    private static List<String> othersIn(Path dir) throws IOException {
        long self = ProcessHandle.current().pid();
        return Files.readString(dir.resolve("cgroup.procs")).lines()
                .filter(line -> !line.isBlank() && Long.parseLong(line.trim()) != self).toList();
    }

    /** Moves the supervisor back from its leaf into {@code own} and removes the leaf (when it is empty). */
    private static void comeBack(Path own) throws IOException {
        if (own == null) {
            return;
        }
        Posix.writeFile(own.resolve("cgroup.procs").toString(), Long.toString(ProcessHandle.current().pid()));
        if (Files.readString(own.resolve(LEAF).resolve("cgroup.procs")).isBlank()) {
            Files.deleteIfExists(own.resolve(LEAF));
        }
    }

    /**
     * A new box with this supervisor's limits, empty. On any failure what was made of it is
     * removed before the exception (a box is whole or absent).
     */
    public Box create() throws IOException {
        for (int attempt = 0; ; attempt++) {
            String name = prefix + sequence.incrementAndGet();
            List<Box.Part> parts = new ArrayList<>();
            try {
                for (Place place : places) {
                    Path dir = place.parent().resolve(name);
                    Files.createDirectory(dir);
                    parts.add(new Box.Part(dir, place.use()));
                    limit(dir, place.use());
                }
            } catch (FileAlreadyExistsException e) {
                // A box of an earlier supervisor with our pid: leave it be, take the next name.
                removeQuietly(parts);
                if (attempt < 100) {
                    continue;
                }
                throw new IOException("cannot make a box: " + e.getFile() + " and 100 more names are taken", e);
            } catch (IOException | RuntimeException e) {
                removeQuietly(parts);
                throw new IOException("cannot make box " + name + ": " + e.getMessage(), e);
            }
            Box made = new Box(this, name, parts);
            this.made.add(made);
            return made;
        }
    }

    private void limit(Path dir, Use use) throws IOException {
        for (Controller c : use.limits()) {
            switch (c) {
                case MEMORY -> {
                    long bytes = limits.memoryMax().bytes();
                    if (use.v2()) {
                        write(dir, "memory.max", Long.toString(bytes));
                        // No swap beyond the limit: a box over it is OOM-killed rather than swapped out.
                        writeIfThere(dir, "memory.swap.max", "0");
                    } else {
                        write(dir, "memory.limit_in_bytes", Long.toString(bytes));
                        writeIfThere(dir, "memory.memsw.limit_in_bytes", Long.toString(bytes));
                    }
                }
                case PIDS -> write(dir, "pids.max", Integer.toString(limits.tasksMax().tasks()));
                case CPU -> {
                    CpuPercent cpu = limits.cpuMax();
                    if (use.v2()) {
                        write(dir, "cpu.max", cpu.quotaMicros() + " " + CpuPercent.PERIOD_MICROS);
                    } else {
                        write(dir, "cpu.cfs_period_us", Long.toString(CpuPercent.PERIOD_MICROS));
                        write(dir, "cpu.cfs_quota_us", Long.toString(cpu.quotaMicros()));
                    }
                }
                case CPUACCT -> {
                }
            }
        }
    }

    private static void write(Path dir, String file, String value) throws IOException {
        try {
            Posix.writeFile(dir.resolve(file).toString(), value);
        } catch (IOException e) {
            throw new IOException("cannot write " + value + " to " + dir.resolve(file) + ": " + Box.reason(e), e);
        }
    }

    private static void writeIfThere(Path dir, String file, String value) throws IOException {
        if (Files.exists(dir.resolve(file))) {
            write(dir, file, value);
        }
    }

    private static void removeQuietly(List<Box.Part> parts) {
        for (Box.Part part : parts) {
            try {
                Files.deleteIfExists(part.directory());
            } catch (IOException e) {
                // Just made and never given a process: rmdir cannot find it busy.
            }
        }
    }

    void forget(Box box) {
        made.remove(box);
    }

    /** The boxes made and not yet removed. */
    public int open() {
        return made.size();
    }

    public BoxLimits limits() {
        return limits;
    }

    public CgroupLayout layout() {
        return layout;
    }

    /** The start-up line: where boxes are made, with what, and the limits. */
    public String describe() {
        String line = layout.describe();
        line = limits.any() ? line + "; each holds " + limits : line;
        return places.stream().anyMatch(p -> p.use().weight())
                ? line + "; a spare's at a low CPU weight until it takes a connection" : line;
    }

    /**
     * Stops and removes every box still there, then, on cgroup v2, gives back what {@link #open}
     * took (the controllers it enabled, the leaf) when no other cgroup is left beside the leaf.
     * Throws, naming what it could not remove.
     */
    @Override
    public void close() throws IOException {
        List<String> left = new ArrayList<>();
        for (Box box : List.copyOf(made)) {
            box.close();
            if (!box.removed()) {
                left.add(box.name());
            }
        }
        if (movedFrom != null || !enabled.isEmpty()) {
            Path own = layout.unified().own();
            try (Stream<Path> children = Files.list(own)) {
                boolean alone = children.filter(Files::isDirectory).allMatch(dir -> dir.getFileName().toString().equals(LEAF));
                if (alone) {
                    if (!enabled.isEmpty()) {
                        Posix.writeFile(own.resolve("cgroup.subtree_control").toString(), enabled.replace('+', '-'));
                    }
                    // Another Boxes of this process may still have controllers there: then stay in the leaf.
                    if (Files.readString(own.resolve("cgroup.subtree_control")).isBlank()) {
                        comeBack(movedFrom);
                    }
                }
            } catch (IOException e) {
                left.add(own.resolve(LEAF) + " (" + Box.reason(e) + ")");
            }
        }
        if (!left.isEmpty()) {
            throw new IOException("cannot remove " + String.join(", ", left));
        }
    }

    @Override
    public String toString() {
        return describe();
    }
}
