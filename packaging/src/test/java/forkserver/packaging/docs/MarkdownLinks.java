package forkserver.packaging.docs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The relative links and {@code #anchors} of Markdown files, checked offline as GitHub renders
 * them: a link's file (or folder) must exist inside the project, and an anchor into a Markdown
 * file must be one of its headings' anchors (GitHub's rule: the heading's text in lower case,
 * punctuation dropped, each space a hyphen, {@code -1}, {@code -2}... for repeats) or an explicit
 * {@code <a id>}/{@code <a name>}. Links with a scheme ({@code https:}, {@code man:}) are not
 * followed: the tests run without a network. Code (fenced blocks, inline spans) holds no links.
 */
final class MarkdownLinks {

    /** {@code [text](target "title")} and {@code ![alt](target)}; the text may hold code spans. */
    private static final Pattern INLINE = Pattern.compile("\\[(?:[^\\[\\]]|\\[[^\\]]*\\])*\\]\\(\\s*<?([^)\\s>]*)>?(?:\\s+\"[^\"]*\")?\\s*\\)");
    /** {@code [label]: target}, a reference definition. */
    private static final Pattern DEFINITION = Pattern.compile("^ {0,3}\\[[^\\]]+\\]:\\s*<?(\\S+?)>?(?:\\s.*)?$");
    private static final Pattern HTML_LINK = Pattern.compile("<(?:a|img)\\b[^>]*?\\b(?:href|src)\\s*=\\s*\"([^\"]*)\"", Pattern.CASE_INSENSITIVE);
    private static final Pattern HTML_ANCHOR = Pattern.compile("<a\\b[^>]*?\\b(?:id|name)\\s*=\\s*\"([^\"]+)\"", Pattern.CASE_INSENSITIVE);
    private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:");
    private static final Pattern ATX = Pattern.compile("^ {0,3}#{1,6}(?:\\s+(.*?))?(?:\\s+#+)?\\s*$");
    private static final Pattern FENCE = Pattern.compile("^ {0,3}(`{3,}|~{3,})");
    private static final Pattern CODE_SPAN = Pattern.compile("(`+)(.+?)\\1");

    /** One link that points nowhere: where it is, what it says, and why it fails. */
    record Broken(Path file, int line, String target, String why) {
        @Override
        public String toString() {
            return file + ":" + line + ": " + target + ": " + why;
        }
    }

    private final Path root;
    private final Map<Path, Set<String>> anchors = new HashMap<>();

    /** {@code root}: the project; no link may leave it. */
    MarkdownLinks(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    /** Every broken link of {@code file}, in order. */
    List<Broken> check(Path file) throws IOException {
        Path source = file.toAbsolutePath().normalize();
        List<Broken> broken = new ArrayList<>();
        List<String> lines = prose(Files.readAllLines(source));
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            for (String target : targets(line)) {
                String why = why(source, target);
                if (why != null) {
                    broken.add(new Broken(root.relativize(source), i + 1, target, why));
                }
            }
        }
        return broken;
    }

    /** Why {@code target}, linked from {@code source}, points nowhere; null when it points somewhere. */
    private String why(Path source, String target) {
        if (target.isEmpty()) {
            return "an empty link";
        }
        if (SCHEME.matcher(target).find() || target.startsWith("//")) {
            return null; // absolute: not checked offline
        }
        int hash = target.indexOf('#');
        String path = hash < 0 ? target : target.substring(0, hash);
        String anchor = hash < 0 ? null : target.substring(hash + 1);
        int query = path.indexOf('?');
        if (query >= 0) {
            path = path.substring(0, query);
        }
        Path file;
        if (path.isEmpty()) {
            file = source;
        } else {
            String decoded = URLDecoder.decode(path.replace("+", "%2B"), StandardCharsets.UTF_8);
            file = (decoded.startsWith("/") ? root.resolve(decoded.substring(1)) : source.getParent().resolve(decoded)).normalize();
            if (!file.startsWith(root)) {
                return "leaves the project";
            }
            if (!Files.exists(file)) {
                return "no such file: " + root.relativize(file);
            }
        }
        if (anchor == null || !file.toString().endsWith(".md") || Files.isDirectory(file)) {
            return null; // an anchor into code (#L10) is GitHub's viewer's, not checked
        }
        Set<String> known = anchorsOf(file);
        if (known.contains(anchor)) {
            return null;
        }
        return "no heading or anchor '#" + anchor + "' in " + root.relativize(file);
    }

    private Set<String> anchorsOf(Path file) {
        return anchors.computeIfAbsent(file, f -> {
            try {
                return anchors(Files.readAllLines(f));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /** The anchors GitHub makes for a Markdown text: one per heading, and the explicit ones. */
    static Set<String> anchors(List<String> markdown) {
        Set<String> anchors = new LinkedHashSet<>();
        Map<String, Integer> seen = new HashMap<>();
        List<String> lines = prose(markdown);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            String heading = null;
            Matcher atx = ATX.matcher(line);
            if (atx.matches() && !line.isBlank()) {
                heading = atx.group(1) == null ? "" : atx.group(1);
            } else if (i + 1 < lines.size() && !line.isBlank() && lines.get(i + 1).matches(" {0,3}(=+|-+)\\s*")
                    && !line.startsWith("    ") && !line.matches(" {0,3}([-*_]\\s*){3,}")) {
                heading = line.strip(); // setext
            }
            if (heading != null) {
                String slug = slug(heading.strip());
                int count = seen.merge(slug, 1, Integer::sum);
                anchors.add(count == 1 ? slug : slug + "-" + (count - 1));
            }
            Matcher html = HTML_ANCHOR.matcher(markdown.get(i));
            while (html.find()) {
                anchors.add(html.group(1));
            }
        }
        return anchors;
    }

    /**
     * GitHub's anchor for a heading: its rendered text (code spans' contents, links' texts, no
     * emphasis markers or HTML tags) in lower case, every character that is not a letter, a
     * digit, a space, a hyphen or an underscore dropped, and each space a hyphen.
     */
    static String slug(String heading) {
        String text = heading
                .replaceAll("!?\\[((?:[^\\[\\]]|\\[[^\\]]*\\])*)\\]\\([^)]*\\)", "$1") // links and images: their text
                .replaceAll("<[^>]+>", "") // HTML tags
                .replace("`", "")
                .replace("*", "") // emphasis (headings here use no _emphasis_: an underscore is kept)
                .toLowerCase(Locale.ROOT);
        StringBuilder slug = new StringBuilder(text.length());
        text.codePoints().forEach(c -> {
            if (c == ' ') {
                slug.append('-');
            } else if (c == '-' || c == '_' || Character.isLetterOrDigit(c)
                    || Character.getType(c) == Character.NON_SPACING_MARK) {
                slug.appendCodePoint(c);
            }
        });
        return slug.toString();
    }

    /** Every link target on a line of prose. */
    static List<String> targets(String line) {
        String prose = CODE_SPAN.matcher(line).replaceAll(m -> " ".repeat(m.group().length()));
        List<String> targets = new ArrayList<>();
        for (Pattern pattern : List.of(INLINE, HTML_LINK)) {
            Matcher m = pattern.matcher(prose);
            while (m.find()) {
                targets.add(m.group(1));
            }
        }
        Matcher definition = DEFINITION.matcher(prose);
        if (definition.matches()) {
            targets.add(definition.group(1));
        }
        return targets;
    }

    /**
     * The lines with fenced code blocks blanked (the same number of lines, so that a broken
     * link's line number is the file's): a link or a {@code #} in code is code.
     */
    static List<String> prose(List<String> markdown) {
        List<String> lines = new ArrayList<>(markdown.size());
        String fence = null;
        for (String line : markdown) {
            Matcher m = FENCE.matcher(line);
            if (fence == null && m.find()) {
                fence = m.group(1);
                lines.add("");
            } else if (fence != null) {
                if (line.strip().startsWith(fence) && line.strip().replace(fence.substring(0, 1), "").isEmpty()) {
                    fence = null;
                }
                lines.add("");
            } else {
                lines.add(line);
            }
        }
        return lines;
    }
}
