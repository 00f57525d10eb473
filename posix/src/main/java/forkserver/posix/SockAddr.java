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
 * </pre>
 */
final class SockAddr {

    /** {@code sizeof(struct sockaddr_storage)}. */
    static final long STORAGE_SIZE = 128;

    private static final ValueLayout.OfShort PORT = JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN);

    private SockAddr() {
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
