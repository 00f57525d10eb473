package forkserver.supervisor.listen;

import forkserver.supervisor.base.Accepted;
import forkserver.posix.Errno;
import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.supervisor.admit.Cidr;
import org.junit.jupiter.api.Test;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Socket options the listener sets. Tests never bind [::], so dual-stack is shown on the
 * IPv4-mapped loopback address ::ffff:127.0.0.1, which an IPv6 socket can only bind with
 * IPV6_V6ONLY off, and which IPv4 clients reach as 127.0.0.1.
 */
class ListenerTest {

    @Test
    void ipv6ListenersAreDualStackAndIpv4ClientsArriveAsIpv4() throws Exception {
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 127, 0, 0, 1};
        InetAddress ipv6 = Inet6Address.getByAddress(null, mapped, -1); // stays IPv6, unlike getByAddress(byte[])
        try (Listeners listeners = Listeners.bind(List.of(new ListenAddress.Tcp(new InetSocketAddress(ipv6, 0), null)), 16, false);
             Socket client = new Socket(InetAddress.ofLiteral("127.0.0.1"), listeners.all().getFirst().address().getPort())) {
            Listener listener = listeners.all().getFirst();
            assertEquals(0, Posix.getsockopt(descriptor(listener), Posix.IPPROTO_IPV6, Posix.IPV6_V6ONLY), "IPV6_V6ONLY off");
            assertEquals(Posix.AF_INET6, Posix.getsockopt(descriptor(listener), Posix.SOL_SOCKET, Posix.SO_DOMAIN));
            Accepted accepted = listeners.accept();
            try {
                assertInstanceOf(Inet4Address.class, accepted.remote().getAddress(), "decoded as plain IPv4");
                assertEquals(client.getLocalPort(), accepted.remote().getPort());
                assertTrue(Cidr.parse("127.0.0.0/8").contains(accepted.remote().getAddress()), "matches IPv4 rules");
            } finally {
                accepted.close();
            }
        }
    }

    @Test
    void reusePortIsSetOnlyWhenAsked() throws Exception {
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), 0);
        try (Listener listener = Listener.bind(loopback, 16, true)) {
            assertEquals(1, Posix.getsockopt(descriptor(listener), Posix.SOL_SOCKET, Posix.SO_REUSEPORT));
        }
        try (Listener listener = Listener.bind(loopback, 16, false)) {
            assertEquals(0, Posix.getsockopt(descriptor(listener), Posix.SOL_SOCKET, Posix.SO_REUSEPORT));
        }
    }

    private static int descriptor(Listener listener) {
        return listener.fd();
    }

    @Test
    void acceptsOwnNetworkErrorsAreRetriedAtOnceAndShortagesPause() {
        for (int errno : new int[] {Errno.ECONNABORTED, Errno.EPROTO, Errno.ENETDOWN, Errno.EHOSTUNREACH, Errno.ENETUNREACH,
                Errno.EPERM}) {
            assertTrue(Listener.isThatConnectionsOwn(errnoException(errno)), Errno.name(errno));
        }
        for (int errno : new int[] {Errno.EMFILE, Errno.ENFILE, Errno.ENOBUFS, Errno.ENOMEM}) {
            assertTrue(Listener.isShortage(errnoException(errno)), Errno.name(errno));
            assertFalse(Listener.isThatConnectionsOwn(errnoException(errno)), Errno.name(errno));
        }
        assertFalse(Listener.isShortage(errnoException(Errno.EBADF)), "EBADF: the socket is gone, for good");
        assertFalse(Listener.isThatConnectionsOwn(errnoException(Errno.EINVAL)));
    }

    private static ErrnoException errnoException(int errno) {
        return new ErrnoException("accept4", errno, Errno.name(errno));
    }
}
