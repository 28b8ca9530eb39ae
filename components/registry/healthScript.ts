/**
 * The registry's health check. Healthy: its API answers `/` with 200, which the registry
 * does only while its own storage check passes (registryConfig.ts: every second, unhealthy
 * after 2 failures, so a missing bucket, a wrong key or an unreachable store shows within
 * 2 s, before the engine's first probe at 10 s: `wait` never takes such a replica for
 * healthy, and a rolling replacement stops there). Probes that read the storage directly
 * do not work: the catalog of an empty S3 bucket is a 500 in registry 2.8, and a 404 for
 * an unknown blob logs an error line on every probe.
 *
 * Unhealthy: the reason goes to the container's log (PID 1's stderr), so that
 * `docker logs <stack>-registry` says "NoSuchBucket" or "connection refused" where the
 * engine would only say "unhealthy": the storage check's message from /debug/health on the
 * debug listener (loopback unless metrics are on). busybox nc, not wget: wget prints no
 * body for an error status.
 */
import { containerPorts } from "../common/paths";

export const HEALTH_SCRIPT = "/usr/local/bin/registry-health";

export function renderHealthScript(): string {
    const get = (port: number, path: string) => `printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' | nc -w 5 127.0.0.1 ${port} 2>/dev/null`;
    return [
        "#!/bin/sh",
        "# Rendered by private-registry; `pulumi up` overwrites it.",
        `status=$(${get(containerPorts.registry, "/")} | head -n 1 | tr -d '\\r')`,
        `case "$status" in "HTTP/1."[01]" 200 "*) exit 0 ;; esac`,
        `checks=$(${get(containerPorts.registryDebug, "/debug/health")} | tail -n 1)`,
        `echo "registry-health: unhealthy: \${status:-no answer on :${containerPorts.registry}}; storage check: \${checks:-no answer}" > /proc/1/fd/2`,
        "exit 1",
        "",
    ].join("\n");
}
