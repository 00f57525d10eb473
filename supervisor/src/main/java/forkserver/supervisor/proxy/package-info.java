/**
 * Layer 3 (imports {@code admit}, {@code log} and {@code base}). Behind a load balancer
 * ({@code --proxy-protocol}): between accept and admission, the PROXY header (v1 or v2) of each
 * connection from a trusted peer ({@link forkserver.supervisor.proxy.ProxyPolicy}) is read on
 * threads of the stage's own, each with a deadline, so that no peer holds up another
 * ({@link forkserver.supervisor.proxy.ProxyStage}); the header
 * ({@link forkserver.supervisor.proxy.ProxyHeader}) gives the real client's address. Health
 * checks and bad headers cost that connection only; a refusal is handed up to the supervisor's
 * one refusal path.
 */
package forkserver.supervisor.proxy;
