package forkserver.supervisor.admit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code --rules FILE}: one rule a line, {@code allow BLOCK [NAME=VALUE ...]} or
 * {@code deny BLOCK}; {@code #} starts a comment; blank lines are ignored. Read whole or not at
 * all: a broken file is reported with its first bad line and no rule of it is used.
 */
public final class RuleFile {

    /** A file that cannot be used: where and why, for one log or usage line. */
    public static final class Invalid extends Exception {

        private static final long serialVersionUID = 1L;

        Invalid(String message) {
            super(message);
        }
    }

    private RuleFile() {
    }

    static List<AccessRules.Rule> read(Path file) throws Invalid {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Invalid(file + ": cannot read: " + (e.getMessage() == null ? e : e.getMessage()));
        }
        List<AccessRules.Rule> rules = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            int hash = line.indexOf('#');
            String text = (hash < 0 ? line : line.substring(0, hash)).strip();
            if (text.isEmpty()) {
                continue;
            }
            String origin = file.getFileName() + ":" + (i + 1);
            String[] verb = text.split("\\s+", 2);
            try {
                AccessRules.Action action = switch (verb[0]) {
                    case "allow" -> AccessRules.Action.ALLOW;
                    case "deny" -> AccessRules.Action.DENY;
                    default -> throw new IllegalArgumentException("expected 'allow' or 'deny', got '" + verb[0] + "'");
                };
                rules.add(AccessRules.parse(action, verb.length > 1 ? verb[1] : "", origin));
            } catch (IllegalArgumentException e) {
                throw new Invalid(file + " line " + (i + 1) + ": " + e.getMessage());
            }
        }
        return rules;
    }
}
