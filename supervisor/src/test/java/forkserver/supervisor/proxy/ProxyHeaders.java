package forkserver.supervisor.proxy;

import forkserver.supervisor.base.HostPort;

import java.io.ByteArrayOutputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * PROXY headers as a proxy writes them, for tests: v1 lines and v2 blocks, built from the
 * specification (not from {@link ProxyHeader}), so that the parser is checked against an
 * independent writer. Also what raw test clients send to a supervisor.
 */
public final class ProxyHeaders {

    public static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    public static final int LOCAL = 0x20;
    public static final int PROXY = 0x21;
    public static final int TCP4 = 0x11;
    public static final int TCP6 = 0x21;
    public static final int UNSPEC = 0x00;

    private ProxyHeaders() {
    }

    /** {@code PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n}, the family chosen by the source's. */
    public static byte[] v1(InetSocketAddress source, InetSocketAddress destination) {
        String family = source.getAddress() instanceof Inet4Address ? "TCP4" : "TCP6";
        return ascii("PROXY " + family + " " + HostPort.ip(source.getAddress()) + " " + HostPort.ip(destination.getAddress())
                + " " + source.getPort() + " " + destination.getPort() + "\r\n");
    }

    public static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    /** A v2 PROXY header for TCP over the source's family, with {@code tlvs} (already encoded) after the addresses. */
    public static byte[] v2(InetSocketAddress source, InetSocketAddress destination, byte[]... tlvs) {
        return v2Tcp(!(source.getAddress() instanceof Inet4Address), source, destination, tlvs);
    }

    /** A v2 PROXY header for TCP over IPv6 or IPv4; IPv4 addresses in an IPv6 header are written IPv4-mapped. */
    public static byte[] v2Tcp(boolean ipv6, InetSocketAddress source, InetSocketAddress destination, byte[]... tlvs) {
        boolean ipv4 = !ipv6;
        ByteArrayOutputStream addresses = new ByteArrayOutputStream();
        addresses.writeBytes(raw(source.getAddress(), ipv4));
        addresses.writeBytes(raw(destination.getAddress(), ipv4));
        addresses.writeBytes(u16(source.getPort()));
        addresses.writeBytes(u16(destination.getPort()));
        for (byte[] tlv : tlvs) {
            addresses.writeBytes(tlv);
        }
        return v2(PROXY, ipv4 ? TCP4 : TCP6, addresses.toByteArray());
    }

    /** A v2 header with the given version/command and family/transport bytes and body (addresses and TLVs). */
    public static byte[] v2(int versionCommand, int familyTransport, byte[] body) {
        ByteArrayOutputStream header = new ByteArrayOutputStream();
        header.writeBytes(V2_SIGNATURE);
        header.write(versionCommand);
        header.write(familyTransport);
        header.writeBytes(u16(body.length));
        header.writeBytes(body);
        return header.toByteArray();
    }

    /** HAProxy's health check: LOCAL, UNSPEC, no address. */
    public static byte[] v2Local() {
        return v2(LOCAL, UNSPEC, new byte[0]);
    }

    public static byte[] tlv(int type, byte[] value) {
        byte[] tlv = new byte[3 + value.length];
        tlv[0] = (byte) type;
        tlv[1] = (byte) (value.length >> 8);
        tlv[2] = (byte) value.length;
        System.arraycopy(value, 0, tlv, 3, value.length);
        return tlv;
    }

    /** {@code header} (ending with an all-zero CRC32C TLV value) with its checksum filled in. */
    public static byte[] withCrc32c(byte[] header) {
        CRC32C crc = new CRC32C();
        crc.update(header);
        long sum = crc.getValue();
        byte[] filled = Arrays.copyOf(header, header.length);
        for (int i = 0; i < 4; i++) {
            filled[header.length - 4 + i] = (byte) (sum >> (24 - 8 * i));
        }
        return filled;
    }

    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            all.writeBytes(part);
        }
        return all.toByteArray();
    }

    public static InetSocketAddress address(String ip, int port) {
        return new InetSocketAddress(InetAddress.ofLiteral(ip), port);
    }

    private static byte[] raw(InetAddress address, boolean ipv4) {
        byte[] bytes = address.getAddress();
        if (!ipv4 && bytes.length == 4) { // an IPv4 address in an IPv6 header: IPv4-mapped
            byte[] mapped = new byte[16];
            mapped[10] = (byte) 0xff;
            mapped[11] = (byte) 0xff;
            System.arraycopy(bytes, 0, mapped, 12, 4);
            return mapped;
        }
        return bytes;
    }

    private static byte[] u16(int value) {
        return new byte[] {(byte) (value >> 8), (byte) value};
    }
}
