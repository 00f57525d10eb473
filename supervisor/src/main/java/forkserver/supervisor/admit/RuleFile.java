package forkserver.supervisor.admit;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code --rules FILE}: one rule a line, {@code allow BLOCK [NAME=VALUE ...]} or
 * {@code deny BLOCK}; {@code #} starts a comment; blank lines are ignored. Read whole or not at
 * all: a broken file is reported with its first bad line and no rule of it is used.
 *
 * <p>The file is an input like any other: it must be a regular file of at most
 * {@link #MAX_BYTES}, opened without blocking (a FIFO or a device named by mistake is refused at
 * once, never waited on or read without end), and no byte of it is repeated in the log: a failure
 * names the line and what was expected there, so a file named by mistake (or by an attacker) that
 * holds a secret does not end up in the journal.
 */
public final class RuleFile {

    /** The largest rules file read: far more than any list of blocks an operator writes by hand. */
    public static final int MAX_BYTES = 1 << 20;

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
        String text = contents(file);
        List<String> lines = text.lines().toList();
        List<AccessRules.Rule> rules = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            int hash = line.indexOf('#');
            String rule = (hash < 0 ? line : line.substring(0, hash)).strip();
            if (rule.isEmpty()) {
                continue;
            }
            String origin = file.getFileName() + ":" + (i + 1);
            String[] verb = rule.split("\\s+", 2);
            try {
                AccessRules.Action action = switch (verb[0]) {
                    case "allow" -> AccessRules.Action.ALLOW;
                    case "deny" -> AccessRules.Action.DENY;
                    default -> throw new BadRule("expected 'allow' or 'deny'", "expected 'allow' or 'deny'");
                };
                rules.add(AccessRules.parse(action, verb.length > 1 ? verb[1] : "", origin));
            } catch (BadRule e) {
                throw new Invalid(file + " line " + (i + 1) + ": " + e.expected());
            }
        }
        return rules;
    }

    /**
     * The file's text: opened with O_NONBLOCK (a FIFO without a writer would block the opening
     * thread for ever), checked to be a regular file of at most {@link #MAX_BYTES} through the
     * descriptor itself (so nothing can be swapped in between), then read through it.
     */
    private static String contents(Path file) throws Invalid {
        int fd;
        try {
            fd = Posix.open(file.toString(), Posix.O_RDONLY | Posix.O_NONBLOCK | Posix.O_NOCTTY | Posix.O_CLOEXEC);
        } catch (ErrnoException e) {
            throw new Invalid(file + ": cannot open: " + e.reason());
        }
        try {
            // /proc/self/fd/N is the open file itself: its attributes are fstat's, and opening it
            // opens the same file again, whatever the path now names.
            Path opened = Path.of("/proc/self/fd/" + fd);
            BasicFileAttributes attributes = Files.readAttributes(opened, BasicFileAttributes.class);
            if (!attributes.isRegularFile()) {
                throw new Invalid(file + ": not a regular file");
            }
            byte[] bytes;
            try (InputStream in = Files.newInputStream(opened)) {
                bytes = in.readNBytes(MAX_BYTES + 1); // one byte more than allowed tells a larger file
            }
            if (bytes.length > MAX_BYTES) {
                throw new Invalid(file + ": larger than " + MAX_BYTES / 1024 + " KiB");
            }
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                throw new Invalid(file + ": not UTF-8 text");
            }
        } catch (IOException e) {
            throw new Invalid(file + ": cannot read: " + (e.getMessage() == null ? e : e.getMessage()));
        } finally {
            try {
                Posix.close(fd);
            } catch (ErrnoException e) {
                // closed either way on Linux
            }
        }
    }
}
