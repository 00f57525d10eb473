package forkserver.supervisor.proxy;

import forkserver.supervisor.admit.Cidr;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;

/**
 * {@code --proxy-protocol}'s settings as plain values: which peers may send a PROXY header, and
 * how long one may take to arrive.
 *
 * @param trusted {@code --proxy-from} blocks: the load balancers' addresses; every other peer is
 *                refused ({@code proxy-untrusted}) before a byte of it is read
 * @param timeout {@code --proxy-timeout}: the whole header must have come this long after the
 *                connection entered the header stage, else {@code proxy-timeout}
 */
public record ProxyPolicy(List<Cidr> trusted, Duration timeout) {

    /** More than the 3 s the specification asks for ("to cover a TCP retransmit"). */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    public ProxyPolicy {
        trusted = List.copyOf(trusted);
        if (trusted.isEmpty()) {
            throw new IllegalArgumentException("--proxy-protocol needs --proxy-from BLOCK (the proxies' addresses):"
                    + " a header from anyone else would let them choose their own address");
        }
        if (timeout.isZero() || timeout.isNegative()) {
            throw new IllegalArgumentException("--proxy-timeout must be longer than 0");
        }
    }

    /** True when {@code peer} (the connection's own remote address) is one of the proxies. */
    boolean trusts(InetAddress peer) {
        for (Cidr block : trusted) {
            if (block.contains(peer)) {
                return true;
            }
        }
        return false;
    }
}
