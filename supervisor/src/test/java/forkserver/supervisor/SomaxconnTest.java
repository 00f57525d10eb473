package forkserver.supervisor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The default backlog is the whole of the kernel's somaxconn (it once read "4" of "4096"). The
 * reading is tested apart from the fallback, which on most machines is the kernel's value too.
 */
class SomaxconnTest {

    @Test
    void theKernelsSomaxconnIsReadWhole() throws IOException {
        try (InputStream in = Files.newInputStream(Options.SOMAXCONN)) {
            int kernel = Integer.parseInt(new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip());
            assertEquals(OptionalInt.of(kernel), Options.readSomaxconn(Options.SOMAXCONN), "read, not the fallback");
            assertEquals(kernel, Options.somaxconn());
        }
    }

    @Test
    void aNumberIsReadAndAnythingElseFallsBack(@TempDir Path dir) throws IOException {
        assertEquals(OptionalInt.of(16384), Options.readSomaxconn(Files.writeString(dir.resolve("a"), "16384\n")));
        assertEquals(OptionalInt.empty(), Options.readSomaxconn(Files.writeString(dir.resolve("b"), "lots\n")));
        assertEquals(OptionalInt.empty(), Options.readSomaxconn(dir.resolve("missing")));
    }
}
