package forkserver.supervisor.proxy;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.Random;
import java.util.function.Supplier;

import static forkserver.supervisor.proxy.ProxyHeaders.ascii;
import static forkserver.supervisor.proxy.ProxyHeaders.tlv;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The parser on input nobody wrote by hand: random bytes, every truncation of random valid
 * headers, and mutations of them. Seeded, so a failure names its case and reproduces. For every
 * input and every prefix of it the answer must be one of the parser's own (never an exception),
 * and the answers over growing prefixes must tell one consistent story: "need more" for a while,
 * then either "complete" with the same length ever after, never longer than what was given, or
 * "invalid" ever after. That is what lets the reader consume every byte of a "need more".
 */
class ProxyHeaderFuzzTest {

    private static final long SEED = 0x5eed_11L;
    private static final int CASES = 3000;

    @Test
    void randomBytesGetAConsistentVerdict() {
        Random random = new Random(SEED);
        for (int i = 0; i < CASES; i++) {
            byte[] input = new byte[random.nextInt(300)];
            random.nextBytes(input);
            // Most random inputs fail on their first byte; start a third with each signature.
            switch (i % 3) {
                case 1 -> System.arraycopy(ascii("PROXY "), 0, input, 0, Math.min(6, input.length));
                case 2 -> System.arraycopy(ProxyHeaders.V2_SIGNATURE, 0, input, 0, Math.min(12, input.length));
                default -> { }
            }
            checkEveryPrefix("random case " + i, input, -1);
        }
    }

    @Test
    void validHeadersNeedMoreUntilTheirLastByteThenCompleteWhateverFollows() {
        Random random = new Random(SEED + 1);
        for (int i = 0; i < CASES; i++) {
            byte[] header = validHeader(random);
            byte[] trailing = new byte[random.nextInt(64)];
            random.nextBytes(trailing);
            byte[] input = ProxyHeaders.concat(header, trailing);
            checkEveryPrefix("valid case " + i, input, header.length);
        }
    }

    @Test
    void mutatedHeadersGetAConsistentVerdict() {
        Random random = new Random(SEED + 2);
        for (int i = 0; i < CASES; i++) {
            byte[] input = ProxyHeaders.concat(validHeader(random), ascii("payload"));
            int mutations = 1 + random.nextInt(3);
            for (int m = 0; m < mutations; m++) {
                int at = random.nextInt(input.length);
                switch (random.nextInt(3)) {
                    case 0 -> input[at] = (byte) random.nextInt(256);
                    case 1 -> input[at] ^= (byte) (1 << random.nextInt(8));
                    default -> input = Arrays.copyOf(input, at); // cut short
                }
                if (input.length == 0) {
                    break;
                }
            }
            checkEveryPrefix("mutated case " + i, input, -1);
        }
    }

    /**
     * Parses every prefix of {@code input}; {@code expectedLength} is the header's length when
     * {@code input} is known to start with a valid one (else -1).
     */
    private static void checkEveryPrefix(String name, byte[] input, int expectedLength) {
        ProxyHeader.Result settled = null;
        for (int length = 0; length <= input.length; length++) {
            ProxyHeader.Result result;
            try {
                result = ProxyHeader.parse(input, length);
            } catch (RuntimeException e) {
                throw new AssertionError(name + ", prefix " + length + " of " + hex(input) + ": threw " + e, e);
            }
            int prefix = length;
            ProxyHeader.Result seen = settled;
            // Lazily: building the message for every prefix would cost more than parsing it.
            Supplier<String> where = () -> name + ", prefix " + prefix + " of " + hex(input) + ": " + result
                    + (seen == null ? "" : " after " + seen);
            switch (result) {
                case ProxyHeader.NeedMore needMore -> {
                    assertTrue(settled == null, where);
                    assertTrue(length < ProxyHeader.MAX_LENGTH, where);
                }
                case ProxyHeader.Complete complete -> {
                    assertTrue(complete.length() <= length && complete.length() <= ProxyHeader.MAX_LENGTH, where);
                    if (settled != null) {
                        assertEquals(settled, complete, where);
                    }
                    if (complete.command() == ProxyHeader.Command.PROXY) {
                        assertTrue(complete.source() != null && complete.destination() != null, where);
                    }
                    settled = complete;
                }
                case ProxyHeader.Invalid invalid -> {
                    if (settled != null) {
                        assertInstanceOf(ProxyHeader.Invalid.class, settled, where);
                    }
                    assertTrue(!invalid.reason().isBlank(), where);
                    settled = invalid;
                }
            }
            boolean headerEnds = expectedLength >= 0 && length >= expectedLength;
            if (expectedLength >= 0 && !headerEnds && !(result instanceof ProxyHeader.NeedMore)) {
                fail(where.get() + ": a proper prefix of a valid header must need more");
            }
            if (headerEnds) {
                assertEquals(expectedLength, assertInstanceOf(ProxyHeader.Complete.class, result, where).length(), where);
            }
        }
    }

    /** A random valid header: v1 TCP4, TCP6 or UNKNOWN; v2 PROXY or LOCAL over IPv4 or IPv6, with random TLVs. */
    private static byte[] validHeader(Random random) {
        InetSocketAddress source;
        InetSocketAddress destination;
        boolean ipv6 = random.nextBoolean();
        source = new InetSocketAddress(randomAddress(random, ipv6), random.nextInt(65536));
        destination = new InetSocketAddress(randomAddress(random, ipv6), random.nextInt(65536));
        return switch (random.nextInt(5)) {
            case 0 -> ProxyHeaders.v1(source, destination);
            case 1 -> ascii("PROXY UNKNOWN" + (random.nextBoolean() ? "" : " anything at all " + random.nextInt()) + "\r\n");
            case 2 -> ProxyHeaders.v2Local();
            default -> {
                byte[][] tlvs = new byte[random.nextInt(4)][];
                for (int t = 0; t < tlvs.length; t++) {
                    byte[] value = new byte[random.nextInt(40)];
                    random.nextBytes(value);
                    int type = random.nextInt(256);
                    tlvs[t] = tlv(type == 0x03 ? 0x04 : type, value); // a CRC32C is tested apart
                }
                yield ProxyHeaders.v2(source, destination, tlvs);
            }
        };
    }

    private static InetAddress randomAddress(Random random, boolean ipv6) {
        byte[] bytes = new byte[ipv6 ? 16 : 4];
        random.nextBytes(bytes);
        try {
            return InetAddress.getByAddress(bytes);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static String hex(byte[] bytes) {
        StringBuilder text = new StringBuilder();
        for (byte b : bytes) {
            text.append(String.format("%02x", b & 0xff));
        }
        return text.toString();
    }
}
