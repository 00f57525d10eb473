package forkserver.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README quotes the committed report, and nothing else. */
class ReadmeSummaryTest {

    /** The project's top: tests run in the bench module's directory. */
    private static final Path TOP = Path.of("").toAbsolutePath().getParent();

    @Test
    void theReadmesFiguresAreTheCommittedReportsAsTheBenchWritesThem() throws IOException {
        String readme = Files.readString(TOP.resolve("README.md"));
        String current = ReadmeSummary.current(readme);
        assertTrue(current != null, "README.md has the bench's markers");
        assertEquals(ReadmeSummary.render(TOP.resolve("docs/bench")), current,
                "README.md's figures differ from docs/bench: run bin/bench --readme");
    }

    @Test
    void onlyWhatLiesBetweenTheMarkersIsReplaced() {
        String text = "# title\n\n" + ReadmeSummary.BEGIN + "\nold figures\n" + ReadmeSummary.END + "\n\nthe rest\n";
        String replaced = ReadmeSummary.replaced(text, "new figures\n", Path.of("README.md"));
        assertEquals("# title\n\n" + ReadmeSummary.BEGIN + "\nnew figures\n" + ReadmeSummary.END + "\n\nthe rest\n", replaced);
        assertEquals("new figures\n", ReadmeSummary.current(replaced));
    }

    @Test
    void aReadmeWithoutMarkersIsRefusedInOneLine() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ReadmeSummary.replaced("# title\nno markers\n", "figures\n", Path.of("README.md")));
        assertTrue(e.getMessage().startsWith("README.md has no '<!-- bench figures"), e.getMessage());
    }

    @Test
    void readmeTakesNoOtherOption() {
        var err = new java.io.ByteArrayOutputStream();
        assertEquals(2, Bench.run(new String[] {"--readme", "--quick"}, new java.io.PrintStream(new java.io.ByteArrayOutputStream()),
                new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8)));
        assertEquals("bench: --readme runs nothing: it takes no other option\n",
                err.toString(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void aReportWithoutAModelTheReadmeQuotesIsNamed(@TempDir Path report) throws IOException {
        Path committed = TOP.resolve("docs/bench");
        Files.copy(committed.resolve("report.md"), report.resolve("report.md"));
        Files.copy(committed.resolve("scale.csv"), report.resolve("scale.csv"));
        String models = Files.readString(committed.resolve("models.csv")).lines()
                .filter(line -> !line.startsWith("process-native,")).reduce("", (a, b) -> a + b + "\n");
        Files.writeString(report.resolve("models.csv"), models);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ReadmeSummary.render(report));
        assertEquals("no first_echo_p50_ms for process-native", e.getMessage());
    }
}
