/**
 * Layer 2, a stage (imports {@code base} and {@code log} only). Admit: whether a connection may
 * have a child, decided before anything is spent on it.
 * {@link forkserver.supervisor.admit.Admission} composes the limits: {@code -c} children,
 * per-source limits ({@link forkserver.supervisor.admit.SourceLimits}), the connection rate and
 * the access rules ({@link forkserver.supervisor.admit.AccessRules},
 * {@link forkserver.supervisor.admit.RuleFile}, {@link forkserver.supervisor.admit.Cidr}: an
 * address block, which {@code proxy}'s trust uses too); it owns the tickets (a connection's share of
 * the limits) until they are released. A refused client is told and closed by the
 * {@link forkserver.supervisor.admit.Rejector} without a wait that could hold the acceptor up;
 * the refusal itself is one call on top, {@code Supervisor.refuse}.
 */
package forkserver.supervisor.admit;
