package forkserver.supervisor.spawn;

import forkserver.supervisor.base.Accepted;
import forkserver.supervisor.base.HostPort;

import java.util.Map;

/**
 * The facts a child learns about its connection, in the variables programs already read:
 * UCSPI's (tcpserver, s6-tcpserver) and systemd's ({@code Accept=yes}).
 */
final class ConnectionEnvironment {

    private ConnectionEnvironment() {
    }

    static Map<String, String> of(Accepted connection) {
        String remoteIp = HostPort.ip(connection.remote().getAddress());
        String remotePort = Integer.toString(connection.remote().getPort());
        return Map.of(
                "PROTO", "TCP",
                "TCPREMOTEIP", remoteIp,
                "TCPREMOTEPORT", remotePort,
                "TCPLOCALIP", HostPort.ip(connection.local().getAddress()),
                "TCPLOCALPORT", Integer.toString(connection.local().getPort()),
                "REMOTE_ADDR", remoteIp,
                "REMOTE_PORT", remotePort);
    }
}
