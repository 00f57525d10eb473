package forkserver.packaging.docs;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * docs/reference.md is the picocli model's: every option {@code --help} lists has its section,
 * and the file is exactly what {@link OptionReference} writes. Whoever adds or changes an option
 * is told the one command that regenerates it.
 */
class OptionReferenceTest {

    /** Set by bin/reference: write docs/reference.md instead of checking it. */
    static final String WRITE = "forkserver.reference.write";
    private static final Path ROOT = Path.of(System.getProperty("forkserver.home", ".."));
    private static final String HOW = "regenerate it with `" + OptionReference.REGENERATE + "` (from the project root)"
            + " and commit " + OptionReference.FILE;

    /** An option's first column in picocli's usage: {@code "  -l, --listen=..."} or {@code "      --stdio=..."}. */
    private static final Pattern HELP_OPTION = Pattern.compile("^ {2}(?:(-[A-Za-z]), | {4})(--[A-Za-z][\\w-]*)|^ {2}(-[A-Za-z])\\b");
    /** A section of the reference: {@code ### `-l`, `--listen`}. */
    private static final Pattern REFERENCE_NAME = Pattern.compile("`(--?[A-Za-z][\\w-]*)`");

    @Test
    void everyOptionOfHelpHasASectionInTheReference() throws IOException {
        Set<String> help = optionsOfHelp(new CommandLine(new forkserver.supervisor.Main())
                .getUsageMessage(CommandLine.Help.Ansi.OFF));
        // The parse must find the options, or this test could never fail.
        assertTrue(help.size() >= 20 && help.contains("--listen") && help.contains("-c") && help.contains("--help"),
                "the options were not found in --help: " + help);
        Set<String> reference = sectionsOfReference(Files.readString(ROOT.resolve(OptionReference.FILE)));
        List<String> missing = new ArrayList<>(help);
        missing.removeAll(reference);
        if (!missing.isEmpty()) {
            fail(OptionReference.FILE + " has no section for " + String.join(", ", missing) + " of --help: " + HOW);
        }
    }

    @Test
    void theReferenceIsWhatThePicocliModelGenerates() throws IOException {
        String generated = OptionReference.render();
        if (Boolean.getBoolean(WRITE)) { // bin/reference
            Files.createDirectories(ROOT.resolve(OptionReference.FILE).getParent());
            Files.writeString(ROOT.resolve(OptionReference.FILE), generated);
            return;
        }
        String committed = Files.readString(ROOT.resolve(OptionReference.FILE));
        if (!committed.equals(generated)) {
            String[] a = committed.split("\n", -1);
            String[] b = generated.split("\n", -1);
            int line = 0;
            while (line < Math.min(a.length, b.length) && a[line].equals(b[line])) {
                line++;
            }
            fail(OptionReference.FILE + " differs from the supervisor's picocli model at line " + (line + 1)
                    + " (committed: '" + (line < a.length ? a[line] : "<end>") + "', generated: '"
                    + (line < b.length ? b[line] : "<end>") + "'): " + HOW);
        }
    }

    @Test
    void theHelpParserFindsShortAndLongNames() {
        String help = """
                Usage: forkserver [-hV] [--listen=HOST:PORT]
                      [COMMAND...]          Program
                  -l, --listen=HOST:PORT    Address to listen on
                      --stdio=MODE          in: the connection
                                              --reject-message, close, log the reason).
                  -h, --help                Show this help message and exit.
                """;
        assertEquals(Set.of("-l", "--listen", "--stdio", "-h", "--help"), optionsOfHelp(help));
    }

    @Test
    void aReferenceWithoutAnOptionsSectionLacksIt() {
        Set<String> names = sectionsOfReference("### `-l`, `--listen`\n\n`--listen=HOST:PORT`; see `--stdio`\n");
        assertEquals(Set.of("-l", "--listen"), names);
    }

    static Set<String> optionsOfHelp(String help) {
        Set<String> names = new LinkedHashSet<>();
        for (String line : help.split("\n")) {
            Matcher m = HELP_OPTION.matcher(line);
            if (m.find()) {
                for (int group = 1; group <= m.groupCount(); group++) {
                    if (m.group(group) != null) {
                        names.add(m.group(group));
                    }
                }
            }
        }
        return names;
    }

    /** The names in the reference's option headings: what a reader of it finds. */
    static Set<String> sectionsOfReference(String markdown) {
        Set<String> names = new LinkedHashSet<>();
        for (String line : markdown.split("\n")) {
            if (line.startsWith("### ")) {
                Matcher m = REFERENCE_NAME.matcher(line);
                while (m.find()) {
                    names.add(m.group(1));
                }
            }
        }
        return names;
    }
}
