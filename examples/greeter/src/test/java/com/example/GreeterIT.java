package com.example;

import forkserver.handler.testkit.ForkserverProcess;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The handler as forkserver serves it: a supervisor on a free port, one worker process per client. */
class GreeterIT {

    @Test
    void greetsOverTcpAndTheEndLineCarriesTheStatus() throws IOException {
        try (ForkserverProcess server = ForkserverProcess.builder().handler(Greeter.class)
                .handlerArguments("welcome").start()) {
            assertEquals("name? welcome ada, from 127.0.0.1\n", talk(server, "ada\n"));
            server.awaitLog("end .*status=0", Duration.ofSeconds(60));
            assertEquals("name? ", talk(server, "\n"));
            server.awaitLog("end .*status=" + Greeter.EXIT_NO_NAME, Duration.ofSeconds(60));
        }
    }

    private static String talk(ForkserverProcess server, String line) throws IOException {
        try (Socket client = new Socket()) {
            client.connect(server.address(), 10_000);
            client.setSoTimeout(60_000);
            client.getOutputStream().write(line.getBytes(StandardCharsets.UTF_8));
            return new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
