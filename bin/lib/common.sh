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

# Sets JAVA_HOME to a JDK >= 25: JAVA_HOME if it is one, else the newest under /usr/lib/jvm.
forkserver_find_jdk() {
    if [ -n "${JAVA_HOME:-}" ] && forkserver_jdk_ok "$JAVA_HOME"; then
        return
    fi
    local candidate found=
    for candidate in /usr/lib/jvm/*; do
        [ -L "$candidate" ] && continue
        forkserver_jdk_ok "$candidate" && found=$candidate
    done
    [ -n "$found" ] || forkserver_die "no JDK $FORKSERVER_MIN_JAVA or newer found (JAVA_HOME=${JAVA_HOME:-unset}, /usr/lib/jvm); install one or set JAVA_HOME"
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
            cd "$FORKSERVER_HOME" && forkserver_mvn -q -B -DskipTests package >&2
        fi
    ) 9>"$FORKSERVER_HOME/.build.lock" || forkserver_die "the build failed (see above)"
}
