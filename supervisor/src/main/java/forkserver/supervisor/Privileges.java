package forkserver.supervisor;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;

import java.util.List;
import java.util.Map;

/**
 * {@code --user NAME} and {@code --group NAME}: the unprivileged identity the supervisor takes
 * after binding (so that it can bind a port below 1024 as root), for itself and so for every
 * child. Names are looked up at start-up, before anything is bound, so a typo is a usage error.
 *
 * @param user  the user's name, or null to keep the user
 * @param uid   the user's id, or -1
 * @param group the group's name, or null
 * @param gid   the group's id (with only --user, the user's primary group), or -1
 */
record Privileges(String user, int uid, String group, int gid) {

    /** Resolves the names; null for both means nothing to drop. */
    static Privileges resolve(String user, String group) {
        if (user == null && group == null) {
            return null;
        }
        if (user == null && Posix.effectiveIds()[0] == 0) {
            // setgid alone would leave the supervisor, and every child, running as root.
            throw new IllegalArgumentException("--group " + group + " without --user would leave the supervisor and its"
                    + " children running as root: give --user too");
        }
        int uid = -1;
        int gid = -1;
        try {
            if (user != null) {
                int[] ids = Posix.userIds(user);
                if (ids == null) {
                    throw new IllegalArgumentException("--user: no such user '" + user + "'");
                }
                uid = ids[0];
                gid = ids[1];
            }
            if (group != null) {
                gid = Posix.groupId(group);
                if (gid < 0) {
                    throw new IllegalArgumentException("--group: no such group '" + group + "'");
                }
            }
        } catch (ErrnoException e) {
            throw new IllegalArgumentException("looking up --user/--group: " + e.getMessage());
        }
        return new Privileges(user, uid, group, gid);
    }

    /** What a supervisor needs to start children as other users (setpriv in the child) and to stop them. */
    static final Map<String, Integer> CHILD_USER_CAPABILITIES = Map.of("CAP_KILL", 5, "CAP_SETGID", 6, "CAP_SETUID", 7);

    /**
     * Which of {@code capabilities} (name to number) this process lacks in its effective set,
     * sorted by name; all of them when /proc/self/status cannot say.
     */
    static List<String> missingCapabilities(Map<String, Integer> capabilities) {
        long have = forkserver.supervisor.spawn.ChildUsers.effectiveCapabilities();
        return capabilities.entrySet().stream().filter(e -> (have & (1L << e.getValue())) == 0)
                .map(Map.Entry::getKey).sorted().toList();
    }

    /**
     * Drops to these ids (supplementary groups, then group, then user) and checks that they
     * took.
     *
     * @throws ErrnoException when the system refuses (not root, or no CAP_SETUID/CAP_SETGID)
     */
    /** Whether this process runs as the user and group already (an upgrade's successor, started by one that dropped them). */
    boolean held() {
        int[] now = Posix.effectiveIds();
        return now[0] != 0 && (uid < 0 || now[0] == uid) && (gid < 0 || now[1] == gid);
    }

    void drop() throws ErrnoException {
        Posix.dropPrivileges(uid, gid);
        int[] now = Posix.effectiveIds();
        if ((uid >= 0 && now[0] != uid) || (gid >= 0 && now[1] != gid)) {
            throw new IllegalStateException("still uid " + now[0] + " gid " + now[1] + " after dropping privileges");
        }
    }
}
