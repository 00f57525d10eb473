package forkserver.supervisor.proxy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.Arrays;

import static forkserver.supervisor.proxy.ProxyHeaders.address;
import static forkserver.supervisor.proxy.ProxyHeaders.ascii;
import static forkserver.supervisor.proxy.ProxyHeaders.concat;
import static forkserver.supervisor.proxy.ProxyHeaders.tlv;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PROXY header parser against HAProxy's specification, field by field and boundary by
 * boundary; the headers are built by {@link ProxyHeaders}, an independent writer.
 */
class ProxyHeaderTest {

    static final InetSocketAddress CLIENT4 = address("192.0.2.1", 56324);
    static final InetSocketAddress SERVER4 = address("198.51.100.11", 443);
    static final InetSocketAddress CLIENT6 = address("2001:db8::1", 1);
    static final InetSocketAddress SERVER6 = address("2001:db8:ffff::2", 65535);

    // ---- v1

    @Test
    void v1Tcp4GivesTheClientAndTheAddressItDialledAndEndsAtTheCrlf() {
        byte[] line = ascii("PROXY TCP4 192.0.2.1 198.51.100.11 56324 443\r\n");
        ProxyHeader.Complete header = complete(concat(line, ascii("GET / HTTP/1.1\r\n")));
        assertEquals(line.length, header.length(), "the bytes behind the header are not the header's");
        assertEquals(1, header.version());
        assertEquals(ProxyHeader.Command.PROXY, header.command());
        assertEquals(CLIENT4, header.source());
        assertEquals(SERVER4, header.destination());
    }

    @Test
    void v1Tcp6InShortAndFullForm() {
        ProxyHeader.Complete header = complete(ascii("PROXY TCP6 2001:db8::1 2001:DB8:FFFF:0:0:0:0:2 1 65535\r\n"));
        assertEquals(CLIENT6, header.source());
        assertEquals(SERVER6, header.destination());
        assertInstanceOf(Inet6Address.class, header.source().getAddress());
    }

    @Test
    void v1Tcp6WithIpv4MappedAddressesReadsAsIpv4() {
        // What HAProxy writes for an IPv4 client of an IPv6 frontend.
        ProxyHeader.Complete header = complete(ascii("PROXY TCP6 ::ffff:192.0.2.1 ::ffff:198.51.100.11 56324 443\r\n"));
        assertInstanceOf(Inet4Address.class, header.source().getAddress());
        assertEquals(CLIENT4, header.source());
        assertEquals(SERVER4, header.destination());
    }

    @Test
    void v1UnknownInShortAndLongFormIgnoresTheRest() {
        ProxyHeader.Complete shortForm = complete(ascii("PROXY UNKNOWN\r\nhello"));
        assertEquals(15, shortForm.length());
        assertEquals(ProxyHeader.Command.UNKNOWN, shortForm.command());
        assertNull(shortForm.source());
        ProxyHeader.Complete longForm = complete(ascii("PROXY UNKNOWN whatever is here: ignored\r\n"));
        assertEquals(ProxyHeader.Command.UNKNOWN, longForm.command());
    }

    @Test
    void v1LineOf107BytesIsTheLongestAccepted() {
        String worstCase = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
        assertEquals(107, worstCase.length(), "the specification's worst case");
        assertEquals(107, complete(ascii(worstCase)).length());
        String tcp6 = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
        assertEquals(104, complete(ascii(tcp6)).length());
        String oneMore = "PROXY UNKNOWN fffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
        assertEquals(108, oneMore.length());
        invalid(ascii(oneMore), "longer than 107");
    }

    @Test
    void v1WithoutCrlfNeedsMoreUpTo106BytesAndIsInvalidAt107() {
        byte[] line = ascii("PROXY UNKNOWN " + "x".repeat(200));
        needMore(Arrays.copyOf(line, 106));
        invalid(Arrays.copyOf(line, 107), "no CRLF within 107");
        invalid(line, "no CRLF within 107");
        // A CR as the 107th byte would need its LF as the 108th.
        byte[] crLast = Arrays.copyOf(line, 107);
        crLast[106] = '\r';
        invalid(crLast, "longer than 107");
        byte[] crLastButOne = Arrays.copyOf(line, 107);
        crLastButOne[105] = '\r';
        crLastButOne[106] = '\n';
        assertEquals(107, complete(crLastButOne).length());
    }

    @Test
    void everyPrefixOfAValidV1LineNeedsMore() {
        byte[] line = ascii("PROXY TCP6 2001:db8::1 2001:db8:ffff::2 1 65535\r\n");
        for (int length = 0; length < line.length; length++) {
            needMore(Arrays.copyOf(line, length));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "proxy TCP4 192.0.2.1 198.51.100.11 56324 443\r\n",   // signature is upper case
        "PROXY\tTCP4 192.0.2.1 198.51.100.11 56324 443\r\n",  // exactly one space
        "PROXY  TCP4 192.0.2.1 198.51.100.11 56324 443\r\n",
        "PROXY TCP4  192.0.2.1 198.51.100.11 56324 443\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.11 56324 443 \r\n",  // nothing after the last field
        "PROXY TCP4 192.0.2.1 198.51.100.11 56324\r\n",       // a field missing
        "PROXY TCP4 192.0.2.1 198.51.100.11 56324 443 1\r\n", // one too many
        "PROXY TCP5 192.0.2.1 198.51.100.11 56324 443\r\n",   // no such protocol
        "PROXY tcp4 192.0.2.1 198.51.100.11 56324 443\r\n",
        "PROXY UNKNOWNX\r\n",
        "PROXY \r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.11 56324 443\n",     // LF alone
        "PROXY TCP4 192.0.2.1 198.51.100.11 56324 443\r\r\n", // CR without LF
        "PROXY TCP4 192.0.2.1\n198.51.100.11 56324 443\r\n",
    })
    void v1FormIsExact(String line) {
        assertInstanceOf(ProxyHeader.Invalid.class, parse(ascii(line)), line);
    }

    @ParameterizedTest
    @ValueSource(strings = {"256.0.0.1", "192.0.2", "192.0.2.1.5", "192.0.02.1", "01.0.0.1", "192.0.2.", "a.b.c.d",
        "192.0.2.-1", "192.0.2.+1", "0x7f.0.0.1", "::1", "", "1234.0.0.1"})
    void v1Tcp4AddressOutOfRangeOrMalformed(String ip) {
        invalid(ascii("PROXY TCP4 " + ip + " 198.51.100.11 56324 443\r\n"), "not an IPv4");
        invalid(ascii("PROXY TCP4 198.51.100.11 " + ip + " 56324 443\r\n"), "not an IPv4");
    }

    @ParameterizedTest
    @ValueSource(strings = {"192.0.2.1", "1:2:3:4:5:6:7:8:9", "1::2::3", "fe80::1%eth0", "[::1]", "g::1", "12345::1",
        "::ffff:192.0.2.256", ":"})
    void v1Tcp6AddressMalformed(String ip) {
        invalid(ascii("PROXY TCP6 " + ip + " 2001:db8::2 1 2\r\n"), "not an IPv6");
    }

    @ParameterizedTest
    @ValueSource(strings = {"65536", "99999", "100000", "-1", "+1", "01", "00", "1a", "0x10", ""})
    void v1PortsAreNumbersFrom0To65535WithoutLeadingZeros(String port) {
        invalid(ascii("PROXY TCP4 192.0.2.1 198.51.100.11 " + port + " 443\r\n"), "port");
        invalid(ascii("PROXY TCP4 192.0.2.1 198.51.100.11 443 " + port + "\r\n"), "port");
    }

    @Test
    void v1PortsAtTheirBounds() {
        ProxyHeader.Complete header = complete(ascii("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n"));
        assertEquals(0, header.source().getPort());
        assertEquals(65535, header.destination().getPort());
        assertEquals(address("255.255.255.255", 65535), header.destination());
    }

    @Test
    void v1FamilyMustMatchTheAddresses() {
        invalid(ascii("PROXY TCP4 2001:db8::1 198.51.100.11 1 2\r\n"), "not an IPv4");
        invalid(ascii("PROXY TCP6 192.0.2.1 2001:db8::2 1 2\r\n"), "not an IPv6");
    }

    @Test
    void v1RefusesBytesThatAreNotPrintableAscii() {
        byte[] line = ascii("PROXY TCP4 192.0.2.1 198.51.100.11 56324 443\r\n");
        line[12] = (byte) 0xc3;
        invalid(line, "not printable");
        byte[] nul = ascii("PROXY TCP4 192.0.2.1 198.51.100.11 56324 443\r\n");
        nul[8] = 0;
        invalid(nul, "not printable");
        invalid(Arrays.copyOf(nul, 9), "not printable"); // at once, not after the CRLF
    }

    @Test
    void aBadSignatureIsInvalidAsSoonAsItShows() {
        invalid(ascii("PRX"), "v1 signature");
        invalid(ascii("GET / HTTP/1.1\r\n"), "not a PROXY header");
        invalid(new byte[] {0x16, 0x03, 0x01}, "not a PROXY header"); // a TLS ClientHello
        needMore(ascii("PROX"));
    }

    // ---- v2

    @Test
    void v2Tcp4GivesTheClientAndTheAddressItDialled() {
        byte[] header = ProxyHeaders.v2(CLIENT4, SERVER4);
        assertEquals(28, header.length);
        ProxyHeader.Complete parsed = complete(concat(header, ascii("first bytes of the client")));
        assertEquals(28, parsed.length());
        assertEquals(2, parsed.version());
        assertEquals(ProxyHeader.Command.PROXY, parsed.command());
        assertEquals(CLIENT4, parsed.source());
        assertEquals(SERVER4, parsed.destination());
    }

    @Test
    void v2Tcp6() {
        byte[] header = ProxyHeaders.v2(CLIENT6, SERVER6);
        assertEquals(52, header.length);
        ProxyHeader.Complete parsed = complete(header);
        assertEquals(CLIENT6, parsed.source());
        assertEquals(SERVER6, parsed.destination());
    }

    @Test
    void v2Tcp6WithIpv4MappedAddressesReadsAsIpv4() {
        ProxyHeader.Complete parsed = complete(ProxyHeaders.v2Tcp(true, CLIENT4, SERVER4));
        assertEquals(52, parsed.length());
        assertInstanceOf(Inet4Address.class, parsed.source().getAddress());
        assertEquals(CLIENT4, parsed.source());
    }

    @Test
    void v2PortsAtTheirBounds() {
        ProxyHeader.Complete parsed = complete(ProxyHeaders.v2(address("0.0.0.0", 0), address("255.255.255.255", 65535)));
        assertEquals(0, parsed.source().getPort());
        assertEquals(65535, parsed.destination().getPort());
    }

    @Test
    void v2LocalIsAHealthCheckAndItsAddressesAreSkipped() {
        ProxyHeader.Complete check = complete(concat(ProxyHeaders.v2Local(), ascii("x")));
        assertEquals(16, check.length());
        assertEquals(ProxyHeader.Command.LOCAL, check.command());
        assertNull(check.source());
        // "must not assume zero is presented for LOCAL connections"
        byte[] addresses = Arrays.copyOfRange(ProxyHeaders.v2(CLIENT4, SERVER4), 16, 28);
        ProxyHeader.Complete withAddresses = complete(ProxyHeaders.v2(ProxyHeaders.LOCAL, ProxyHeaders.TCP4, addresses));
        assertEquals(28, withAddresses.length());
        assertEquals(ProxyHeader.Command.LOCAL, withAddresses.command());
        assertNull(withAddresses.source());
    }

    @Test
    void v2FamiliesNotCarriedOverTcpFallBackToTheConnectionsOwnAddresses() {
        assertEquals(ProxyHeader.Command.UNKNOWN,
                complete(ProxyHeaders.v2(ProxyHeaders.PROXY, ProxyHeaders.UNSPEC, new byte[0])).command());
        byte[] udp4 = ProxyHeaders.v2(CLIENT4, SERVER4);
        udp4[13] = 0x12;
        assertEquals(ProxyHeader.Command.UNKNOWN, complete(udp4).command());
        assertEquals(ProxyHeader.Command.UNKNOWN, complete(ProxyHeaders.v2(ProxyHeaders.PROXY, 0x31, new byte[216])).command());
        assertEquals(ProxyHeader.Command.UNKNOWN, complete(ProxyHeaders.v2(ProxyHeaders.PROXY, 0x10, new byte[0])).command());
        invalid(ProxyHeaders.v2(ProxyHeaders.PROXY, 0x31, new byte[215]), "its family needs 216");
    }

    @Test
    void v2AddressBlockShorterThanItsFamilyNeedsIsInvalid() {
        invalid(ProxyHeaders.v2(ProxyHeaders.PROXY, ProxyHeaders.TCP4, new byte[11]), "its family needs 12");
        invalid(ProxyHeaders.v2(ProxyHeaders.PROXY, ProxyHeaders.TCP6, new byte[35]), "its family needs 36");
        assertEquals(28, complete(ProxyHeaders.v2(ProxyHeaders.PROXY, ProxyHeaders.TCP4, new byte[12])).length());
    }

    @Test
    void v2VersionCommandFamilyAndTransportAreCheckedAsSoonAsTheyArrive() {
        for (int version = 0; version < 16; version++) {
            for (int command = 0; command < 16; command++) {
                byte[] header = ProxyHeaders.v2(CLIENT4, SERVER4);
                header[12] = (byte) (version << 4 | command);
                ProxyHeader.Result early = parse(Arrays.copyOf(header, 13));
                if (version == 2 && command <= 1) {
                    assertInstanceOf(ProxyHeader.NeedMore.class, early);
                } else {
                    assertInstanceOf(ProxyHeader.Invalid.class, early, "version " + version + " command " + command);
                    assertInstanceOf(ProxyHeader.Invalid.class, parse(header));
                }
            }
        }
        for (int family = 0; family < 16; family++) {
            for (int transport = 0; transport < 16; transport++) {
                byte[] header = ProxyHeaders.v2(ProxyHeaders.PROXY, family << 4 | transport, new byte[216]);
                ProxyHeader.Result early = parse(Arrays.copyOf(header, 14));
                if (family <= 3 && transport <= 2) {
                    assertInstanceOf(ProxyHeader.NeedMore.class, early);
                    assertInstanceOf(ProxyHeader.Complete.class, parse(header), "family " + family + " transport " + transport);
                } else {
                    assertInstanceOf(ProxyHeader.Invalid.class, early, "family " + family + " transport " + transport);
                }
            }
        }
    }

    @Test
    void v2SignatureMustMatchEveryByte() {
        for (int i = 0; i < 12; i++) {
            byte[] header = ProxyHeaders.v2(CLIENT4, SERVER4);
            header[i] ^= 0x01;
            ProxyHeader.Result result = parse(Arrays.copyOf(header, i + 1));
            assertInstanceOf(ProxyHeader.Invalid.class, result, "byte " + i + " flipped");
        }
    }

    @Test
    void everyPrefixOfAValidV2HeaderNeedsMore() {
        byte[] header = ProxyHeaders.v2(CLIENT6, SERVER6, tlv(0x02, ascii("example.com")), tlv(0x04, new byte[0]));
        for (int length = 0; length < header.length; length++) {
            needMore(Arrays.copyOf(header, length));
        }
        assertEquals(header.length, complete(header).length());
    }

    @Test
    void v2LengthUpToTheBoundIsAcceptedAndOneMoreIsInvalidWithoutWaitingForIt() {
        int padding = ProxyHeader.V2_MAX_LENGTH - 28 - 3;
        byte[] longest = ProxyHeaders.v2(CLIENT4, SERVER4, tlv(0x04, new byte[padding]));
        assertEquals(ProxyHeader.V2_MAX_LENGTH, longest.length);
        assertEquals(ProxyHeader.V2_MAX_LENGTH, complete(longest).length());
        byte[] tooLong = ProxyHeaders.v2(CLIENT4, SERVER4, tlv(0x04, new byte[padding + 1]));
        invalid(Arrays.copyOf(tooLong, 16), "more than the 2048");
        byte[] maximal = ProxyHeaders.v2(ProxyHeaders.PROXY, ProxyHeaders.TCP4, new byte[0]);
        maximal[14] = (byte) 0xff;
        maximal[15] = (byte) 0xff;
        invalid(maximal, "65551 bytes");
    }

    @Test
    void v2TlvsAreSkippedWhenWellFormed() {
        byte[] header = ProxyHeaders.v2(CLIENT4, SERVER4, tlv(0x01, ascii("h2")), tlv(0x02, ascii("example.com")),
                tlv(0x05, new byte[128]), tlv(0x20, new byte[] {1, 0, 0, 0, 0}), tlv(0xEE, new byte[0]));
        ProxyHeader.Complete parsed = complete(concat(header, ascii("payload")));
        assertEquals(header.length, parsed.length());
        assertEquals(CLIENT4, parsed.source());
        byte[] local = ProxyHeaders.v2(ProxyHeaders.LOCAL, ProxyHeaders.UNSPEC, tlv(0x04, new byte[3]));
        assertEquals(22, complete(local).length());
    }

    @Test
    void v2TlvsThatDoNotFitAreInvalid() {
        byte[] cut = ProxyHeaders.v2(ProxyHeaders.PROXY, ProxyHeaders.TCP4, concat(new byte[12], new byte[] {0x04, 0x00}));
        invalid(cut, "TLV cut short");
        byte[] overrun = ProxyHeaders.v2(ProxyHeaders.PROXY, ProxyHeaders.TCP4,
                concat(new byte[12], new byte[] {0x02, 0x00, 0x05, 'a', 'b'}));
        invalid(overrun, "runs past");
    }

    @Test
    void v2Crc32cIsVerifiedWhenPresent() {
        byte[] unsummed = ProxyHeaders.v2(CLIENT4, SERVER4, tlv(0x02, ascii("example.com")), tlv(0x03, new byte[4]));
        byte[] summed = ProxyHeaders.withCrc32c(unsummed);
        assertEquals(summed.length, complete(summed).length());
        invalid(unsummed, "CRC32C mismatch");
        byte[] tampered = summed.clone();
        tampered[17] ^= 1; // the client's address
        invalid(tampered, "CRC32C mismatch");
        invalid(ProxyHeaders.v2(CLIENT4, SERVER4, tlv(0x03, new byte[3])), "CRC32C TLV of 3 bytes");
    }

    // ---- both

    @Test
    void nothingYetNeedsMoreAndTheLengthIsChecked() {
        needMore(new byte[0]);
        assertThrows(IllegalArgumentException.class, () -> ProxyHeader.parse(new byte[4], 5));
        assertInstanceOf(ProxyHeader.NeedMore.class, ProxyHeader.parse(ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), 10),
                "only the first length bytes count");
    }

    static ProxyHeader.Result parse(byte[] bytes) {
        return ProxyHeader.parse(bytes, bytes.length);
    }

    static ProxyHeader.Complete complete(byte[] bytes) {
        return assertInstanceOf(ProxyHeader.Complete.class, parse(bytes), () -> new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1));
    }

    static void needMore(byte[] bytes) {
        assertInstanceOf(ProxyHeader.NeedMore.class, parse(bytes), () -> bytes.length + " bytes: " + Arrays.toString(bytes));
    }

    static void invalid(byte[] bytes, String reasonPart) {
        ProxyHeader.Invalid invalid = assertInstanceOf(ProxyHeader.Invalid.class, parse(bytes),
                () -> new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1));
        assertTrue(invalid.reason().contains(reasonPart), "reason '" + invalid.reason() + "' should say '" + reasonPart + "'");
    }
}
