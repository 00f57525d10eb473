# bin/lib/installed.sh of the Debian package (bin/package copies it there; a checkout has none):
# this tree is installed, not a checkout. Sourced by bin/lib/common.sh, it points the scripts at
# the package's prebuilt jars and AOT caches; forkserver_find_java then runs the package's own
# Java runtime (runtime/), and nothing is ever built or written here.
FORKSERVER_INSTALLED=1
FORKSERVER_SUPERVISOR_JAR=$FORKSERVER_HOME/supervisor/forkserver-supervisor.jar
FORKSERVER_WORKER_JAR=$FORKSERVER_HOME/worker/forkserver-worker.jar
FORKSERVER_POSIX_JAR=$FORKSERVER_HOME/posix/forkserver-posix.jar
FORKSERVER_AOT_DIR=$FORKSERVER_HOME/worker
FORKSERVER_SUPERVISOR_AOT_CACHE=$FORKSERVER_HOME/supervisor/forkserver-supervisor.aot
