package forkserver.bench;

import forkserver.testkit.Await;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The cgroup the scale ladder puts around each server: entered before exec, charged, always removed. */
class MemoryCgroupIT {

    @Test
    void aWrappedCommandRunsInTheCgroupWithItsDescriptorLimitAndIsCharged() throws IOException, InterruptedException {
        MemoryCgroup cgroup = MemoryCgroup.create("it-" + System.nanoTime());
        assumeTrue(cgroup != null, MemoryCgroup.unavailable());
        Path directory = cgroup.directory();
        Process process = null;
        try {
            // A shell that says its limit and cgroup, then holds 8 MiB of touched memory.
            process = new ProcessBuilder(MemoryCgroup.wrap(cgroup, 4096, List.of("/bin/sh", "-c",
                    "ulimit -n; cat /proc/self/cgroup | grep memory; exec " + Models.PYTHON + " -c 'import sys,time; b=bytearray(8<<20);"
                            + " print(\"held\", flush=True); time.sleep(60)'"))).redirectErrorStream(true).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("4096", out.readLine());
            assertTrue(out.readLine().endsWith("/" + directory.getFileName()), "in the cgroup from the start");
            assertEquals("held", out.readLine());
            assertTrue(cgroup.usageKiB() >= 8 * 1024, "8 MiB touched inside is charged: " + cgroup.usageKiB() + " KiB");
        } finally {
            if (process != null) {
                process.destroyForcibly().waitFor();
            }
            cgroup.close();
        }
        assertFalse(Files.exists(directory), "removed once its process is gone");
    }

    @Test
    void closingKillsWhatIsStillInsideAndRemovesIt() throws IOException {
        MemoryCgroup cgroup = MemoryCgroup.create("it-" + System.nanoTime());
        assumeTrue(cgroup != null, MemoryCgroup.unavailable());
        Process process = new ProcessBuilder(MemoryCgroup.wrap(cgroup, 1024, List.of("sleep", "600"))).start();
        Await.until("the sleep in the cgroup", Duration.ofSeconds(10),
                () -> members(cgroup).contains(Long.toString(process.pid())));
        cgroup.close();
        assertFalse(Files.exists(cgroup.directory()));
        Await.until("the sleep to be killed", Duration.ofSeconds(30), () -> !process.isAlive());
    }

    private static List<String> members(MemoryCgroup cgroup) {
        try {
            return Files.readAllLines(cgroup.directory().resolve("cgroup.procs"));
        } catch (IOException e) {
            return List.of();
        }
    }
}
