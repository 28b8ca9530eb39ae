/**
 * The registry's health check. Healthy: its storage check passes, and on target docker the
 * replica is published to the entrypoint (./serveScript.ts), on a swarm its TLS listener
 * is up (it answers plain HTTP with Go's 400: busybox has no TLS client that could show a
 * client certificate, and the listener takes no request without one). The check runs
 * every second, unhealthy after 2 failures (registryConfig.ts), so a missing bucket, a
 * wrong key or an unreachable store shows within 2 s, before the engine's first probe at
 * 10 s: `wait` never takes such a replica for healthy, and a rolling replacement stops
 * there. Probes that read the storage directly do not work: the catalog of an empty S3
 * bucket is a 500 in registry 2.8, and a 404 for an unknown blob logs an error line on
 * every probe.
 *
 * Unhealthy: the reason goes to the container's log (PID 1's stderr), so that
 * `docker logs <stack>-registry` says "NoSuchBucket" or "connection refused" where the
 * engine would only say "unhealthy": the storage check's message from /debug/health on the
 * debug listener. busybox nc, not wget: wget prints no body for an error status.
 */
import { containerPorts } from "../common/paths";
import { RegistryTransport } from "./registryConfig";
import { shellScript } from "../common/shellScript";

export const HEALTH_SCRIPT = "/usr/local/bin/registry-health";

export const TLS_LISTENING = "HTTP/1.0 400 Bad Request";

/** busybox sh and nc, as in the registry image. */
const HEALTH = shellScript(__dirname, "health.sh", "check");

/** ./scripts/health.sh, with its settings in a header rendered here. */
export function renderHealthScript(transport: RegistryTransport): string {
    return HEALTH.render([
        `UPSTREAM=${transport.kind === "unix" ? transport.files.upstream : ""}`,
        `REGISTRY_PORT=${containerPorts.registry}`,
        // Go's net/http, to a plain request on a TLS listener (then "Client sent an HTTP request to an HTTPS server.").
        `TLS_LISTENING='${TLS_LISTENING}'`,
        `DEBUG_PORT=${containerPorts.registryDebug}`,
        // The container's log: PID 1's stderr.
        "LOG=/proc/1/fd/2",
    ]);
}
