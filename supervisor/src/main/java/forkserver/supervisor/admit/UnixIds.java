package forkserver.supervisor.admit;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.supervisor.base.UnixPeer;

import java.net.InetAddress;

/**
 * UNIX-domain clients by effective user ({@code uid:1000}, {@code uid:app}) or group
 * ({@code gid:33}, {@code gid:www-data}) as {@code SO_PEERCRED} reports them: a name is looked
 * up once, when the rule is read.
 *
 * @param group whether {@code id} is a group's (else a user's)
 * @param id    the numeric id
 * @param text  as the rule wrote it, for the log
 */
public record UnixIds(boolean group, long id, String text) implements Clients {

    static final String UID = "uid:";
    static final String GID = "gid:";

    static UnixIds parse(String text) {
        boolean group = text.startsWith(GID);
        String value = text.substring(UID.length());
        String kind = group ? "group" : "user";
        if (value.isEmpty()) {
            throw new BadRule("expected a " + kind + " after '" + text + "' (" + (group ? "gid:33" : "uid:1000") + ")",
                    "expected a " + kind + "'s id or name after " + (group ? GID : UID));
        }
        if (value.chars().allMatch(Character::isDigit)) {
            long id;
            try {
                id = Long.parseLong(value);
            } catch (NumberFormatException e) {
                id = -1;
            }
            if (id < 0 || id > 0xffff_fffeL) {
                throw new BadRule("not a " + kind + " id: '" + text + "'", "expected a " + kind + " id");
            }
            return new UnixIds(group, id, text);
        }
        long id;
        try {
            if (group) {
                id = Posix.groupId(value);
            } else {
                int[] ids = Posix.userIds(value);
                id = ids == null ? -1 : Integer.toUnsignedLong(ids[0]);
            }
        } catch (ErrnoException e) {
            id = -1;
        }
        if (id < 0) {
            throw new BadRule("no such " + kind + ": '" + value + "'", "expected a " + kind + " that exists");
        }
        return new UnixIds(group, id, text);
    }

    @Override
    public boolean contains(InetAddress address) {
        return false;
    }

    @Override
    public boolean contains(UnixPeer peer) {
        return (group ? peer.gid() : peer.uid()) == id;
    }

    @Override
    public String toString() {
        return text;
    }
}
