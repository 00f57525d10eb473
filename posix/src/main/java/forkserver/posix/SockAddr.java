package forkserver.posix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * {@code struct sockaddr_in} and {@code struct sockaddr_in6} to and from
 * {@link InetSocketAddress}.
 *
 * <pre>
 * sockaddr_in:  u16 family | u16 port (big-endian) | u8[4] address  | u8[8] zero           (16 bytes)
 * sockaddr_in6: u16 family | u16 port (big-endian) | u32 flowinfo   | u8[16] address | u32 scope (28)
 * sockaddr_un:  u16 family | char[108] path (NUL-ended; abstract: a NUL, then the name, no end)
 * </pre>
 */
final class SockAddr {

    /** {@code sizeof(struct sockaddr_storage)}. */
    static final long STORAGE_SIZE = 128;

    private static final ValueLayout.OfShort PORT = JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN);

    private SockAddr() {
    }

    /** {@code sizeof(sun_path)} in {@code struct sockaddr_un}. */
    static final int UNIX_PATH_MAX = 108;

    /**
     * A {@code struct sockaddr_un} for {@code address}: a path, or {@code @name} for Linux's abstract
     * namespace, where the name follows a NUL byte in place of the {@code @} and the length (not a
     * terminating NUL) says where it ends: as systemd writes {@code NOTIFY_SOCKET} and reads it
     * (sd_notify(3)).
     */
    static MemorySegment unix(Arena arena, String address) {
        byte[] name = address.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        boolean abstractName = name.length > 0 && name[0] == '@';
        if (name.length == 0 || name.length >= UNIX_PATH_MAX) {
            throw new IllegalArgumentException("not a usable AF_UNIX address (1 to " + (UNIX_PATH_MAX - 1)
                    + " bytes): '" + address + "'");
        }
        // family + the name; a path also gets its NUL (the segment is zeroed), an abstract name not.
        MemorySegment sockaddr = arena.allocate(2 + name.length + (abstractName ? 0 : 1), 2);
        sockaddr.set(JAVA_SHORT, 0, (short) Posix.AF_UNIX);
        MemorySegment.copy(name, 0, sockaddr, JAVA_BYTE, 2, name.length);
        if (abstractName) {
            sockaddr.set(JAVA_BYTE, 2, (byte) 0);
        }
        return sockaddr;
    }

    /**
     * A {@code struct sockaddr_un} of {@code length} bytes as {@link #unix} takes it: the path,
     * {@code @name} for the abstract namespace, or the empty string when unnamed.
     */
    static String unixName(MemorySegment sockaddr, int length) {
        int family = sockaddr.get(JAVA_SHORT, 0);
        if (family != Posix.AF_UNIX) {
            throw new IllegalArgumentException("not an AF_UNIX socket address (family " + family + ")");
        }
        if (length <= 2) {
            return "";
        }
        byte[] name = sockaddr.asSlice(2, length - 2).toArray(JAVA_BYTE);
        if (name[0] == 0) {
            return "@" + new String(name, 1, name.length - 1, java.nio.charset.StandardCharsets.UTF_8);
        }
        int end = 0;
        while (end < name.length && name[end] != 0) {
            end++;
        }
        return new String(name, 0, end, java.nio.charset.StandardCharsets.UTF_8);
    }

    static MemorySegment encode(Arena arena, InetSocketAddress address) {
        InetAddress ip = address.getAddress();
        if (ip instanceof Inet4Address) {
            MemorySegment sockaddr = arena.allocate(16, 4);
            sockaddr.set(JAVA_SHORT, 0, (short) Posix.AF_INET);
            sockaddr.set(PORT, 2, (short) address.getPort());
            MemorySegment.copy(ip.getAddress(), 0, sockaddr, JAVA_BYTE, 4, 4);
            return sockaddr;
        }
        MemorySegment sockaddr = arena.allocate(28, 4);
        sockaddr.set(JAVA_SHORT, 0, (short) Posix.AF_INET6);
        sockaddr.set(PORT, 2, (short) address.getPort());
        MemorySegment.copy(ip.getAddress(), 0, sockaddr, JAVA_BYTE, 8, 16);
        sockaddr.set(JAVA_INT, 24, ((Inet6Address) ip).getScopeId());
        return sockaddr;
    }

    /**
     * Decodes an IPv4 or IPv6 address. An IPv4-mapped IPv6 address ({@code ::ffff:a.b.c.d}, what a
     * dual-stack socket reports for an IPv4 client) comes back as the plain IPv4 address.
     */
    static InetSocketAddress decode(MemorySegment sockaddr, int length) {
        int family = sockaddr.get(JAVA_SHORT, 0);
        int port = Short.toUnsignedInt(sockaddr.get(PORT, 2));
        byte[] ip;
        if (family == Posix.AF_INET && length >= 8) {
            ip = sockaddr.asSlice(4, 4).toArray(JAVA_BYTE);
        } else if (family == Posix.AF_INET6 && length >= 24) {
            ip = sockaddr.asSlice(8, 16).toArray(JAVA_BYTE);
        } else {
            throw new IllegalArgumentException("not an IP socket address (family " + family + ")");
        }
        try {
            // getByAddress turns IPv4-mapped IPv6 bytes into an Inet4Address by itself.
            return new InetSocketAddress(InetAddress.getByAddress(ip), port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e); // only thrown for a wrong length
        }
    }
}
