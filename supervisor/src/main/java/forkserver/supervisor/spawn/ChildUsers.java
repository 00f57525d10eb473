package forkserver.supervisor.spawn;

import forkserver.supervisor.base.Failures.SpawnFailed;
import forkserver.supervisor.base.Reason;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * {@code --child-user-range FIRST-LAST}: a uid, and the gid of the same number, for each live
 * connection's child and each spare, from its start to the end of everything it started. Two
 * processes of different uids cannot signal each other, {@code ptrace} or {@code pidfd_getfd}
 * each other, or read each other's {@code /proc/PID/environ}; a child is then out of reach of its
 * siblings, of the spares waiting for the next client, and of the supervisor.
 *
 * <p>A uid is given back ({@link #release}) by the registry once its holder has exited and its
 * box is removed: a cgroup can be removed only once empty, so no process of the old holder can
 * still run as that uid. A holder without a box (connections unboxed: {@code --leftovers keep},
 * or a host without cgroups) is given back <em>unverified</em>: before it is handed out again,
 * {@code /proc} is read for a process that still has it as its real, effective, saved or file
 * system uid, and while one does it is passed over. The supervisor must then see every process
 * in {@code /proc}: root does; under a {@code hidepid} mount (systemd's {@code ProtectProc=}) only
 * with CAP_SYS_PTRACE, and without it no unverified uid is given again.
 *
 * <p>The uid is taken in the child, right before the command runs, by {@link #step} (setpriv from
 * util-linux): the JDK cannot start a process as another user. Uids are handed out in turn round
 * the range, so a uid just given back is the last to be given again.
 */
public final class ChildUsers {

    public static final String OPTION = "--child-user-range";
    /** Where Debian's util-linux installs it (an absolute path: PATH is the connection's to choose). */
    public static final String SETPRIV = "/usr/bin/setpriv";

    /** A range of uids (and gids) for children, both ends included. */
    public record Range(int first, int last) {

        public Range {
            if (first > last) {
                throw new IllegalArgumentException("FIRST " + first + " is above LAST " + last);
            }
            if (first <= 0) {
                throw new IllegalArgumentException("the range " + first + "-" + last + " includes uid 0 (root)");
            }
        }

        /** {@code FIRST-LAST}, each a uid above 0 (up to 2147483646). */
        public static Range parse(String text) {
            int dash = text.indexOf('-');
            if (dash <= 0 || dash == text.length() - 1) {
                throw new IllegalArgumentException("expected FIRST-LAST (e.g. 200000-200999), got '" + text + "'");
            }
            return new Range(id(text.substring(0, dash), text), id(text.substring(dash + 1), text));
        }

        private static int id(String number, String text) {
            try {
                int id = Integer.parseInt(number);
                if (id >= 0 && id < Integer.MAX_VALUE) {
                    return id;
                }
            } catch (NumberFormatException e) {
                // below
            }
            throw new IllegalArgumentException("expected FIRST-LAST, two uids from 0 to " + (Integer.MAX_VALUE - 1)
                    + ", got '" + text + "'");
        }

        public long size() {
            return (long) last - first + 1;
        }

        public boolean contains(long id) {
            return id >= first && id <= last;
        }

        @Override
        public String toString() {
            return first + "-" + last;
        }
    }

    private final Range range;
    // The uids of every process now (a reading of /proc), or null when that cannot be known.
    private final Supplier<Set<Integer>> running;
    // Uids held by a live child (or a box not yet removed); guarded by this.
    private final Set<Integer> held = new HashSet<>();
    // Uids given back by a holder without a box: /proc decides before they are given again; guarded by this.
    private final Set<Integer> unverified = new HashSet<>();
    private int next; // the next uid to try; guarded by this

    /**
     * How many unverified uids are kept before one reading of /proc clears those no process runs
     * as: in a large range the turn may take long to come back to them.
     */
    static final int UNVERIFIED_KEPT = 256;

    /** Uids from {@code range}; {@code /proc} tells which an unverified one still runs as. */
    public ChildUsers(Range range) {
        this(range, ChildUsers::runningUids);
    }

    /** As above, with {@code running} telling which uids processes have now (tests). */
    public ChildUsers(Range range, Supplier<Set<Integer>> running) {
        this.range = range;
        this.running = running;
        this.next = range.first();
    }

    public Range range() {
        return range;
    }

    /**
     * A uid no live child holds and no process runs as, for a child about to start.
     *
     * @throws SpawnFailed with {@link Reason#CHILD_USER_RANGE}'s name when every uid is held
     */
    public synchronized int take() throws SpawnFailed {
        Set<Integer> runningNow = null;
        boolean looked = false;
        if (unverified.size() >= UNVERIFIED_KEPT) {
            runningNow = running.get();
            looked = true;
            if (runningNow != null) {
                unverified.retainAll(runningNow);
            }
        }
        // Every free uid is found within held + unverified + 1 tries: the range may be far larger.
        long tries = Math.min(range.size(), (long) held.size() + unverified.size() + 1);
        for (long i = 0; i < tries; i++) {
            int uid = next;
            next = uid == range.last() ? range.first() : uid + 1;
            if (held.contains(uid)) {
                continue;
            }
            if (unverified.contains(uid)) {
                if (!looked) {
                    runningNow = running.get();
                    looked = true;
                }
                if (runningNow == null || runningNow.contains(uid)) {
                    continue; // a leftover of its last holder still runs as it (or may: /proc unreadable)
                }
                unverified.remove(uid);
            }
            held.add(uid);
            return uid;
        }
        throw new SpawnFailed(Reason.CHILD_USER_RANGE.text, "every uid of " + OPTION + " " + range
                + " is held by a child or by what one left running");
    }

    /**
     * {@code uid}'s holder is gone; {@code emptied}: so is everything it started (its box was
     * removed, or it never started). Otherwise the uid is given again only once no process runs
     * as it.
     */
    public synchronized void release(int uid, boolean emptied) {
        if (held.remove(uid) && !emptied) {
            unverified.add(uid);
        }
    }

    /** How many uids are held by live children now. */
    public synchronized int held() {
        return held.size();
    }

    /** How many uids are given back but not yet seen free in /proc. */
    synchronized int unverified() {
        return unverified.size();
    }

    /**
     * {@code command} run as {@code uid} (and gid {@code uid}, no supplementary groups, no
     * inheritable or ambient capabilities: after the change from a uid with capabilities to one
     * without, the kernel clears the rest): setpriv's words, then the command.
     */
    public static List<String> step(int uid, List<String> command) {
        List<String> words = new java.util.ArrayList<>(List.of(SETPRIV, "--reuid=" + uid, "--regid=" + uid,
                "--clear-groups", "--inh-caps=-all", "--"));
        words.addAll(command);
        return words;
    }

    /**
     * The real, effective, saved and file system uids of every process /proc shows now; null
     * without /proc, or when it hides other users' processes from this one.
     */
    static Set<Integer> runningUids() {
        if (!seesEveryProcess()) {
            return null;
        }
        Set<Integer> uids = new HashSet<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of("/proc"),
                entry -> entry.getFileName().toString().chars().allMatch(Character::isDigit))) {
            for (Path entry : entries) {
                addUids(entry.resolve("status"), uids);
            }
        } catch (IOException e) {
            return null; // nothing can be verified, so no unverified uid is given again
        }
        return uids;
    }

    /** CAP_SYS_PTRACE: what lets a process see others' entries in a /proc mounted with hidepid. */
    private static final int CAP_SYS_PTRACE = 19;

    /** Whether /proc shows this process every other: mounted without hidepid or subset=pid, or CAP_SYS_PTRACE. */
    private static boolean seesEveryProcess() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] fields = line.split(" ");
                if (fields.length > 4 && fields[4].equals("/proc") && line.contains(" - proc ")
                        && (line.contains("hidepid=") && !line.contains("hidepid=0") && !line.contains("hidepid=off")
                        || line.contains("subset=pid"))) {
                    return (effectiveCapabilities() & (1L << CAP_SYS_PTRACE)) != 0;
                }
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** This process's effective capabilities ({@code CapEff} of /proc/self/status); 0 when it cannot say. */
    public static long effectiveCapabilities() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("CapEff:")) {
                    return Long.parseUnsignedLong(line.substring(7).trim(), 16);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // none known
        }
        return 0;
    }

    /** The four ids of the {@code Uid:} line of a {@code /proc/PID/status}; nothing if it exited meanwhile. */
    private static void addUids(Path status, Set<Integer> into) {
        try (InputStream in = Files.newInputStream(status)) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.US_ASCII).split("\n")) {
                if (line.startsWith("Uid:")) {
                    for (String id : line.substring(4).trim().split("\\s+")) {
                        into.add((int) Long.parseLong(id));
                    }
                    return;
                }
            }
        } catch (IOException | RuntimeException e) {
            // exited while we looked
        }
    }
}
