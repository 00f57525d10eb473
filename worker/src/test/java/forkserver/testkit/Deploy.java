package forkserver.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;

/**
 * The shipped configuration in deploy/, made to run here: the project where the files say
 * /opt/forkserver, the test's JDK and user instead of the operator's.
 */
public final class Deploy {

    /** Where the shipped files expect forkserver to be installed. */
    public static final String INSTALLED_HOME = "/opt/forkserver";

    private Deploy() {
    }

    public static Path file(String relative) {
        return Project.home().resolve("deploy").resolve(relative);
    }

    /** The text of a shipped file with /opt/forkserver, JAVA_HOME and the user made local. */
    public static String localized(String relative) {
        try {
            return Files.readString(file(relative))
                    .replace(INSTALLED_HOME, Project.home().toString())
                    .replaceAll("JAVA_HOME=\\S+", Matcher.quoteReplacement("JAVA_HOME=" + Project.javaHome()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The first active line of deploy/inetd/inetd.conf whose wait field starts with
     * {@code waitField} ({@code nowait} or {@code wait}), from the socket type on (for
     * {@link Activators#inetd}), run as this test's user.
     */
    public static String inetdLine(String waitField) {
        for (String line : localized("inetd/inetd.conf").lines().toList()) {
            String[] fields = line.split("\\s+", 6);
            if (!line.startsWith("#") && fields.length == 6 && fields[3].startsWith(waitField)) {
                return fields[3] + " " + System.getProperty("user.name") + " " + fields[5];
            }
        }
        throw new AssertionError("no active '" + waitField + "' line in " + file("inetd/inetd.conf"));
    }
}
