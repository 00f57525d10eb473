# deploy/ is written for a checkout in /opt/forkserver with a JDK of the machine's; bin/package
# makes the package's systemd units and inetd/xinetd examples from it with this script, so that
# deploy/ stays the one source. bin/package then fails if a checkout path survives: a new kind
# of reference to the checkout in deploy/ needs a rule here.

# The commands. The worker, which inetd and systemd start once per connection, by its own path:
# through the /usr/bin/forkserver-worker link, bin/worker would fork readlink(1) every time.
s|/opt/forkserver/bin/supervisor|/usr/bin/forkserver|g
s|/opt/forkserver/bin/worker|/usr/lib/forkserver/bin/worker|g

# The documentation: the man pages (bin/package gives MANPAGE per file) instead of the checkout's README.
s|^Documentation=file:///opt/forkserver/README\.md$|Documentation=man:MANPAGE(1)|

# The package has its own Java runtime and ignores JAVA_HOME: no JAVA_HOME=... word on a command
# line (inetd's env(1), xinetd's env), no comment line about choosing a JDK.
s/JAVA_HOME=[^ ]* //g
/^#.*\(JAVA_HOME\|\/usr\/lib\/jvm\)/d
