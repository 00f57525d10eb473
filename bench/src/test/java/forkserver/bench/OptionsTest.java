package forkserver.bench;

import forkserver.testkit.Command;
import forkserver.testkit.Project;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class OptionsTest {

    @Test
    void quickAndOverrides() {
        Options options = Options.parse(new String[] {"--quick", "--models", "thread, process", "--seconds", "1"});
        assertEquals(List.of("thread", "process"), options.models());
        assertEquals(Workload.QUICK.withSeconds(1), options.workload());
    }

    @Test
    void theFullRunIsTheDefault() {
        Options options = Options.parse(new String[0]);
        assertNull(options.models());
        assertEquals(Workload.FULL, options.workload());
    }

    /** Without --report a run writes where git does not look, so it cannot overwrite the committed report. */
    @Test
    void theDefaultOutputIsIgnoredByGit() {
        assumeTrue(Files.isDirectory(Project.home().resolve(".git")) || Files.isRegularFile(Project.home().resolve(".git")),
                "not a git checkout");
        for (String file : new String[] {"report.md", "models.csv", "scale.csv", "models.png", "scale.png", "logs/process-sustained.log"}) {
            String path = Options.DEFAULT_OUT.resolve(file).toString();
            Command.Result ignored = Command.run(List.of("git", "-C", Project.home().toString(), "check-ignore", "-q", path),
                    "", Duration.ofSeconds(30));
            assertEquals(0, ignored.exitValue(), path + " is ignored by git: " + ignored.stderr());
            Command.Result tracked = Command.run(List.of("git", "-C", Project.home().toString(), "ls-files", path),
                    "", Duration.ofSeconds(30));
            assertEquals("", tracked.stdout(), path + " is not tracked");
        }
    }

    @Test
    void usageErrorsSayWhatIsWrong() {
        assertEquals("--sessions wants a positive whole number, not '0'", message("--sessions", "0"));
        assertEquals("--report needs a value", message("--report"));
        assertEquals("unknown option '-q' (see --help)", message("-q"));
        assertEquals("--scale wants increasing numbers, not '100,10'", message("--scale", "100,10"));
        assertEquals("--scale wants a positive whole number, not 'x'", message("--scale", "10,x"));
    }

    @Test
    void theScaleLadderIsAListOrNone() {
        assertEquals(List.of(10, 1000), Options.parse(new String[] {"--scale", "10, 1000"}).workload().ladder());
        assertEquals(List.of(), Options.parse(new String[] {"--scale", "0"}).workload().ladder());
        assertEquals(List.of(10, 100, 1000, 10_000), Options.parse(new String[0]).workload().ladder());
    }

    @Test
    void theQuickRunIsEstimatedUnderNinetySeconds() {
        Workload quick = Workload.QUICK;
        List<Model> models = Options.parse(new String[] {"--quick"}).chosenModels();
        assertTrue(models.stream().noneMatch(m -> m.family() == Model.Family.REFERENCE), "--quick leaves the references out");
        double seconds = models.stream().mapToDouble(quick::estimateSeconds).sum()
                + Scale.estimateSeconds(models, quick.ladder(), quick.scaleRounds(), quick.scaleOpenSeconds());
        assertTrue(seconds < 90, "estimate " + seconds + " s");
    }

    private static String message(String... args) {
        return assertThrows(IllegalArgumentException.class, () -> Options.parse(args)).getMessage();
    }
}
