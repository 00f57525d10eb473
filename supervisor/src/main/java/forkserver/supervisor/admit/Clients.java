package forkserver.supervisor.admit;

import forkserver.supervisor.base.UnixPeer;

import java.net.InetAddress;

/**
 * Whom a rule is about: TCP clients by address ({@link Cidr}), or UNIX-domain clients by the user
 * or group the kernel says they run as ({@link UnixIds}). A rule of one kind never matches a
 * client of the other.
 */
public sealed interface Clients permits Cidr, UnixIds {

    /** Whether a TCP client at {@code address} is one of them. */
    boolean contains(InetAddress address);

    /** Whether a UNIX-domain client {@code peer} is one of them. */
    boolean contains(UnixPeer peer);

    /** A rule's first word: {@code uid:N}, {@code gid:N} (or a user's or group's name), else an address or block. */
    static Clients parse(String text) {
        return text.startsWith(UnixIds.UID) || text.startsWith(UnixIds.GID) ? UnixIds.parse(text) : Cidr.parse(text);
    }
}
