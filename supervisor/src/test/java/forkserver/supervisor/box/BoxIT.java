package forkserver.supervisor.box;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import forkserver.posix.Posix;

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
}
