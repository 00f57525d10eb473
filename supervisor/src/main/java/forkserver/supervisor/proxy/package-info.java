/**
 * 1a. Behind a load balancer ({@code --proxy-protocol}): between accept and admission, the PROXY
 * header (v1 or v2) of each connection from a trusted peer is read on threads of the stage's own,
 * each with a deadline, so that no peer holds up another ({@link forkserver.supervisor.proxy.ProxyStage});
 * the header ({@link forkserver.supervisor.proxy.ProxyHeader}) gives the real client's address.
 * Health checks and bad headers cost that connection only.
 */
package forkserver.supervisor.proxy;
