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
            forkserver_build
        fi
    ) 9>"$FORKSERVER_HOME/.build.lock" || forkserver_die "the build failed (see above)"
}

# Where the last build by these scripts is stamped (in target/, which git ignores).
FORKSERVER_BUILD_STAMP=$FORKSERVER_HOME/supervisor/target/.built-by-bin

forkserver_build() {
    cd "$FORKSERVER_HOME" && mvn -q -B -Dstyle.color=never -DskipTests package >&2 && touch "$FORKSERVER_BUILD_STAMP"
}

# The first source file (code, poms, worker/jvm.options) newer than the last build, if any.
# Maven leaves a jar untouched when nothing in it changed, hence the stamp, else the jar.
forkserver_newer_source() {
    local reference=$FORKSERVER_HOME/$1
    if [ "$FORKSERVER_BUILD_STAMP" -nt "$reference" ]; then
        reference=$FORKSERVER_BUILD_STAMP
    fi
    # An installation may lack some of these (no poms, no training code): find's complaint is not ours.
    (cd "$FORKSERVER_HOME" && find pom.xml posix/pom.xml posix/src/main supervisor/pom.xml supervisor/src/main \
        worker/pom.xml worker/src/main worker/aot worker/jvm.options -newer "$reference" -type f -print -quit 2>/dev/null) || true
}

# bin/supervisor only (bin/worker runs per connection and must stay as cheap as it is): after a
# git pull, sources newer than the jars are rebuilt before the old code can run; where that is
# not possible (no Maven, a read-only installation) the supervisor refuses with one line.
forkserver_ensure_fresh() {
    local jar=$1 newer
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
