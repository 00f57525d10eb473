package forkserver.worker;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The hand-off message's variables, as the supervisor's Spares writes them. */
class SpareTest {

    @Test
    void variablesAreNulEndedNameValuePairs() {
        byte[] message = "TCPREMOTEIP=::1\0RULE=a=b\0EMPTY=\0ZONE=zürich\0".getBytes(StandardCharsets.UTF_8);
        assertEquals(Map.of("TCPREMOTEIP", "::1", "RULE", "a=b", "EMPTY", "", "ZONE", "zürich"),
                Spare.variables(message));
    }

    @Test
    void anEmptyMessageHasNoVariables() {
        assertEquals(Map.of(), Spare.variables(new byte[0]));
    }
}
