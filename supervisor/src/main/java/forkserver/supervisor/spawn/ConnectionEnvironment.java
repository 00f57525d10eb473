package forkserver.supervisor.spawn;

import forkserver.supervisor.base.Accepted;
import forkserver.supervisor.base.HostPort;
import forkserver.supervisor.base.UnixPeer;

import java.util.HashMap;
import java.util.Map;

/**
 * The facts a child learns about its connection, in the variables programs already read:
 * UCSPI's (tcpserver, s6-tcpserver; for a UNIX-domain socket s6-ipcserver's, {@code PROTO=IPC},
 * the name UCSPI gives local IPC) and systemd's ({@code Accept=yes}); and
 * {@code FORKSERVER_LISTENER}, which of the supervisor's listeners took it.
 */
final class ConnectionEnvironment {

    /** The listener's name ({@code name=}, systemd's {@code FileDescriptorName=}), else its address. */
    static final String LISTENER = "FORKSERVER_LISTENER";

    private ConnectionEnvironment() {
    }

    static Map<String, String> of(Accepted connection) {
        Map<String, String> variables = new HashMap<>(12);
        UnixPeer peer = connection.unixPeer();
        if (peer != null) {
            variables.put("PROTO", "IPC");
            variables.put("IPCREMOTEEUID", Long.toString(peer.uid()));
            variables.put("IPCREMOTEEGID", Long.toString(peer.gid()));
            variables.put("IPCREMOTEPID", Long.toString(peer.pid()));
            variables.put("IPCLOCALPATH", peer.path());
        } else {
            String remoteIp = HostPort.ip(connection.remote().getAddress());
            String remotePort = Integer.toString(connection.remote().getPort());
            variables.put("PROTO", "TCP");
            variables.put("TCPREMOTEIP", remoteIp);
            variables.put("TCPREMOTEPORT", remotePort);
            variables.put("TCPLOCALIP", HostPort.ip(connection.local().getAddress()));
            variables.put("TCPLOCALPORT", Integer.toString(connection.local().getPort()));
            variables.put("REMOTE_ADDR", remoteIp);
            variables.put("REMOTE_PORT", remotePort);
        }
        if (connection.listener() != null) {
            variables.put(LISTENER, connection.listener());
        }
        return variables;
    }
}
