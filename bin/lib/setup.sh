# Sourced by bin/test: the tools the tests run, installed if need be (after bin/lib/common.sh).

# Makes sure every package of bin/lib/test-packages is installed and xinetd is unpacked in
# .ci/tools. As root with apt-get it installs what is missing (apt-get update first); otherwise it
# prints one line naming what is missing and how to install it, and exits 1. Without dpkg (not
# Debian) it checks nothing: each test then names the tool it misses.
forkserver_install_test_tools() {
    command -v dpkg-query >/dev/null || return 0
    local package missing= xinetd=
    for package in $(sed 's/#.*//' "$FORKSERVER_HOME/bin/lib/test-packages"); do
        [ "$(dpkg-query --show --showformat='${db:Status-Status}' "$package" 2>/dev/null)" = installed ] ||
            missing="$missing $package"
    done
    [ -x /usr/sbin/xinetd ] || [ -x "$FORKSERVER_HOME/.ci/tools/xinetd/usr/sbin/xinetd" ] || xinetd=1
    [ -z "$missing$xinetd" ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "bin/test: missing Debian packages:${missing:- none}${xinetd:+ (and xinetd, unpacked into .ci/tools)}; run bin/test as root, which installs them${missing:+, or: apt-get install --no-install-recommends$missing}" >&2
        exit 1
    fi
    echo "bin/test: installing${missing}${xinetd:+ xinetd (unpacked into .ci/tools)}..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    if [ -n "$missing" ]; then
        # The packages' scripts must not start system-wide services (inetd, haproxy, prometheus):
        # the tests start their own on loopback ports. policy-rc.d says no to every start meanwhile.
        local policy=/usr/sbin/policy-rc.d created= status=0
        if [ ! -e "$policy" ]; then
            printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
        fi
        # shellcheck disable=SC2086 # one word a package
        apt-get install -y -qq --no-install-recommends $missing >/dev/null || status=$?
        [ -z "$created" ] || rm -f "$policy"
        [ "$status" = 0 ] || forkserver_die "apt-get install$missing failed"
    fi
    if [ -n "$xinetd" ]; then
        mkdir -p "$FORKSERVER_HOME/.ci/tools"
        (cd "$FORKSERVER_HOME/.ci/tools" && apt-get -o APT::Sandbox::User=root download -qq xinetd >/dev/null &&
            dpkg -x xinetd_*.deb xinetd) || forkserver_die "could not unpack xinetd into .ci/tools"
    fi
}
