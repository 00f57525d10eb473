package forkserver.supervisor.proxy;

import forkserver.supervisor.admit.Cidr;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Whose PROXY header is believed: only a peer inside a --proxy-from block, by its own address. */
class ProxyPolicyTest {

    private static ProxyPolicy policy(String... blocks) {
        return new ProxyPolicy(List.of(blocks).stream().map(Cidr::parse).toList(), ProxyPolicy.DEFAULT_TIMEOUT);
    }

    private static InetAddress ip(String literal) {
        return InetAddress.ofLiteral(literal);
    }

    @Test
    void aPeerInsideATrustedBlockIsTrustedAndOneJustOutsideIsNot() {
        ProxyPolicy policy = policy("10.1.2.0/24", "127.0.0.1");
        assertTrue(policy.trusts(ip("10.1.2.0")));
        assertTrue(policy.trusts(ip("10.1.2.255")));
        assertFalse(policy.trusts(ip("10.1.3.0")), "the next block");
        assertFalse(policy.trusts(ip("10.1.1.255")), "the block before");
        assertTrue(policy.trusts(ip("127.0.0.1")), "a single address is a /32");
        assertFalse(policy.trusts(ip("127.0.0.2")));
    }

    @Test
    void ipv6BlocksTrustIpv6PeersOnly() {
        ProxyPolicy policy = policy("2001:db8::/32");
        assertTrue(policy.trusts(ip("2001:db8:ffff::1")));
        assertFalse(policy.trusts(ip("2001:db9::1")));
        assertFalse(policy.trusts(ip("32.1.13.184")), "the IPv4 address with the block's first bytes");
        assertFalse(policy("0.0.0.0/0").trusts(ip("::1")), "all of IPv4 is not IPv6's loopback");
    }

    @Test
    void withoutATrustedBlockOrATimeoutThereIsNoPolicy() {
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> policy());
        assertTrue(none.getMessage().startsWith("--proxy-protocol needs --proxy-from"), none.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new ProxyPolicy(List.of(Cidr.parse("127.0.0.1")), Duration.ZERO));
        assertEquals(1, policy("127.0.0.1").trusted().size());
    }
}
