/**
 * The registry's health check. Healthy: its API answers (the registry itself answers 503
 * while its storage check fails). Unhealthy: the reason goes to the container's log, so
 * that `docker logs <stack>-registry` says "NoSuchBucket" or "connection refused" where
 * the engine would only say "unhealthy". The reason comes from /debug/health on the debug
 * listener (loopback unless metrics are on), fetched with busybox nc: busybox wget prints
 * no body for a 503.
 */
import { containerPorts } from "../common/paths";

export const HEALTH_SCRIPT = "/usr/local/bin/registry-health";

export function renderHealthScript(): string {
    return [
        "#!/bin/sh",
        "# Rendered by private-registry; `pulumi up` overwrites it.",
        `wget -q -O /dev/null http://127.0.0.1:${containerPorts.registry}/ && exit 0`,
        `reason=$(printf 'GET /debug/health HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 ${containerPorts.registryDebug} 2>/dev/null | tail -n 1)`,
        `echo "registry-health: unhealthy: \${reason:-no answer on :${containerPorts.registry}}" > /proc/1/fd/2`,
        "exit 1",
        "",
    ].join("\n");
}
