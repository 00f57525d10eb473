package forkserver.supervisor.admit;

import forkserver.supervisor.base.HostPort;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Children open per client source, and the {@code --max-per-source} limit on them. A source is
 * an IPv4 address, or an IPv6 client's network of {@code --ipv6-source-prefix} bits (default
 * /64): one IPv6 host usually holds a whole /64 and could otherwise pick a new address for every
 * connection.
 *
 * <p>Not thread-safe: {@link Admission} calls it under its lock.
 */
public final class SourceLimits {

    /** No per-source limit (no source can hold that many children). */
    public static final int UNLIMITED = Integer.MAX_VALUE;

    private final int maxPerSource;
    private final int ipv6Prefix;
    private final Map<String, Integer> open = new HashMap<>();

    public SourceLimits(int maxPerSource, int ipv6Prefix) {
        if (maxPerSource < 1) {
            throw new IllegalArgumentException("--max-per-source must be at least 1, got " + maxPerSource);
        }
        if (ipv6Prefix < 1 || ipv6Prefix > 128) {
            throw new IllegalArgumentException("--ipv6-source-prefix must be from 1 to 128, got " + ipv6Prefix);
        }
        this.maxPerSource = maxPerSource;
        this.ipv6Prefix = ipv6Prefix;
    }

    /** The source {@code client} counts against: {@code 127.0.0.1} or {@code 2001:db8:1:2::/64}. */
    String sourceOf(InetAddress client) {
        if (client instanceof Inet6Address && ipv6Prefix < 128) {
            return HostPort.ip(Cidr.masked(client, ipv6Prefix)) + "/" + ipv6Prefix;
        }
        return HostPort.ip(client);
    }

    /** Children open from {@code source} now. */
    int openFrom(String source) {
        return open.getOrDefault(source, 0);
    }

    /** True when one more child from {@code source} would pass the limit. */
    boolean full(String source) {
        return openFrom(source) >= maxPerSource;
    }

    void opened(String source) {
        open.merge(source, 1, Integer::sum);
    }

    void closed(String source) {
        open.computeIfPresent(source, (key, count) -> count > 1 ? count - 1 : null);
    }

    int limit() {
        return maxPerSource;
    }

    /** The {@code count} sources with the most children, most first. */
    Map<String, Integer> top(int count) {
        Map<String, Integer> top = new LinkedHashMap<>();
        open.entrySet().stream()
                .sorted(Map.Entry.<String, Integer>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .limit(count)
                .forEach(entry -> top.put(entry.getKey(), entry.getValue()));
        return top;
    }
}
