package forkserver.supervisor;

import picocli.CommandLine.IVersionProvider;

/**
 * {@code --version}: the version Maven wrote into the jar's manifest (Implementation-Version, the
 * pom's version), so that the checkout's jar, the Debian package and its man page all say the
 * version they were built from, and nobody has to remember to edit a string.
 */
final class Version implements IVersionProvider {

    /** What {@code --version} prints when the classes do not come from the jar (an IDE, unit tests). */
    static final String UNKNOWN = "unknown (not run from forkserver's jar)";

    @Override
    public String[] getVersion() {
        return new String[] {"forkserver " + of()};
    }

    /** The manifest's Implementation-Version of the jar holding this class, else {@link #UNKNOWN}. */
    static String of() {
        String version = Version.class.getPackage().getImplementationVersion();
        return version != null ? version : UNKNOWN;
    }
}
