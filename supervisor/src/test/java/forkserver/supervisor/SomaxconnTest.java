package forkserver.supervisor;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The default backlog is the whole of the kernel's somaxconn (it once read "4" of "4096"). */
class SomaxconnTest {

    @Test
    void theDefaultBacklogIsTheKernelsSomaxconn() throws IOException {
        try (InputStream in = Files.newInputStream(Path.of(Main.SOMAXCONN))) {
            int kernel = Integer.parseInt(new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip());
            assertEquals(kernel, Main.somaxconn());
        }
    }
}
