package forkserver.posix;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The hand-off message: what the supervisor encodes is what a spare decodes. */
class SpareProtocolTest {

    @Test
    void variablesAreNulEndedNameValuePairs() {
        byte[] message = "TCPREMOTEIP=::1\0RULE=a=b\0EMPTY=\0ZONE=zürich\0".getBytes(StandardCharsets.UTF_8);
        assertEquals(Map.of("TCPREMOTEIP", "::1", "RULE", "a=b", "EMPTY", "", "ZONE", "zürich"),
                SpareProtocol.decode(message));
    }

    @Test
    void anEmptyMessageHasNoVariables() {
        assertEquals(Map.of(), SpareProtocol.decode(new byte[0]));
    }

    @Test
    void decodingWhatWasEncodedGivesTheVariablesBack() {
        Map<String, String> variables = new LinkedHashMap<>();
        variables.put("TCPREMOTEIP", "127.0.0.1");
        variables.put("RULE", "x=y z");
        variables.put("EMPTY", "");
        byte[] encoded = SpareProtocol.encode(variables);
        assertArrayEquals("TCPREMOTEIP=127.0.0.1\0RULE=x=y z\0EMPTY=\0".getBytes(StandardCharsets.UTF_8), encoded);
        assertEquals(variables, SpareProtocol.decode(encoded));
    }
}
