package forkserver.supervisor.base;

/**
 * The client of a UNIX-domain connection, as the kernel recorded it when it connected
 * ({@code SO_PEERCRED}): its process, effective user and group; and the socket it dialled
 * ({@code path}: a file's path, or {@code @name} in the abstract namespace). What rules and
 * {@code -C} see of it, and what its child reads in {@code IPCREMOTEEUID} and its kin.
 */
public record UnixPeer(long pid, long uid, long gid, String path) {

    /** As the log writes it, and as rules and the status line name its source: {@code uid:1000,gid:1000,pid:42}. */
    public String text() {
        return "uid:" + uid + ",gid:" + gid + ",pid:" + pid;
    }
}
