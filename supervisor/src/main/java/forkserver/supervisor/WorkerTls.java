package forkserver.supervisor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code --tls-cert}, {@code --tls-key}, {@code --tls-client-ca}, {@code --tls-handshake-timeout}:
 * TLS in forkserver's worker. The supervisor itself never touches TLS (it passes the TCP
 * connection on, as always); it names the files to the workers in their environment
 * ({@code FORKSERVER_TLS_*}, what {@code bin/worker} reads under inetd or systemd too), and the
 * workers' start-up check ({@link WorkerHandler}) loads them once, so that a key that does not
 * parse is one line at start-up rather than a failure per connection.
 */
final class WorkerTls {

    static final String CERT = "FORKSERVER_TLS_CERT";
    static final String KEY = "FORKSERVER_TLS_KEY";
    static final String CLIENT_CA = "FORKSERVER_TLS_CLIENT_CA";
    static final String HANDSHAKE_TIMEOUT = "FORKSERVER_TLS_HANDSHAKE_TIMEOUT";

    private WorkerTls() {
    }

    /**
     * Puts the options into the children's {@code environment} as absolute paths; an
     * IllegalArgumentException names the option misused or the file that cannot be read.
     *
     * @return whether TLS is on (the workers' start-up check must then run)
     */
    static boolean addTo(Map<String, String> environment, String cert, String key, String clientCa,
            String handshakeTimeout, boolean defaultWorker) {
        if (cert == null && key == null && clientCa == null && handshakeTimeout == null) {
            String inherited = environment.get(CERT); // set by the operator for the workers directly
            return inherited != null && !inherited.isEmpty();
        }
        if (cert == null || key == null) {
            throw new IllegalArgumentException((cert == null ? "--tls-key" : "--tls-cert") + " needs "
                    + (cert == null ? "--tls-cert" : "--tls-key") + " (TLS needs both the certificate chain and its key)");
        }
        if (!defaultWorker) {
            throw new IllegalArgumentException("--tls-cert needs forkserver's worker as COMMAND (give no COMMAND):"
                    + " it is the worker that speaks TLS");
        }
        environment.put(CERT, readable("--tls-cert", cert));
        environment.put(KEY, readable("--tls-key", key));
        if (clientCa != null) {
            environment.put(CLIENT_CA, readable("--tls-client-ca", clientCa));
        } else {
            environment.remove(CLIENT_CA);
        }
        if (handshakeTimeout != null) {
            environment.put(HANDSHAKE_TIMEOUT, handshakeTimeout);
        }
        return true;
    }

    /**
     * TLS is the worker's, over TCP (JSSE's socket needs one): a UNIX-domain listener with it
     * would fail every connection, so it is a start-up error naming the first such socket.
     */
    static void refuseUnixSockets(java.util.List<String> unixSockets) {
        if (!unixSockets.isEmpty()) {
            throw new IllegalArgumentException("TLS (--tls-cert or " + CERT + ") serves TCP listeners only, and "
                    + unixSockets.getFirst() + " is a UNIX-domain socket: serve it from a supervisor without TLS");
        }
    }

    private static String readable(String option, String file) {
        Path path = Path.of(file).toAbsolutePath();
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw new IllegalArgumentException(option + " " + file + ": not a readable file");
        }
        return path.toString();
    }
}
