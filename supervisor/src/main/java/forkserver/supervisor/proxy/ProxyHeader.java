package forkserver.supervisor.proxy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * The PROXY protocol header, versions 1 (a text line) and 2 (binary), as HAProxy's
 * specification defines them ({@code doc/proxy-protocol.txt}): the first bytes a trusted proxy
 * sends on each connection, saying who the real client is and which address it dialled.
 *
 * <p>A pure function of the bytes a connection has delivered so far, so that the caller can
 * read them as they come: {@link #parse} answers {@link NeedMore} (every byte given so far is
 * part of a header that has not ended yet: safe to consume), {@link Complete} (the header is the
 * first {@link Complete#length()} bytes; whatever follows belongs to the child) or
 * {@link Invalid} (with a reason for the log). It never reads past {@link #MAX_LENGTH} bytes
 * and never throws for any input.
 *
 * <p>Strict, as the specification asks ("any sequence which does not exactly match the protocol
 * must be discarded"): v1 is exactly one space between fields, no leading zeros, a CRLF within
 * 107 bytes, nothing but printable US-ASCII; v2 has the 12-byte signature, version 2, command
 * LOCAL or PROXY, a defined family and transport, an address block as long as its family needs,
 * well-formed TLVs, and a correct CRC32C when it carries one. Other TLVs are skipped.
 */
final class ProxyHeader {

    /** The longest v1 line, CRLF included (the specification's worst case, {@code UNKNOWN} with two IPv6 addresses). */
    static final int V1_MAX_LENGTH = 107;
    /**
     * The longest v2 header accepted, the fixed 16 bytes included. The specification lets the
     * length field say up to 65,535 but designs headers to fit a 536-byte segment; HAProxy's,
     * with every TLV it can send (unique id, authority, ALPN, TLS facts), stay well under 1 KiB.
     */
    static final int V2_MAX_LENGTH = 2048;
    /** No header is longer: what a reader must be able to hold. */
    static final int MAX_LENGTH = Math.max(V1_MAX_LENGTH, V2_MAX_LENGTH);

    private static final byte[] V1_SIGNATURE = "PROXY ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    private static final int V2_FIXED = 16;
    private static final int FAMILY_UNSPEC = 0;
    private static final int FAMILY_INET = 1;
    private static final int FAMILY_INET6 = 2;
    private static final int TRANSPORT_UNSPEC = 0;
    private static final int TRANSPORT_STREAM = 1;
    /** Address block length by family (UNSPEC, INET, INET6, UNIX), when the transport is given. */
    private static final int[] ADDRESS_BYTES = {0, 12, 36, 216};
    private static final int TLV_CRC32C = 0x03;

    /** What the header asks of the receiver. */
    enum Command {
        /** A relayed connection: use the header's addresses. */
        PROXY,
        /** v2 LOCAL: the proxy's own connection (a health check); no client behind it. */
        LOCAL,
        /** v1 UNKNOWN, or v2 PROXY for a family or transport not carried over TCP: use the connection's own addresses. */
        UNKNOWN
    }

    /** {@link #parse}'s answer. */
    sealed interface Result {
    }

    /** Every byte so far belongs to a header that has not ended: wait for more. */
    record NeedMore() implements Result {
    }

    /**
     * A whole, valid header: its first {@code length} bytes. {@code source} (the client) and
     * {@code destination} (the address it dialled) are given for {@link Command#PROXY} only.
     */
    record Complete(int length, int version, Command command, InetSocketAddress source, InetSocketAddress destination)
            implements Result {
    }

    /** Not a valid header; {@code reason} names what is wrong, for the log. */
    record Invalid(String reason) implements Result {
    }

    private static final NeedMore NEED_MORE = new NeedMore();

    private ProxyHeader() {
    }

    /** Parses the first {@code length} bytes of {@code bytes}: what a connection delivered so far. */
    static Result parse(byte[] bytes, int length) {
        if (length < 0 || length > bytes.length) {
            throw new IllegalArgumentException("length " + length + " of a " + bytes.length + "-byte buffer");
        }
        if (length == 0) {
            return NEED_MORE;
        }
        if (bytes[0] == V2_SIGNATURE[0]) {
            return v2(bytes, length);
        }
        if (bytes[0] == V1_SIGNATURE[0]) {
            return v1(bytes, length);
        }
        return new Invalid("not a PROXY header (first byte 0x" + hex(bytes[0]) + ")");
    }

    // ---- version 1: "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n"

    private static Result v1(byte[] bytes, int length) {
        int prefix = Math.min(length, V1_SIGNATURE.length);
        if (!Arrays.equals(bytes, 0, prefix, V1_SIGNATURE, 0, prefix)) {
            return new Invalid("bad v1 signature (expected 'PROXY ')");
        }
        int limit = Math.min(length, V1_MAX_LENGTH);
        for (int i = 0; i < limit; i++) {
            byte b = bytes[i];
            if (b == '\r') {
                if (i + 2 > V1_MAX_LENGTH) {
                    return new Invalid("v1 line longer than " + V1_MAX_LENGTH + " bytes");
                }
                if (i + 1 == length) {
                    return NEED_MORE; // the LF has not come yet
                }
                if (bytes[i + 1] != '\n') {
                    return new Invalid("v1 line ends with CR without LF");
                }
                return v1Line(new String(bytes, 0, i, StandardCharsets.US_ASCII), i + 2);
            }
            if (b == '\n') {
                return new Invalid("v1 line ends with LF without CR");
            }
            if (b < 0x20 || b > 0x7e) {
                return new Invalid("v1 line has a byte that is not printable US-ASCII (0x" + hex(b) + ")");
            }
        }
        return length >= V1_MAX_LENGTH ? new Invalid("v1 line has no CRLF within " + V1_MAX_LENGTH + " bytes") : NEED_MORE;
    }

    /** {@code line}: the header without its CRLF, whose {@code length} is the CRLF's end. */
    private static Result v1Line(String line, int length) {
        String[] fields = line.split(" ", -1); // -1: two spaces in a row make an empty field, not one separator
        String protocol = fields[1];
        if (protocol.equals("UNKNOWN")) {
            // "the receiver must ignore anything presented before the CRLF is found"
            return new Complete(length, 1, Command.UNKNOWN, null, null);
        }
        if (!protocol.equals("TCP4") && !protocol.equals("TCP6")) {
            return new Invalid("v1 protocol '" + protocol + "' is none of TCP4, TCP6, UNKNOWN");
        }
        if (fields.length != 6) {
            return new Invalid("v1 " + protocol + " line has " + (fields.length - 2) + " fields after the protocol, not 4");
        }
        boolean ipv6 = protocol.equals("TCP6");
        InetAddress source = v1Address(fields[2], ipv6);
        InetAddress destination = v1Address(fields[3], ipv6);
        if (source == null || destination == null) {
            return new Invalid("v1 " + protocol + " address '" + (source == null ? fields[2] : fields[3]) + "' is not "
                    + (ipv6 ? "an IPv6" : "an IPv4") + " address");
        }
        int sourcePort = v1Port(fields[4]);
        int destinationPort = v1Port(fields[5]);
        if (sourcePort < 0 || destinationPort < 0) {
            return new Invalid("v1 port '" + (sourcePort < 0 ? fields[4] : fields[5]) + "' is not a number from 0 to 65535");
        }
        return new Complete(length, 1, Command.PROXY, new InetSocketAddress(source, sourcePort),
                new InetSocketAddress(destination, destinationPort));
    }

    /**
     * A v1 address, or null: IPv4 as exactly four decimal numbers 0 to 255 without leading
     * zeros; IPv6 as hexadecimal groups and colons (a dotted IPv4 tail allowed: HAProxy writes an
     * IPv4 client of an IPv6 connection as {@code ::ffff:192.0.2.1}), which then reads as IPv4.
     */
    private static InetAddress v1Address(String text, boolean ipv6) {
        if (!ipv6) {
            String[] parts = text.split("\\.", -1);
            if (parts.length != 4) {
                return null;
            }
            byte[] address = new byte[4];
            for (int i = 0; i < 4; i++) {
                int value = decimal(parts[i], 255);
                if (value < 0) {
                    return null;
                }
                address[i] = (byte) value;
            }
            return byAddress(address);
        }
        if (text.isEmpty() || text.indexOf(':') < 0
                || !text.chars().allMatch(c -> c == ':' || c == '.' || Character.digit(c, 16) >= 0 && c < 0x80)) {
            return null; // no brackets, zone ids or names: InetAddress.ofLiteral alone would take "%eth0"
        }
        try {
            // ofLiteral never asks DNS; it returns an IPv4-mapped address as its Inet4Address.
            return InetAddress.ofLiteral(text);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static int v1Port(String text) {
        return decimal(text, 65535);
    }

    /** A decimal number from 0 to {@code max} without leading zeros, or -1. */
    private static int decimal(String text, int max) {
        if (text.isEmpty() || text.length() > 5 || (text.length() > 1 && text.charAt(0) == '0')) {
            return -1;
        }
        int value = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return value <= max ? value : -1;
    }

    // ---- version 2: 12-byte signature | version/command | family/transport | u16 length | addresses | TLVs

    private static Result v2(byte[] bytes, int length) {
        int prefix = Math.min(length, V2_SIGNATURE.length);
        if (!Arrays.equals(bytes, 0, prefix, V2_SIGNATURE, 0, prefix)) {
            return new Invalid("bad v2 signature");
        }
        // Checked as soon as they arrive: a bad byte 13 or 14 is refused without waiting for more.
        if (length > 12) {
            int version = (bytes[12] & 0xf0) >> 4;
            int command = bytes[12] & 0x0f;
            if (version != 2) {
                return new Invalid("v2 version " + version + ", not 2");
            }
            if (command > 1) {
                return new Invalid("v2 command " + command + " is neither LOCAL (0) nor PROXY (1)");
            }
        }
        if (length > 13) {
            int family = (bytes[13] & 0xf0) >> 4;
            int transport = bytes[13] & 0x0f;
            if (family > 3) {
                return new Invalid("v2 address family " + family + " is none of UNSPEC, INET, INET6, UNIX");
            }
            if (transport > 2) {
                return new Invalid("v2 transport " + transport + " is none of UNSPEC, STREAM, DGRAM");
            }
        }
        if (length < V2_FIXED) {
            return NEED_MORE;
        }
        int total = V2_FIXED + unsigned16(bytes, 14);
        if (total > V2_MAX_LENGTH) {
            return new Invalid("v2 header of " + total + " bytes, more than the " + V2_MAX_LENGTH + " accepted");
        }
        if (length < total) {
            return NEED_MORE;
        }
        boolean local = (bytes[12] & 0x0f) == 0;
        int family = (bytes[13] & 0xf0) >> 4;
        int transport = bytes[13] & 0x0f;
        int addressBytes = transport == TRANSPORT_UNSPEC ? 0 : ADDRESS_BYTES[family];
        if (total - V2_FIXED < addressBytes) {
            return new Invalid("v2 address block of " + (total - V2_FIXED) + " bytes, its family needs " + addressBytes);
        }
        String tlvProblem = checkTlvs(bytes, V2_FIXED + addressBytes, total);
        if (tlvProblem != null) {
            return new Invalid(tlvProblem);
        }
        if (local) {
            return new Complete(total, 2, Command.LOCAL, null, null); // "discard the protocol block including the family"
        }
        if (transport != TRANSPORT_STREAM || (family != FAMILY_INET && family != FAMILY_INET6)) {
            // UNSPEC, UDP or UNIX: "falls back to the UNSPEC mode", the connection's own addresses.
            return new Complete(total, 2, Command.UNKNOWN, null, null);
        }
        int size = family == FAMILY_INET ? 4 : 16;
        int at = V2_FIXED;
        InetAddress source = byAddress(Arrays.copyOfRange(bytes, at, at + size));
        InetAddress destination = byAddress(Arrays.copyOfRange(bytes, at + size, at + 2 * size));
        int sourcePort = unsigned16(bytes, at + 2 * size);
        int destinationPort = unsigned16(bytes, at + 2 * size + 2);
        return new Complete(total, 2, Command.PROXY, new InetSocketAddress(source, sourcePort),
                new InetSocketAddress(destination, destinationPort));
    }

    /**
     * Walks the TLVs between {@code from} and {@code total}: each must fit whole, and a CRC32C
     * one must hold the checksum of the whole header (computed with its own 4 bytes zeroed).
     * Returns what is wrong, or null.
     */
    private static String checkTlvs(byte[] bytes, int from, int total) {
        int at = from;
        while (at < total) {
            if (at + 3 > total) {
                return "v2 TLV cut short: " + (total - at) + " bytes where a type and length need 3";
            }
            int type = bytes[at] & 0xff;
            int valueLength = unsigned16(bytes, at + 1);
            int value = at + 3;
            if (value + valueLength > total) {
                return "v2 TLV 0x" + hex((byte) type) + " of " + valueLength + " bytes runs past the header's end";
            }
            if (type == TLV_CRC32C) {
                if (valueLength != 4) {
                    return "v2 CRC32C TLV of " + valueLength + " bytes, not 4";
                }
                long sent = ((long) unsigned16(bytes, value) << 16) | unsigned16(bytes, value + 2);
                byte[] zeroed = Arrays.copyOf(bytes, total);
                Arrays.fill(zeroed, value, value + 4, (byte) 0);
                CRC32C crc = new CRC32C();
                crc.update(zeroed, 0, total);
                if (crc.getValue() != sent) {
                    return "v2 CRC32C mismatch";
                }
            }
            at = value + valueLength;
        }
        return null;
    }

    private static int unsigned16(byte[] bytes, int at) {
        return ((bytes[at] & 0xff) << 8) | (bytes[at + 1] & 0xff);
    }

    /** 4 or 16 bytes as an address; IPv4-mapped IPv6 comes back as IPv4, as the listener decodes it. */
    private static InetAddress byAddress(byte[] address) {
        try {
            return InetAddress.getByAddress(address);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // only for a wrong length
        }
    }

    private static String hex(byte b) {
        return String.format("%02x", b & 0xff);
    }
}
