/**
 * 4. Reap: the children while they live and when they end.
 * {@link forkserver.supervisor.reap.Children} is the registry (timeouts, signals, the drain at
 * shutdown); {@link forkserver.supervisor.reap.Reaper} is one thread on every child's pidfd, so an
 * exit costs no thread; {@link forkserver.supervisor.reap.ExitStatus} names how a child ended;
 * {@link forkserver.supervisor.reap.ProcessTable} finds what a child started, to stop that too.
 */
package forkserver.supervisor.reap;
import forkserver.supervisor.base.ExitStatus;
import forkserver.supervisor.spawn.ProcessTable;
import forkserver.supervisor.spawn.Reaper;

