# Sourced by the bin/ scripts: where the project is, which JDK to run, and building on first use.
# Kept to shell built-ins on the fast path: bin/worker pays for this on every connection.

FORKSERVER_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readonly FORKSERVER_MIN_JAVA=25

# What the scripts run. In a checkout: each module's build output, which Maven makes on first use,
# and a JDK >= 25 found on the machine.
FORKSERVER_INSTALLED=
FORKSERVER_SUPERVISOR_JAR=$FORKSERVER_HOME/supervisor/target/forkserver-supervisor.jar
FORKSERVER_WORKER_JAR=$FORKSERVER_HOME/worker/target/forkserver-worker.jar
FORKSERVER_POSIX_JAR=$FORKSERVER_HOME/posix/target/forkserver-posix.jar
FORKSERVER_AOT_DIR=$FORKSERVER_HOME/worker/target
FORKSERVER_SUPERVISOR_AOT_CACHE= # the checkout's build makes none (packaging/SupervisorTraining.java)
# An installed tree (the Debian package that bin/package makes) has its own Java runtime and
# prebuilt jars, and bin/lib/installed.sh (packaging/installed.sh, put there by bin/package) says
# where they are.
if [ -f "$FORKSERVER_HOME/bin/lib/installed.sh" ]; then
    . "$FORKSERVER_HOME/bin/lib/installed.sh"
fi

forkserver_die() {
    echo "forkserver: $*" >&2
    exit 1
}

# True when $1 is a JDK whose release file says version 25 or newer.
forkserver_jdk_ok() {
    local home=$1 line version
    [ -x "$home/bin/java" ] && [ -r "$home/release" ] || return 1
    while IFS= read -r line; do
        case $line in
            JAVA_VERSION=*)
                version=${line#JAVA_VERSION=\"}
                version=${version%%[.\"]*}
                [ "$version" -ge "$FORKSERVER_MIN_JAVA" ] 2>/dev/null
                return
                ;;
        esac
    done <"$home/release"
    return 1
}

# Sets JAVA_HOME to a JDK >= 25: JAVA_HOME if it is one, else the newest under /usr/lib/jvm. A
# JAVA_HOME that is set but is not one is said (one line on stderr), not silently replaced.
forkserver_jdk_ok_or_say_why() {
    local home=$1
    forkserver_jdk_ok "$home" && return
    if [ ! -x "$home/bin/java" ]; then
        forkserver_why="no $home/bin/java"
    elif [ ! -r "$home/release" ]; then
        forkserver_why="no $home/release to read its version from"
    else
        forkserver_why="not a JDK $FORKSERVER_MIN_JAVA or newer"
    fi
    return 1
}

forkserver_find_jdk() {
    local forkserver_why=
    if [ -n "${JAVA_HOME:-}" ] && forkserver_jdk_ok_or_say_why "$JAVA_HOME"; then
        return
    fi
    local candidate found=
    for candidate in /usr/lib/jvm/*; do
        [ -L "$candidate" ] && continue
        forkserver_jdk_ok "$candidate" && found=$candidate
    done
    [ -n "$found" ] || forkserver_die "no JDK $FORKSERVER_MIN_JAVA or newer found (JAVA_HOME=${JAVA_HOME:-unset}${forkserver_why:+: $forkserver_why}, /usr/lib/jvm); install one or set JAVA_HOME"
    [ -z "${JAVA_HOME:-}" ] || echo "forkserver: JAVA_HOME=$JAVA_HOME is ignored ($forkserver_why); using $found" >&2
    export JAVA_HOME=$found
}

# Sets FORKSERVER_JAVA, the java to run: an installed tree's own runtime (whatever JAVA_HOME
# says: the package's jars and AOT caches were made for that runtime, and JAVA_HOME is left as
# it was for the children), else the JDK forkserver_find_jdk finds.
forkserver_find_java() {
    if [ -n "$FORKSERVER_INSTALLED" ]; then
        FORKSERVER_JAVA=$FORKSERVER_HOME/runtime/bin/java
        [ -x "$FORKSERVER_JAVA" ] || forkserver_die "$FORKSERVER_JAVA is missing: reinstall the forkserver package"
        return
    fi
    forkserver_find_jdk
    FORKSERVER_JAVA=$JAVA_HOME/bin/java
}

# Maven as the bin/ scripts run it. Maven 3.8's console library (jansi) writes raw "reset colour"
# escapes (ESC [ 0 m) to a terminal at start and exit even with -B and -Dstyle.color=never;
# jansi.noreset stops them. A system property of Maven's own JVM, so MAVEN_OPTS, not -D.
forkserver_mvn() {
    MAVEN_OPTS="${MAVEN_OPTS:+$MAVEN_OPTS }-Djansi.noreset=true" mvn -Dstyle.color=never "$@"
}

# Builds the jars with Maven when one is missing (a fresh clone), once even if several scripts
# start at the same moment. Maven's output goes to stderr. An installed tree is never built: a
# missing file there is a broken installation.
forkserver_ensure_built() {
    local jar missing=
    for jar in "$@"; do
        [ -f "$jar" ] || missing=$jar
    done
    [ -z "$missing" ] && return
    [ -z "$FORKSERVER_INSTALLED" ] || forkserver_die "$missing is missing: reinstall the forkserver package"
    command -v mvn >/dev/null || forkserver_die "the jars are not built and Maven (mvn) is not installed"
    (
        flock 9
        missing=
        for jar in "$@"; do
            [ -f "$jar" ] || missing=$jar
        done
        if [ -n "$missing" ]; then
            echo "forkserver: building the jars (first use)..." >&2
            forkserver_build
        fi
    ) 9>"$FORKSERVER_HOME/.build.lock" || forkserver_die "the build failed (see above)"
}

# Where the last build by these scripts is stamped (in target/, which git ignores).
FORKSERVER_BUILD_STAMP=$FORKSERVER_HOME/supervisor/target/.built-by-bin

forkserver_build() {
    cd "$FORKSERVER_HOME" && forkserver_mvn -q -B -DskipTests package >&2 && touch "$FORKSERVER_BUILD_STAMP"
}

# The first source file (code, poms, worker/jvm.options) newer than the last build, if any.
# Maven leaves a jar untouched when nothing in it changed, hence the stamp, else the jar.
forkserver_newer_source() {
    local reference=$1
    if [ "$FORKSERVER_BUILD_STAMP" -nt "$reference" ]; then
        reference=$FORKSERVER_BUILD_STAMP
    fi
    # An installation may lack some of these (no poms, no training code): find's complaint is not ours.
    (cd "$FORKSERVER_HOME" && find pom.xml handler/pom.xml handler/src/main posix/pom.xml posix/src/main supervisor/pom.xml supervisor/src/main \
        worker/pom.xml worker/src/main worker/aot worker/jvm.options -newer "$reference" -type f -print -quit 2>/dev/null) || true
}

# bin/supervisor only (bin/worker runs per connection and must stay as cheap as it is): after a
# git pull, sources newer than the jars are rebuilt before the old code can run; where that is
# not possible (no Maven, a read-only installation) the supervisor refuses with one line.
forkserver_ensure_fresh() {
    local jar=$1 newer
    [ -z "$FORKSERVER_INSTALLED" ] || return 0 # a package's jars are built with it, and it has no sources
    newer=$(forkserver_newer_source "$jar")
    [ -z "$newer" ] && return
    local fix="rebuild them: cd $FORKSERVER_HOME && mvn -DskipTests package"
    command -v mvn >/dev/null || forkserver_die "$newer is newer than the jars, and Maven (mvn) is not installed to rebuild them; $fix"
    [ -w "$FORKSERVER_HOME/supervisor/target" ] || forkserver_die "$newer is newer than the jars, which this user may not rebuild; $fix"
    (
        flock 9
        newer=$(forkserver_newer_source "$jar") # another script may have rebuilt meanwhile
        if [ -n "$newer" ]; then
            echo "forkserver: $newer changed since the jars were built; rebuilding..." >&2
            forkserver_build
        fi
    ) 9>"$FORKSERVER_HOME/.build.lock" || forkserver_die "the build failed (see above)"
}
