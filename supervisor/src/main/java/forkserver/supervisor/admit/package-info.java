/**
 * 2. Admit: whether a connection may have a child, decided before anything is spent on it.
 * {@link forkserver.supervisor.admit.Admission} composes the limits: {@code -c} children,
 * per-source limits ({@link forkserver.supervisor.admit.SourceLimits}), the connection rate
 * ({@link forkserver.supervisor.admit.RateLimit}) and the access rules
 * ({@link forkserver.supervisor.admit.AccessRules}, {@link forkserver.supervisor.admit.RuleFile},
 * {@link forkserver.supervisor.admit.Cidr}); a refused client is told and closed by the
 * {@link forkserver.supervisor.admit.Rejector} without a wait that could hold the acceptor up.
 * {@link forkserver.supervisor.admit.Backoff} paces accepting while starting children fails.
 */
package forkserver.supervisor.admit;
import forkserver.supervisor.base.Backoff;
import forkserver.supervisor.base.Cidr;
import forkserver.supervisor.base.RateLimit;

