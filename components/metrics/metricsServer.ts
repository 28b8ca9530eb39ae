/**
 * The entrypoint's metrics server (only with `metrics.port`): plain HTTP on its own port,
 * serving exactly these. `/metrics/replicas/<i>` is registry replica i's own, `/metrics`
 * the first replica's (all there is with one), `/metrics/gc` the garbage collector's last
 * run, from the file the maintenance job writes. A replica's come from the copy it made
 * last (every few seconds: its debug listener, with pprof and expvar, is on its own
 * loopback): on target docker, in the upstreams volume; on a swarm, relayed to this nginx
 * over the overlay network (../registry/relayScript.ts). Target docker:
 * `/metrics/mirrors/<name>` is mirror <name>'s (../mirrors), the same way.
 */
import { containerPorts, GC_METRICS_FILE, METRICS_PATH, mirrorUpstreamFiles, paths, replicaUpstreamFiles } from "../common/paths";
import { MAX_REPLICAS } from "../registry/config";
import { RegistryTransport } from "../registry/registryConfig";
import { accessPaths } from "../users/installScript";
import { listenLines } from "../entrypoint/listen";
import { METRICS_USER } from "./config";

/** Prometheus's text exposition format. */
const PROMETHEUS_TEXT = "text/plain; version=0.0.4";

/**
 * Locations for every replica number the config allows, whatever the count: scaling must
 * not change the entrypoint's config (that would replace it). A replica that never ran has
 * no metrics: 404.
 */
export function renderMetricsServer(transport: RegistryTransport["kind"], authenticated: boolean, behindFront: boolean): string {
    const numbers = Array.from({ length: MAX_REPLICAS }, (_, i) => i + 1);
    const replicaLocations = replicaMetrics(numbers, replicaCopies(transport));
    return [
        ...(transport === "tcp" ? [relayListener(numbers)] : []),
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
        ...(transport === "unix" ? [...mirrorMetrics(), ""] : []),
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

/** Where replica i's copy is: a folder nginx serves, and the file's path in it. */
interface ReplicaCopies {
    root: string;
    file: (replica: string) => string;
}

/** Target docker: the copies the replicas keep in the upstreams volume. A swarm: the ones the tasks relayed. */
function replicaCopies(transport: RegistryTransport["kind"]): ReplicaCopies {
    return transport === "unix"
        ? {
            root: paths.upstreamsDir,
            file: (replica) => replicaUpstreamFiles(replica).metrics.slice(paths.upstreamsDir.length),
        }
        : { root: paths.relayedMetricsDir, file: (replica) => `${RELAYED_PREFIX}${replica}` };
}

/** Under paths.relayedMetricsDir, where a relayed PUT to /replicas/<slot> lands. */
const RELAYED_PREFIX = "/replicas/";

function replicaMetrics(numbers: number[], copies: ReplicaCopies): string[] {
    return [
        `    location = ${METRICS_PATH} {`,
        `        root ${copies.root};`,
        `        default_type "${PROMETHEUS_TEXT}";`,
        `        try_files ${copies.file("1")} =404;`,
        "    }",
        "",
        "    # One replica's own: Prometheus scrapes each one.",
        `    location ~ ^${METRICS_PATH}/replicas/(${numbers.join("|")})$ {`,
        `        root ${copies.root};`,
        `        default_type "${PROMETHEUS_TEXT}";`,
        `        try_files ${copies.file("$1")} =404;`,
        "    }",
    ];
}

/**
 * Target docker: a mirror's own (its proxy hits and misses among them), from the copy its
 * supervisor keeps beside the replicas'. Any mirror name, so that the mirrors' config never
 * changes this one; a name without a mirror has no copy: 404.
 */
function mirrorMetrics(): string[] {
    const file = mirrorUpstreamFiles("$1").metrics.slice(paths.upstreamsDir.length);
    return [
        "    # One mirror's own.",
        `    location ~ ^${METRICS_PATH}/mirrors/([a-z0-9-]+)$ {`,
        `        root ${paths.upstreamsDir};`,
        `        default_type "${PROMETHEUS_TEXT}";`,
        `        try_files ${file} =404;`,
        "    }",
    ];
}

/**
 * A swarm: where each registry task PUTs its metrics (../registry/relayScript.ts), on the
 * overlay network only, with the bearer token only the tasks and this nginx know (its check
 * comes from a Swarm secret); a slot number names the file. Nothing else is taken.
 */
function relayListener(numbers: number[]): string {
    return [
        "# The registry tasks' metrics, relayed to this entrypoint (the overlay network only; never published).",
        "server {",
        `    listen ${containerPorts.uiMetricsRelay};`,
        "    server_name _;",
        "    access_log off;",
        "    client_max_body_size 4m;",
        // nginx makes this folder at start, for its workers: a PUT's body waits here, then
        // lands beside it by a rename.
        `    client_body_temp_path ${paths.relayedMetricsDir};`,
        "",
        `    location ~ ^${RELAYED_PREFIX}(${numbers.join("|")})$ {`,
        "        limit_except PUT {",
        "            deny all;",
        "        }",
        "        # 401 but for the tasks' bearer token.",
        `        include ${paths.metricsRelayToken};`,
        `        root ${paths.relayedMetricsDir};`,
        "        dav_methods PUT;",
        "        create_full_put_path on;",
        "        dav_access user:rw;",
        "    }",
        "",
        "    location / {",
        "        return 404;",
        "    }",
        "}",
    ].join("\n");
}

/**
 * The token's check, for the Swarm secret that the relay's location includes: anything but
 * `Bearer <token>` gets 401. A comparison, not a map: a map's key this long outgrows
 * nginx's default map_hash_bucket_size, which the UI image's nginx.conf owns.
 */
export function renderRelayTokenCheck(token: string): string {
    return [
        `if ($http_authorization != "Bearer ${token}") {`,
        "    return 401;",
        "}",
        "",
    ].join("\n");
}
