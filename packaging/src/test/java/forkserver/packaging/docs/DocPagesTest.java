package forkserver.packaging.docs;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each page of docs/ has one reader and says so before anything else: its first line of text
 * (after the title, if the title comes first) begins with "For ...". Generated reports in
 * folders under docs/ (the benchmark reports) are the benchmarks' output, not pages.
 */
class DocPagesTest {

    private static final Path ROOT = Path.of(System.getProperty("forkserver.home", ".."));
    /** "For operators who ...", also as emphasis or a quote ("*For ...", "> For ..."). */
    private static final Pattern READER = Pattern.compile("^(?:> ?)?[*_]{0,2}For \\S");

    @Test
    void everyPageOfDocsNamesItsReaderFirst() throws IOException {
        List<String> without = new ArrayList<>();
        Path docs = ROOT.resolve("docs");
        try (Stream<Path> pages = Files.list(docs)) {
            for (Path page : pages.filter(p -> p.toString().endsWith(".md")).sorted().toList()) {
                if (!namesItsReader(Files.readAllLines(page))) {
                    without.add(ROOT.relativize(page).toString());
                }
            }
        }
        assertTrue(without.isEmpty(), "these pages do not say who they are for in their first line"
                + " (\"For operators who ...\", before or right after the title): " + without);
    }

    @Test
    void theReaderLineIsTheFirstLineOfText() {
        assertTrue(namesItsReader(List.of("For operators: systemd, inetd.", "", "# Operations")));
        assertTrue(namesItsReader(List.of("# Operations", "", "*For operators* who run it.")));
        assertEquals(false, namesItsReader(List.of("# Operations", "", "How to run it.", "For operators.")));
        assertEquals(false, namesItsReader(List.of("# Operations")));
    }

    static boolean namesItsReader(List<String> lines) {
        for (String line : lines) {
            if (line.isBlank() || line.startsWith("# ") || line.startsWith("<!--")) {
                continue;
            }
            return READER.matcher(line).find();
        }
        return false;
    }
}
