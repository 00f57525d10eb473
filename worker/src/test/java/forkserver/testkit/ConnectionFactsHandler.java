package forkserver.testkit;

import forkserver.handler.Connection;
import forkserver.handler.Handler;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * A handler for end-to-end tests: answers one line with what {@link Connection} says about the
 * connection ({@code REMOTEIP REMOTEPORT LOCALIP LOCALPORT TCPCONNNUM RULE}), however the worker
 * got it (environment, or a spare's hand-off). Run it with
 * {@code FORKSERVER_WORKER_CLASSPATH=worker/target/test-classes FORKSERVER_HANDLER=forkserver.testkit.ConnectionFactsHandler}.
 */
public final class ConnectionFactsHandler implements Handler {

    @Override
    public void serve(Connection connection) throws IOException {
        String facts = String.join(" ", connection.remoteIp(), Integer.toString(connection.remotePort()),
                connection.localIp(), Integer.toString(connection.localPort()),
                String.valueOf(connection.env("TCPCONNNUM")), String.valueOf(connection.env("RULE")));
        connection.out().write((facts + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /** The environment that makes the default worker run this handler. */
    public static java.util.Map<String, String> environment() {
        return java.util.Map.of("FORKSERVER_WORKER_CLASSPATH", Project.home().resolve("worker/target/test-classes").toString(),
                "FORKSERVER_HANDLER", ConnectionFactsHandler.class.getName());
    }
}
