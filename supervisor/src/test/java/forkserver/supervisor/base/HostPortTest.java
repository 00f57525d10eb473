package forkserver.supervisor.base;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class HostPortTest {

    @Test
    void parsesIpv4Ipv6AndNames() throws UnknownHostException {
        assertEquals(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 9090), HostPort.parse("127.0.0.1:9090"));
        assertEquals(new InetSocketAddress(InetAddress.getByName("::1"), 0), HostPort.parse("[::1]:0"));
        assertEquals(9090, HostPort.parse("localhost:9090").getPort());
    }

    @Test
    void rejectsWhatIsNotHostColonPort() {
        for (String bad : new String[] {"", "9090", ":9090", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:65536", "::1:80"}) {
            assertThrows(IllegalArgumentException.class, () -> HostPort.parse(bad), bad);
        }
    }

    @Test
    void writesIpv6InItsCanonicalShortForm() throws UnknownHostException {
        assertEquals("::1", HostPort.ip(InetAddress.getByName("0:0:0:0:0:0:0:1")));
        assertEquals("::", HostPort.ip(InetAddress.getByName("::")));
        assertEquals("2001:db8::1", HostPort.ip(InetAddress.getByName("2001:db8:0:0:0:0:0:1")));
        assertEquals("2001:db8:0:1:1:1:1:1", HostPort.ip(InetAddress.getByName("2001:db8:0:1:1:1:1:1")));
        assertEquals("2001:0:0:1::1", HostPort.ip(InetAddress.getByName("2001:0:0:1:0:0:0:1")));
        assertEquals("fe80::1:0:0:0", HostPort.ip(InetAddress.getByName("fe80:0:0:0:1:0:0:0")));
        assertEquals("[::1]:9090", HostPort.format(new InetSocketAddress(InetAddress.getByName("::1"), 9090)));
        assertEquals("127.0.0.1:80", HostPort.format(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 80)));
    }
}
