package forkserver.supervisor.box;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import forkserver.posix.Posix;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Boxes with real cgroups on this host (the hybrid layout here: memory, pids and cpu on v1, a
 * v2 hierarchy beside them), real processes and real limits: {@link BoxScenarios}, which the
 * cgroup v2 VM of bin/test-cgroup-v2 runs too. Needs root (cgroups are root's without a
 * systemd delegation).
 */
class BoxIT {

    @BeforeAll
    static void root() {
        Assumptions.assumeTrue(Posix.effectiveIds()[0] == 0, "boxes need root here");
    }

    @Test
    void detected() {
        BoxScenarios.detected();
    }

    @Test
    void taskLimit() throws Exception {
        BoxScenarios.taskLimit();
    }

    @Test
    void memoryLimit() throws Exception {
        BoxScenarios.memoryLimit();
    }

    @Test
    void cpuLimit() throws Exception {
        BoxScenarios.cpuLimit();
    }

    @Test
    void leftoversStopped() throws Exception {
        BoxScenarios.leftoversStopped();
    }

    @Test
    void costAgrees() throws Exception {
        BoxScenarios.costAgrees();
    }

    @Test
    void missingController() throws Exception {
        BoxScenarios.missingController();
    }

    @Test
    void wholeOrAbsent() throws Exception {
        BoxScenarios.wholeOrAbsent();
    }

    @Test
    void killWithoutCgroupKill() throws Exception {
        BoxScenarios.killWithoutCgroupKill();
    }

    /** Pure cgroup v2 only (bin/test-cgroup-v2): does nothing on the hybrid layout. */
    @Test
    void sharedCgroup() throws Exception {
        BoxScenarios.sharedCgroup();
    }

    /**
     * bin/worker joins the box named in its environment before it runs anything (the supervisor
     * does not place it here): its CPU time is the box's. Given a box it cannot join, it exits 126
     * rather than run unboxed.
     */
    @Test
    void workerScriptPlacesItself() throws Exception {
        Path worker = Path.of(System.getProperty("forkserver.home", ".")).resolve("bin/worker");
        try (ServiceCgroup service = ServiceCgroup.make(true);
             Boxes boxes = Boxes.open(service.layout(), BoxLimits.NONE);
             Box box = boxes.create()) {
            ProcessBuilder builder = new ProcessBuilder(worker.toString(), "--print-command").redirectErrorStream(true);
            builder.environment().putAll(box.environment());
            Process process = builder.start();
            process.getInputStream().readAllBytes();
            assertTrue(process.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, process.exitValue());
            assertTrue(box.cost().cpuMicros() > 0, "bin/worker ran in its box: " + box.cost());

            builder.environment().putAll(Map.of(Box.PROCS_VARIABLE, box.procsFiles().getFirst() + ":/nonexistent/cgroup.procs"));
            Process refused = builder.start();
            refused.getInputStream().readAllBytes();
            assertTrue(refused.waitFor(60, TimeUnit.SECONDS));
            assertEquals(126, refused.exitValue());
            assertEquals(List.of(), java.util.Arrays.stream(box.processes()).boxed().toList());
        }
    }
}
