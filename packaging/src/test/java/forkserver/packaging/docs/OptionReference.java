package forkserver.packaging.docs;

import forkserver.supervisor.Main;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.util.List;

/**
 * docs/reference.md, written from the supervisor's picocli model: the same annotations that
 * make {@code --help}, the man page forkserver(1) and the bash completion (packaging/pom.xml), so
 * the options cannot drift between them. {@link OptionReferenceTest} fails when the file is not
 * what this writes; {@code bin/reference} writes it (through that test, with
 * {@code -Dforkserver.reference.write=true}).
 */
public final class OptionReference {

    /** The file, relative to the project's root. */
    public static final String FILE = "docs/reference.md";

    /** What an engineer who added or changed an option runs: one command. */
    public static final String REGENERATE = "bin/reference";

    private OptionReference() {
    }

    /** The supervisor's command model, as {@code bin/supervisor --help} builds it. */
    public static CommandSpec spec() {
        return new CommandLine(new Main()).getCommandSpec();
    }

    /** The reference, in Markdown. */
    public static String render() {
        CommandSpec spec = spec();
        CommandLine.Model.UsageMessageSpec usage = spec.usageMessage();
        StringBuilder md = new StringBuilder();
        md.append("For everyone who runs `forkserver` (`bin/supervisor` in a checkout): every option, generated from\n")
                .append("the same picocli model as `--help`, the man page forkserver(1) and the bash completion.\n\n")
                .append("# Option reference\n\n")
                .append("<!-- Generated: do not edit. After changing an option in supervisor/src/main/java/forkserver/\n")
                .append("     supervisor/Options.java, run ").append(REGENERATE).append(" and commit docs/reference.md. -->\n\n")
                .append("```\n").append(spec.name()).append(" [OPTIONS] [--] [COMMAND [ARG...]]\n```\n\n");
        for (String line : usage.header()) {
            md.append(text(line)).append("\n");
        }
        md.append("\n");
        for (String line : usage.description()) {
            if (!line.isBlank()) {
                md.append(text(line)).append("\n\n");
            }
        }
        md.append("The [user guide](user-guide.md) says how the options work together; durations are written\n")
                .append("`500ms`, `10s`, `2m`, `1h` (a bare number is seconds), at most `8760h`.\n\n");

        md.append("## Options\n\n");
        for (OptionSpec option : spec.options()) {
            if (option.hidden()) {
                continue;
            }
            md.append("### ").append(String.join(", ", option.names().length == 0 ? List.of()
                    : java.util.Arrays.stream(option.names()).map(name -> "`" + name + "`").toList())).append("\n\n");
            md.append("`").append(synopsis(option)).append("`\n\n");
            for (String line : option.description()) {
                md.append(text(line)).append("\n");
            }
            md.append("\n");
        }

        md.append("## Arguments\n\n");
        for (PositionalParamSpec parameter : spec.positionalParameters()) {
            if (parameter.hidden()) {
                continue;
            }
            md.append("### ").append(parameter.paramLabel()).append("\n\n");
            for (String line : parameter.description()) {
                md.append(text(line)).append("\n");
            }
            md.append("\n");
        }

        if (!usage.exitCodeList().isEmpty()) {
            md.append("## Exit status\n\n| status | meaning |\n| --- | --- |\n");
            usage.exitCodeList().forEach((code, meaning) ->
                    md.append("| ").append(code.strip()).append(" | ").append(text(meaning)).append(" |\n"));
            md.append("\n");
        }

        StringBuilder footer = new StringBuilder();
        for (String line : usage.footer()) {
            footer.append(line.isBlank() ? "\n\n" : text(line) + " ");
        }
        String notes = footer.toString().strip().replaceAll(" *\n\n+ *", "\n\n");
        if (!notes.isEmpty()) {
            md.append("## Environment and signals\n\n").append(notes).append("\n");
        }
        return md.toString();
    }

    /** How the option is written: {@code --listen HOST:PORT}, or the flag alone. */
    private static String synopsis(OptionSpec option) {
        String longest = option.longestName();
        return option.typeInfo().isBoolean() || option.arity().max() == 0
                ? longest : longest + " " + option.paramLabel();
    }

    /**
     * A line of the model as Markdown text: picocli's format specifiers resolved, and the
     * characters that would turn text into markup (brackets read as links, asterisks as
     * emphasis, angle brackets as HTML) escaped.
     */
    static String text(String line) {
        String plain = line.replace("%n", "\n").replace("%%", "%");
        StringBuilder md = new StringBuilder(plain.length());
        for (int i = 0; i < plain.length(); i++) {
            char c = plain.charAt(i);
            if (c == '\\' || c == '[' || c == ']' || c == '*' || c == '<' || c == '>' || c == '`' || c == '|') {
                md.append('\\');
            }
            md.append(c);
        }
        return md.toString();
    }
}
