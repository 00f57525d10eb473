package forkserver.worker;

import forkserver.testkit.Project;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** FORKSERVER_SPARE=1 with a client on fd 0 (a misconfigured inetd): refused, not a byte to the client. */
class SpareModeIT {

    @Test
    void spareModeOnAClientsSocketIsRefusedWithoutWritingToIt() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            listener.setSoTimeout(60_000);
            // bash's /dev/tcp connects fd 0 to us, as inetd would give the worker a client.
            ProcessBuilder builder = new ProcessBuilder("bash", "-c",
                    "exec \"$0\" 0<>/dev/tcp/127.0.0.1/" + listener.getLocalPort(), Project.bin("worker"))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD);
            builder.environment().put("JAVA_HOME", Project.javaHome());
            builder.environment().put("FORKSERVER_SPARE", "1");
            Process worker = builder.start();
            try (Socket client = listener.accept()) {
                client.setSoTimeout(60_000);
                assertTrue(worker.waitFor(60, TimeUnit.SECONDS));
                String stderr = new String(worker.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
                assertEquals(Launcher.EXIT_USAGE, worker.exitValue(), stderr);
                assertTrue(stderr.startsWith("forkserver worker: spare mode needs fd 0 to be the supervisor's socketpair"),
                        stderr);
                assertEquals(-1, client.getInputStream().read(), "the client reads nothing, then end of file");
            } finally {
                worker.destroyForcibly();
            }
        }
    }
}
