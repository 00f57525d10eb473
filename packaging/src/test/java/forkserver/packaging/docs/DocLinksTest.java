package forkserver.packaging.docs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every relative link and {@code #anchor} in README.md and docs/ points somewhere, as GitHub
 * would resolve it; and the checker itself catches what it should.
 */
class DocLinksTest {

    private static final Path ROOT = Path.of(System.getProperty("forkserver.home", ".."));

    /** README.md, every Markdown file under docs/, and each example's README.md. */
    static List<Path> documentation(Path root) throws IOException {
        List<Path> files = new ArrayList<>();
        files.add(root.resolve("README.md"));
        for (String folder : List.of("docs", "examples")) {
            Path top = root.resolve(folder);
            if (Files.isDirectory(top)) {
                try (Stream<Path> walk = Files.walk(top)) {
                    walk.filter(p -> p.toString().endsWith(".md") && !p.toString().contains("/target/"))
                            .sorted().forEach(files::add);
                }
            }
        }
        return files;
    }

    @Test
    void everyRelativeLinkAndAnchorOfTheDocsPointsSomewhere() throws IOException {
        MarkdownLinks links = new MarkdownLinks(ROOT);
        List<MarkdownLinks.Broken> broken = new ArrayList<>();
        List<Path> files = documentation(ROOT);
        assertTrue(Files.exists(files.getFirst()), "no README.md under " + ROOT.toAbsolutePath());
        for (Path file : files) {
            broken.addAll(links.check(file));
        }
        assertTrue(broken.isEmpty(), broken.size() + " broken link(s):\n" + String.join("\n", broken.stream().map(Object::toString).toList()));
    }

    @Test
    void headingsGetGitHubsAnchors() {
        assertEquals("behind-a-proxy-the-proxy-protocol", MarkdownLinks.slug("Behind a proxy: the PROXY protocol"));
        assertEquals("binbench", MarkdownLinks.slug("`bin/bench`"));
        assertEquals("the-workers-start-up", MarkdownLinks.slug("The worker's start-up"));
        assertEquals("-l---listen", MarkdownLinks.slug("`-l`, `--listen`"));
        assertEquals("compared-with-tcpserver-xinetd-and-systemd-acceptyes", MarkdownLinks.slug("Compared with tcpserver, xinetd and systemd `Accept=yes`"));
        assertEquals("forkserver_children", MarkdownLinks.slug("`forkserver_children`"));
        assertEquals("readiness-status-and-the-watchdog", MarkdownLinks.slug("Readiness, status and the *watchdog*"));
        assertEquals("see-the-guide", MarkdownLinks.slug("See [the guide](guide.md)"));
        assertEquals("sizing--c", MarkdownLinks.slug("Sizing `-c`"));
        assertEquals("über-straße", MarkdownLinks.slug("Über Straße"));
    }

    @Test
    void repeatedHeadingsAndExplicitAnchorsAreKnown() {
        List<String> page = List.of("# Title", "", "## Usage", "text <a id=\"here\"></a>", "## Usage", "",
                "Setext", "------", "```", "# not a heading", "```");
        assertEquals(List.of("title", "usage", "here", "usage-1", "setext"), new ArrayList<>(MarkdownLinks.anchors(page)));
    }

    @Test
    void theCheckerFindsWhatPointsNowhere(@TempDir Path root) throws IOException {
        Files.createDirectories(root.resolve("docs"));
        Files.writeString(root.resolve("docs/guide.md"), "# Guide\n\n## Two words\n");
        Files.writeString(root.resolve("README.md"), String.join("\n",
                "# Readme",
                "[ok](docs/guide.md) [ok anchor](docs/guide.md#two-words) [self](#readme) [dir](docs/)",
                "[gone](docs/missing.md)",
                "[bad anchor](docs/guide.md#three-words)",
                "[bad self](#nowhere)",
                "[out](../outside.md)",
                "`[code](nowhere.md)` and [web](https://example.com/x) and [man](man:forkserver(1))",
                "```",
                "[fenced](nowhere.md)",
                "```",
                "[ref]: docs/absent.md",
                "![img](pic.png)",
                ""));
        List<String> found = new MarkdownLinks(root).check(root.resolve("README.md")).stream()
                .map(b -> b.line() + " " + b.target()).toList();
        assertEquals(List.of("3 docs/missing.md", "4 docs/guide.md#three-words", "5 #nowhere", "6 ../outside.md",
                "11 docs/absent.md", "12 pic.png"), found);
    }
}
