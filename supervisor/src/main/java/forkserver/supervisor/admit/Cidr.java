package forkserver.supervisor.admit;


import forkserver.supervisor.base.HostPort;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.regex.Pattern;

/**
 * An address block as rules write it: {@code 10.0.0.0/8}, {@code 2001:db8::/32}, or a single
 * address ({@code 127.0.0.1}, {@code ::1}).
 *
 * <p>An IPv4-mapped IPv6 block ({@code ::ffff:10.0.0.0/104}) is stored as the IPv4 block it
 * means, and clients of a dual-stack socket are decoded as plain IPv4, so an IPv4 client matches
 * its IPv4 rules however it reached us.
 *
 * @param network the block's first address (host bits zero)
 * @param prefix  how many leading bits must match
 */
public record Cidr(InetAddress network, int prefix) implements Clients {

    // Only literals: InetAddress.ofLiteral never asks DNS, and a full dotted quad is required so
    // that "10" or "10.1" (which C's inet_aton would take) is not silently some other address.
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    /** Parses a block; the message of the exception fits a one-line usage error. */
    public static Cidr parse(String text) {
        int slash = text.indexOf('/');
        String ipText = slash < 0 ? text : text.substring(0, slash);
        boolean ipv6Text = ipText.contains(":");
        if (!ipv6Text && !IPV4.matcher(ipText).matches()) {
            throw new BadRule("expected an address or block such as 10.0.0.0/8 or 2001:db8::/32, got '" + text + "'",
                    "expected an address or block such as 10.0.0.0/8 or 2001:db8::/32");
        }
        InetAddress ip;
        try {
            ip = InetAddress.ofLiteral(ipText);
        } catch (IllegalArgumentException e) {
            throw new BadRule("not an IP address: '" + ipText + "'", "expected an IP address");
        }
        // ofLiteral returns an IPv4-mapped IPv6 literal as its Inet4Address; its prefix counts
        // the 96 bits of ::ffff: in front.
        int mappedBits = ipv6Text && ip instanceof Inet4Address ? 96 : 0;
        int bits = ip.getAddress().length * 8 + mappedBits;
        int prefix = bits;
        if (slash >= 0) {
            String prefixText = text.substring(slash + 1);
            try {
                prefix = Integer.parseInt(prefixText);
            } catch (NumberFormatException e) {
                prefix = -1;
            }
            if (prefix < mappedBits || prefix > bits) {
                throw new BadRule("prefix length of '" + text + "' must be from " + mappedBits + " to " + bits + ", got '"
                        + prefixText + "'", "expected a prefix length from " + mappedBits + " to " + bits);
            }
        }
        Cidr cidr = new Cidr(ip, prefix - mappedBits);
        if (!masked(ip, cidr.prefix).equals(ip)) {
            throw new BadRule("'" + text + "' has host bits set; the block is " + HostPort.ip(masked(ip, cidr.prefix)) + "/"
                    + prefix, "expected a block without host bits set");
        }
        return cidr;
    }

    /** A UNIX-domain client has no address: never in a block. */
    @Override
    public boolean contains(forkserver.supervisor.base.UnixPeer peer) {
        return false;
    }

    /** True when {@code address} is in this block (an IPv4 address never is in an IPv6 block). */
    @Override
    public boolean contains(InetAddress address) {
        byte[] mine = network.getAddress();
        byte[] theirs = address.getAddress();
        if (mine.length != theirs.length) {
            return false;
        }
        return masked(address, prefix).equals(network);
    }

    /** {@code address} with every bit after the first {@code prefix} cleared. */
    public static InetAddress masked(InetAddress address, int prefix) {
        byte[] bytes = address.getAddress();
        for (int i = 0; i < bytes.length; i++) {
            int keep = Math.clamp(prefix - 8L * i, 0, 8);
            bytes[i] &= (byte) (0xff00 >> keep);
        }
        try {
            return InetAddress.getByAddress(bytes);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e); // only for a wrong length
        }
    }

    @Override
    public String toString() {
        return HostPort.ip(network) + "/" + prefix;
    }
}
