package forkserver.testkit;

import forkserver.handler.Connection;
import forkserver.worker.EchoHandler;
import forkserver.handler.Handler;

import java.io.IOException;

/**
 * The echo handler, after writing a diagnostic to both System.out and System.err, as a careless
 * handler would: under inetd both are the client's socket unless bin/worker moves them off it.
 * Run it with {@code FORKSERVER_WORKER_CLASSPATH=worker/target/test-classes}.
 */
public final class ChattyEchoHandler implements Handler {

    public static final String DIAGNOSTIC = "chatty diagnostic";

    @Override
    public void serve(Connection connection) throws IOException {
        System.out.println(DIAGNOSTIC + " on System.out from " + connection.remoteIp());
        System.err.println(DIAGNOSTIC + " on System.err from " + connection.remoteIp());
        System.out.flush();
        new EchoHandler().serve(connection);
    }
}
