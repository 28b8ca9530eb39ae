/**
 * The entrypoint's metrics server (only with `metrics.port`): plain HTTP on its own port,
 * serving exactly these. `/metrics/replicas/<i>` is registry replica i's own, `/metrics`
 * the first replica's (all there is with one), `/metrics/gc` the garbage collector's last
 * run, from the file the maintenance job writes. A replica's come, on target docker, from
 * the copy it keeps in the upstreams volume (every few seconds: its debug listener, with
 * pprof and expvar, is on its own loopback); on a swarm, from its debug listener.
 */
import { containerPorts, GC_METRICS_FILE, METRICS_PATH, paths, REPLICA_ALIAS_PREFIX, replicaAlias, replicaUpstreamFiles } from "../common/paths";
import { MAX_REPLICAS } from "../registry/config";
import { RegistryTransport } from "../registry/registryConfig";
import { accessPaths } from "../users/installScript";
import { listenLines } from "../entrypoint/listen";
import { METRICS_USER } from "./config";

/** Prometheus's text exposition format. */
const PROMETHEUS_TEXT = "text/plain; version=0.0.4";

/**
 * Locations for every replica number the config allows, whatever the count: scaling must
 * not change the entrypoint's config (that would replace it). A replica that does not run
 * has no metrics: 404 (target docker), or its name does not resolve: 502 (a swarm).
 */
export function renderMetricsServer(transport: RegistryTransport["kind"], authenticated: boolean, behindFront: boolean): string {
    const numbers = Array.from({ length: MAX_REPLICAS }, (_, i) => i + 1);
    const replicaLocations = transport === "unix" ? relayedReplicaMetrics(numbers) : proxiedReplicaMetrics(numbers);
    return [
        "# Metrics for Prometheus: the registry's and the garbage collector's, nothing else.",
        "server {",
        ...listenLines(containerPorts.uiMetrics, { behindFront, defaultServer: false }),
        "    server_name _;",
        "    access_log off;",
        ...(authenticated ? [
            "",
            `    # Only Prometheus (metrics.password, user ${METRICS_USER}).`,
            `    auth_basic "metrics";`,
            `    auth_basic_user_file ${accessPaths.metricsHtpasswd};`,
        ] : []),
        "",
        ...replicaLocations,
        "",
        `    location = ${METRICS_PATH}/gc {`,
        `        root ${paths.maintenanceDir};`,
        `        default_type "${PROMETHEUS_TEXT}";`,
        `        try_files /${GC_METRICS_FILE.slice(paths.maintenanceDir.length + 1)} @no_gc_yet;`,
        "    }",
        "",
        "    # Before the first collection: a valid, empty answer, so the target is up.",
        "    location @no_gc_yet {",
        `        default_type "${PROMETHEUS_TEXT}";`,
        `        return 200 "# no garbage collection has run yet\\n";`,
        "    }",
        "",
        "    location / {",
        "        return 404;",
        "    }",
        "}",
    ].join("\n");
}

/** Target docker: the copies the replicas keep in the upstreams volume. */
function relayedReplicaMetrics(numbers: number[]): string[] {
    const file = (replica: string) => replicaUpstreamFiles(replica).metrics.slice(paths.upstreamsDir.length);
    return [
        `    location = ${METRICS_PATH} {`,
        `        root ${paths.upstreamsDir};`,
        `        default_type "${PROMETHEUS_TEXT}";`,
        `        try_files ${file("1")} =404;`,
        "    }",
        "",
        "    # One replica's own: Prometheus scrapes each one.",
        `    location ~ ^${METRICS_PATH}/replicas/(${numbers.join("|")})$ {`,
        `        root ${paths.upstreamsDir};`,
        `        default_type "${PROMETHEUS_TEXT}";`,
        `        try_files ${file("$1")} =404;`,
        "    }",
    ];
}

/** A swarm: each task's debug listener, by its alias. */
function proxiedReplicaMetrics(numbers: number[]): string[] {
    return [
        `    location = ${METRICS_PATH} {`,
        "        # A variable: resolved per request, like the registry API's upstream.",
        `        set $registry_metrics http://${replicaAlias(1)}:${containerPorts.registryDebug}${METRICS_PATH};`,
        "        proxy_pass $registry_metrics;",
        "    }",
        "",
        "    # One replica's own (each has its alias): Prometheus scrapes each one.",
        `    location ~ ^${METRICS_PATH}/replicas/(${numbers.join("|")})$ {`,
        `        set $registry_metrics http://${REPLICA_ALIAS_PREFIX}$1:${containerPorts.registryDebug}${METRICS_PATH};`,
        "        proxy_pass $registry_metrics;",
        "    }",
    ];
}
