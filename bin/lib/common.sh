# Sourced by the bin/ scripts: where the project is, which JDK to run, and building on first use.
# Kept to shell built-ins on the fast path: bin/worker pays for this on every connection.

FORKSERVER_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readonly FORKSERVER_MIN_JAVA=25

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

# Builds the jars with Maven when one is missing (a fresh clone), once even if several scripts
# start at the same moment. Maven's output goes to stderr.
forkserver_ensure_built() {
    local jar missing=
    for jar in "$@"; do
        [ -f "$FORKSERVER_HOME/$jar" ] || missing=1
    done
    [ -z "$missing" ] && return
    command -v mvn >/dev/null || forkserver_die "the jars are not built and Maven (mvn) is not installed"
    (
        flock 9
        for jar in "$@"; do
            [ -f "$FORKSERVER_HOME/$jar" ] || missing=2
        done
        if [ "$missing" = 2 ]; then
            echo "forkserver: building the jars (first use)..." >&2
            cd "$FORKSERVER_HOME" && mvn -q -B -Dstyle.color=never -DskipTests package >&2
        fi
    ) 9>"$FORKSERVER_HOME/.build.lock" || forkserver_die "the build failed (see above)"
}
