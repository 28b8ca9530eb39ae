/**
 * The entrypoint's real nginx config and the users container's real install script, run
 * on this machine without Docker: Debian's nginx serves the rendered site (relocated to
 * temporary paths and ports, workers unprivileged as in the image), busybox sh installs
 * the users into a temporary access directory, and a stub upstream in the same nginx
 * echoes what the registry would have received. With the unix transport (target docker)
 * the stub replicas listen on their sockets in a temporary upstreams directory, and the
 * harness publishes them there with the replicas' own `server` lines, as their supervisor
 * does, then reloads nginx, as the entrypoint's watcher does.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { IncomingMessage, request as httpRequest } from "node:http";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { containerPorts, mirrorUpstreamFiles, paths, REGISTRY_ALIAS, replicaUpstreamFiles } from "../components/common/paths";
import { renderRelayTokenCheck } from "../components/metrics/metricsServer";
import { NginxConfigOptions, renderNginxConfig } from "../components/entrypoint/nginxConfig";
import { renderFrontConfig } from "../components/entrypoint/frontConfig";
import { MAX_REPLICAS } from "../components/registry/config";
import { renderUpstreamsScript, UI_IMAGE_COMMAND } from "../components/entrypoint/upstreamsScript";
import { replicaServerLine } from "../components/registry/serveScript";
import { busyboxPath } from "./busyboxPath";
import { freeLocalPorts } from "./localPorts";
import { withSettings, writeScript } from "./shellScripts";
import {
    ACCESS_SOURCE_DIR, renderInstallScript, SOURCE_GRANTS, SOURCE_HTPASSWD, SOURCE_METRICS_HTPASSWD,
} from "../components/users/installScript";
import { requireTool } from "./requireTool";
import { renderGrants } from "../components/users/access";
import { renderHtpasswd } from "../components/users/htpasswd";
import { makeCertificate, makeLink, TestCertificate } from "./selfSignedCertificate";
import { basicAuthorization } from "./basicAuth";

export interface EntrypointReply {
    status: number;
    body: string;
    headers: Record<string, string | string[] | undefined>;
    /** What the stub registry received (`METHOD URI`), when the request got through. */
    forwarded?: string;
    /** Which stub replica answered: `replica-N` (unix transport), or 127.0.0.N (tcp). */
    forwardedTo?: string;
}

export interface LocalEntrypoint {
    /** Installs users (htpasswd + grants text, and Prometheus's htpasswd when given) as the users container would. */
    installUsers(htpasswd: string, grants: string, metricsHtpasswd?: string): void;
    send(method: string, uri: string, options?: { user?: string; password?: string; headers?: Record<string, string>; body?: string }): Promise<EntrypointReply>;
    /** The same to the first daemon mirror's port (options.daemonMirrors). */
    sendToDaemonMirror(method: string, uri: string, options?: { user?: string; password?: string; headers?: Record<string, string>; body?: string }): Promise<EntrypointReply>;
    /** A swarm: the port of the metrics relay's listener (127.0.0.1), as the tasks reach it on the overlay. */
    relayPort: number;
    /** A plain-HTTP GET to the metrics server, with basic auth when given. */
    getMetrics(path: string, auth?: { user: string; password: string }): Promise<EntrypointReply>;
    /** Where the maintenance volume is (the GC job's files). */
    maintenanceDir: string;
    /** Where the upstreams volume is (unix transport: sockets, published lines, metrics). */
    upstreamsDir: string;
    /** What nginx logged of the requests it served (the combined format), where the site logs them. */
    accessLog(): string;
    /** nginx's error log (notice level and up). */
    errorLog(): string;
    /**
     * The tcp transport: the stub registry presents this certificate (default: the link's
     * own, issued for the alias), and nginx reloads.
     */
    presentAsRegistry(certificate?: TestCertificate): void;
    /** Unix transport: publishes exactly these stub replicas, and reloads nginx. */
    publish(replicas: number[]): void;
    /**
     * Behind the front: a new nginx under its own watcher, in a folder of its own (as a new
     * container), takes over once it has published its sockets; the old one is told to quit.
     */
    handOver(): Promise<void>;
    /**
     * Behind the front: an nginx starts again in its folder, as its container restarted
     * (it crashed, the engine restarted): the one before the current one (a replaced
     * container not yet removed), or the current one.
     */
    restart(of: "current" | "previous"): void;
    /**
     * Behind the front: the current nginx's container is removed (nginx quits, then the rest
     * of it goes); the one before is the one a handOver then stops.
     */
    removeCurrent(): void;
    /** Behind the front: an nginx's container health check (the watcher script's `--health`). */
    healthCheck(of?: "current" | "previous"): { ok: boolean; output: string };
    /** Behind the front: the front's folder (the published links, each nginx's own folder). */
    frontDir: string;
    /** Behind the front: the folder of the nginx serving now (its pid files, its watcher's). */
    currentDir(): string;
    stop(): void;
}

/** Relocates the container paths of a rendered file into `root` (and the container's own ones into `own`). */
function relocate(text: string, root: string, own = root): string {
    return text
        // Before the front's folder, whose name starts its own.
        .replaceAll(paths.frontListenDir, join(own, "front-listen"))
        .replaceAll(paths.frontDir, join(root, "front"))
        .replaceAll(paths.accessDir, join(root, "access"))
        .replaceAll(ACCESS_SOURCE_DIR, join(root, "access-source"))
        .replaceAll(paths.maintenanceDir, join(root, "maintenance"))
        .replaceAll(paths.upstreamsDir, join(root, "upstreams"));
}

/**
 * Runs the users container's real install script under busybox sh on `root` (which holds
 * `access/` and `access-source/`), but for its last line (the container's sleep). Without
 * `metricsHtpasswd` the container has no such file, as without metrics.password.
 */
export function runInstallScript(root: string, htpasswd: string, grants: string, metricsHtpasswd?: string): string {
    mkdirSync(join(root, "access"), { recursive: true });
    mkdirSync(join(root, "access-source"), { recursive: true });
    const source = (file: string) => join(root, file.replace(ACCESS_SOURCE_DIR, "access-source"));
    for (const file of [SOURCE_HTPASSWD, SOURCE_METRICS_HTPASSWD]) rmSync(source(file), { force: true });
    writeFileSync(source(SOURCE_HTPASSWD), htpasswd, { mode: 0o400 });
    if (metricsHtpasswd !== undefined) writeFileSync(source(SOURCE_METRICS_HTPASSWD), metricsHtpasswd, { mode: 0o400 });
    writeFileSync(source(SOURCE_GRANTS), grants);
    const run = spawnSync("busybox", ["sh", "-c", installScript(root)], { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`install script failed: ${run.stderr}`);
    return run.stdout;
}

/** The container's health check: does `current` hold exactly the sources? */
export function installScriptCheck(root: string): boolean {
    return spawnSync("busybox", ["sh", "-c", installScript(root), "install.sh", "check"]).status === 0;
}

function installScript(root: string): string {
    return relocate(renderInstallScript(), root).replace(/^exec sleep .*$/m, "");
}

/** What the harness runs: nginx, busybox sh (the install and watcher scripts), openssl (the certificate). Skips, or fails in CI, without them. */
export function requireLocalEntrypointTools(ctx: Mocha.Context): void {
    requireTool(ctx, "nginx", "nginx");
    requireTool(ctx, "busybox", "busybox-static");
    requireTool(ctx, "openssl", "openssl");
}

/** The tcp transport: the token the local entrypoint takes relayed metrics with. */
export const RELAY_TOKEN = "aRelayTokenOfTheTestEntrypoint0123456789abcdefgh";

const STUB_REPLICAS = Array.from({ length: MAX_REPLICAS }, (_, i) => i + 1);

/** Where one local entrypoint listens: all on 127.0.0.1. */
export interface EntrypointPorts {
    https: number;
    http: number;
    /** The tcp transport's stub registry, on 127.0.0.N for replica N: its debug listener (plain HTTP). */
    upstream: number;
    /** The same stub's API, with mutual TLS as the registry has it on a swarm. */
    upstreamTls: number;
    /** The metrics server, when the options render it. */
    metrics: number;
    /** A swarm's metrics relay listener (with the metrics server). */
    relay: number;
    /** The listener that answers writes while the collector pauses them. */
    paused: number;
    /** The listener that answers pushes and deletes under a mirror's prefix. */
    readOnly: number;
    /** The first daemon mirror's HTTPS port. */
    daemonMirror: number;
    /** Behind the front: nginx's own plain-HTTP listener, for its health check. */
    health: number;
}

/** The ports an nginx listens on inside its container only. */
type Loopback = Pick<EntrypointPorts, "health" | "paused" | "readOnly">;

/**
 * Target docker's entrypoint as the container runs it: one origin (localhost), behind the
 * front, under the watcher, with one user `admin` of role admin and this password.
 */
export async function startDockerTargetEntrypoint(adminPassword: string): Promise<LocalEntrypoint> {
    const entrypoint = startLocalEntrypoint(
        { topology: { kind: "one-origin", host: "localhost" }, registryTransport: "unix", behindFront: true, httpsPort: 443, realm: "test registry" },
        await entrypointPorts(),
        { watcher: true },
    );
    entrypoint.installUsers(
        renderHtpasswd([{ name: "admin", password: adminPassword }], 4, "a-stable-seed-of-enough-characters"),
        renderGrants([{ name: "admin", access: "admin", repositories: ["*"] }]),
    );
    return entrypoint;
}

/** Free ports for one local entrypoint (testkit/localPorts.ts). */
export function entrypointPorts(): Promise<EntrypointPorts> {
    return freeLocalPorts("https", "http", "upstream", "upstreamTls", "metrics", "relay", "paused", "readOnly", "daemonMirror", "health");
}

/**
 * `ports`: from entrypointPorts. Unix transport: replica 1 is published at start, and
 * `watcher` runs nginx as the container does, under the entrypoint's watcher script (busybox
 * sh), which then reloads it on each `publish`, instead of the harness. `certificate`: the
 * server's (default: a fresh ECDSA P-256 one for localhost).
 */
export function startLocalEntrypoint(
    options: NginxConfigOptions, ports: EntrypointPorts,
    run: { watcher?: boolean; certificate?: TestCertificate } = {},
): LocalEntrypoint {
    clearLeftovers();
    const root = mkdtempSync(join(tmpdir(), `${ROOT_PREFIX}${process.pid}-`));
    // nginx's workers run as nobody: they must be able to reach the access files, as in the image.
    chmodSync(root, 0o755);
    mkdirSync(join(root, "maintenance"));
    const upstreamsDir = join(root, "upstreams");
    mkdirSync(upstreamsDir);
    const unix = options.registryTransport === "unix";
    const behindFront = options.behindFront ?? false;
    if (behindFront && !run.watcher) throw new Error("behindFront: the watcher publishes nginx's sockets to the front");
    const cert = run.certificate ?? makeCertificate({ dnsNames: ["localhost"] });
    writeFileSync(join(root, "server.crt"), cert.certificatePem);
    writeFileSync(join(root, "server.key"), cert.privateKeyPem);
    // The tcp transport (a swarm): the token the registry tasks relay their metrics with.
    if (!unix) writeFileSync(join(root, "relay-token.conf"), renderRelayTokenCheck(RELAY_TOKEN));
    // The tcp transport (a swarm): the link's mutual TLS, nginx's side and the stub registry's.
    const link = unix ? undefined : makeLink(REGISTRY_ALIAS);
    if (link) {
        for (const [file, content] of [["link-ca.crt", link.ca], ["link-client.crt", link.client.certificatePem], ["link-client.key", link.client.privateKeyPem],
            ["link-server.crt", link.server.certificatePem], ["link-server.key", link.server.privateKeyPem]]) writeFileSync(join(root, file), content);
    }
    /**
     * The site as one nginx runs it: `own` holds what is its container's own (the link to its
     * sockets), and `loopback` its ports on the container's own loopback.
     */
    const site = (own: string, loopback: Loopback) => relocate(renderNginxConfig(options), root, own)
        .replaceAll(paths.tlsCertificate, join(root, "server.crt"))
        .replaceAll(paths.tlsPrivateKey, join(root, "server.key"))
        .replaceAll(new RegExp(`listen ${containerPorts.uiHttp}( default_server)?;`, "g"), `listen 127.0.0.1:${ports.http}$1;`)
        .replaceAll(new RegExp(`listen 127\\.0\\.0\\.1:${containerPorts.uiHttp}( default_server)?;`, "g"), `listen 127.0.0.1:${loopback.health}$1;`)
        .replaceAll(new RegExp(`listen ${containerPorts.uiHttps} ssl`, "g"), `listen 127.0.0.1:${ports.https} ssl`)
        .replace(`listen ${containerPorts.uiDaemonMirrors} ssl`, `listen 127.0.0.1:${ports.daemonMirror} ssl`)
        .replace(`https://${REGISTRY_ALIAS}:${containerPorts.registry}`, `https://127.0.0.1:${ports.upstreamTls}`)
        .replaceAll(paths.entrypointLinkCertificate, join(root, "link-client.crt"))
        .replaceAll(paths.entrypointLinkPrivateKey, join(root, "link-client.key"))
        .replaceAll(paths.entrypointLinkCa, join(root, "link-ca.crt"))
        // A swarm: the relay's listener, its token's check, and where the relayed metrics land.
        .replace(`listen ${containerPorts.uiMetricsRelay};`, `listen 127.0.0.1:${ports.relay};`)
        .replace(`include ${paths.metricsRelayToken};`, `include ${join(root, "relay-token.conf")};`)
        .replaceAll(paths.relayedMetricsDir, join(root, "relayed"))
        .replace(`listen ${containerPorts.uiMetrics};`, `listen 127.0.0.1:${ports.metrics};`)
        .replaceAll(`127.0.0.1:${containerPorts.uiWritesPaused}`, `127.0.0.1:${loopback.paused}`)
        .replaceAll(`127.0.0.1:${containerPorts.uiMirrorReadOnly}`, `127.0.0.1:${loopback.readOnly}`);
    const publish = (replicas: number[]) => {
        const line = (replica: number) => relocate(replicaUpstreamFiles(replica).upstream, root);
        // The new ones first: a watcher's look in between never sees fewer than both sets share.
        // The default series' lines (no same-replica retries); a test that needs 2.8's writes its own.
        for (const replica of replicas) writeFileSync(line(replica), `${relocate(replicaServerLine(replica, 0), root)}\n`);
        for (const replica of STUB_REPLICAS.filter((r) => !replicas.includes(r))) rmSync(line(replica), { force: true });
    };
    if (unix) publish([1]);
    // Each mirror, published as its supervisor would publish it.
    for (const name of options.mirrors ?? []) {
        writeFileSync(relocate(mirrorUpstreamFiles(name).upstream, root), `server unix:${relocate(mirrorUpstreamFiles(name).socket, root)} max_fails=0;\n`);
    }
    const stubs = [
        ...(options.mirrors ?? []).flatMap((name) => stubRegistry([`unix:${relocate(mirrorUpstreamFiles(name).socket, root)}`], `mirror-${name}`, [], [
            // As the registry links the next page of tags, by the path it was asked.
            '            add_header Link "<$uri?last=3.19&n=1>; rel=\\"next\\"" always;',
            // What the mirror would have been told of the client's credentials (empty: no header).
            "            add_header X-Forwarded-Authorization $http_authorization always;",
        ])),
        ...(unix ? STUB_REPLICAS.flatMap((replica) => stubRegistry([`unix:${relocate(replicaUpstreamFiles(replica).socket, root)}`], `replica-${replica}`)) : []),
        ...(unix ? [] : stubRegistry(STUB_REPLICAS.map((replica) => `127.0.0.${replica}:${ports.upstream}`), "$server_addr")),
        ...(unix ? [] : stubRegistry(STUB_REPLICAS.map((replica) => `127.0.0.${replica}:${ports.upstreamTls} ssl`), "$server_addr", [
            `        ssl_certificate ${join(root, "link-server.crt")};`,
            `        ssl_certificate_key ${join(root, "link-server.key")};`,
            // As the registry's clientcas: the link's CA, a certificate required.
            `        ssl_client_certificate ${join(root, "link-ca.crt")};`,
            "        ssl_verify_client on;",
        ])),
    ];
    /** One nginx with the site, in its own folder `own` (root, or the next one's); the stubs run in the front when there is one. */
    const writeNginx = (own: string, loopback: Loopback) => {
        writeFileSync(join(own, "site.conf"), site(own, loopback));
        writeFileSync(join(own, "nginx.conf"), [
            `pid ${join(own, "nginx.pid")};`,
            `error_log ${join(own, "error.log")} notice;`,
            "user nobody nogroup;",
            "worker_processes 1;",
            "events {}",
            "http {",
            // As the UI image's nginx.conf has them: a response without a type of its own says
            // application/octet-stream, not nginx's built-in text/plain.
            "    include /etc/nginx/mime.types;",
            "    default_type application/octet-stream;",
            // The site's own access_log directives apply; everything else is logged here.
            `    access_log ${join(root, "access.log")};`,
            `    client_body_temp_path ${join(own, "body")};`,
            `    proxy_temp_path ${join(own, "proxy")};`,
            `    include ${join(own, "site.conf")};`,
            ...(behindFront ? [] : stubs),
            "}",
        ].join("\n"));
    };
    writeNginx(root, ports);
    const nginx = (...args: string[]) => spawnSync("nginx", ["-p", root, "-c", join(root, "nginx.conf"), ...args], { encoding: "utf8" });
    if (behindFront) startFront(root, ports, options.metricsServer ?? false, stubs);
    const watchers: ChildProcess[] = [];
    /** Each nginx behind the front, in the order they were started: its folder, name, health port and watcher. */
    const instances: { dir: string; name: string; health: number; watcher: ChildProcess }[] = [];
    if (run.watcher) {
        if (!unix) throw new Error("watcher: only the unix transport has one");
        watchers.push(startUnderWatcher(root, root, "first", ports.health));
        instances.push({ dir: root, name: "first", health: ports.health, watcher: watchers[0] });
        writeFileSync(join(root, WATCHER_PID), `${watchers[0].pid}\n`);
        if (behindFront) waitForFile(join(root, "published"), readLog(root));
    } else {
        const started = nginx("-e", join(root, "error.log"));
        if (started.status !== 0) throw new Error(`nginx did not start: ${started.stderr}${readLog(root)}`);
    }
    /** The nginx serving now (behind the front, the last one handed over to). */
    let current = root;
    let handovers = 0;

    return {
        installUsers(htpasswd: string, grants: string, metricsHtpasswd?: string) {
            runInstallScript(root, htpasswd, grants, metricsHtpasswd);
            if (!installScriptCheck(root)) throw new Error("install script's check fails right after installing");
        },
        send: (method, uri, opts = {}) => send(ports.https, method, uri, opts),
        sendToDaemonMirror: (method, uri, opts = {}) => send(ports.daemonMirror, method, uri, opts),
        relayPort: ports.relay,
        getMetrics: (path, auth) => plainGet(ports.metrics, path, auth),
        maintenanceDir: join(root, "maintenance"),
        upstreamsDir,
        accessLog: () => readFileSync(join(root, "access.log"), "utf8"),
        errorLog: () => readLog(root),
        publish(replicas) {
            if (!unix) throw new Error("publish: the tcp transport has no published replicas");
            const before = workers(current);
            publish(replicas);
            if (watchers.length === 0) {
                const reloaded = nginx("-s", "reload");
                if (reloaded.status !== 0) throw new Error(`nginx did not reload: ${reloaded.stderr}`);
            }
            waitForReload(current, before);
        },
        presentAsRegistry(certificate) {
            if (!link || behindFront) throw new Error("presentAsRegistry: the tcp transport's stub, in the entrypoint's own nginx");
            const server = certificate ?? link.server;
            writeFileSync(join(root, "link-server.crt"), server.certificatePem);
            writeFileSync(join(root, "link-server.key"), server.privateKeyPem);
            const before = workers(current);
            const reloaded = nginx("-s", "reload");
            if (reloaded.status !== 0) throw new Error(`nginx did not reload: ${reloaded.stderr}`);
            waitForReload(current, before);
        },
        async handOver() {
            if (!behindFront) throw new Error("handOver: only behind the front");
            const next = join(root, `next-${++handovers}`);
            mkdirSync(next);
            chmodSync(next, 0o755);
            // Its own loopback's ports: in a container of its own, they would be.
            const loopback = await freeLocalPorts("health", "paused", "readOnly");
            writeNginx(next, loopback);
            watchers.push(startUnderWatcher(next, root, `next-${handovers}`, loopback.health));
            instances.push({ dir: next, name: `next-${handovers}`, health: loopback.health, watcher: watchers[watchers.length - 1] });
            waitForFile(join(next, "published"), readLog(next));
            // The old one, as Docker stops it: nginx's graceful stop, requests in flight finished.
            const quit = spawnSync("nginx", ["-p", current, "-c", join(current, "nginx.conf"), "-s", "quit"], { encoding: "utf8" });
            if (quit.status !== 0) throw new Error(`the old nginx did not quit: ${quit.stderr}`);
            current = next;
        },
        restart(of) {
            const at = instances.findIndex((i) => i.dir === current);
            const instance = instances[of === "current" ? at : at - 1];
            if (!instance) throw new Error("restart: no nginx before the current one");
            // The container's end: everything in it killed at once.
            killGroup(instance.watcher);
            instance.watcher = startUnderWatcher(instance.dir, root, instance.name, instance.health);
            watchers.push(instance.watcher);
        },
        removeCurrent() {
            const at = instances.findIndex((i) => i.dir === current);
            if (at < 1) throw new Error("removeCurrent: no nginx before the current one");
            const quit = spawnSync("nginx", ["-p", current, "-c", join(current, "nginx.conf"), "-s", "quit"], { encoding: "utf8" });
            if (quit.status !== 0) throw new Error(`the current nginx did not quit: ${quit.stderr}`);
            // nginx removes its pid file (and its sockets) as it exits.
            waitForNoFile(join(current, "nginx.pid"), readLog(current));
            killGroup(instances[at].watcher);
            current = instances[at - 1].dir;
        },
        healthCheck(of = "current") {
            const dir = of === "current" ? current : instances[instances.findIndex((i) => i.dir === current) - 1].dir;
            const check = spawnSync("sh", [join(dir, "entrypoint-upstreams"), "--health"], {
                encoding: "utf8", env: { PATH: `${join(dir, "bin")}:${busyboxPath()}` },
            });
            return { ok: check.status === 0, output: `${check.stdout}${check.stderr}` };
        },
        frontDir: join(root, "front"),
        currentDir: () => current,
        stop() {
            for (const own of [root, ...Array.from({ length: handovers }, (_, i) => join(root, `next-${i + 1}`))]) {
                spawnSync("nginx", ["-p", own, "-c", join(own, "nginx.conf"), "-s", "stop"]);
            }
            if (behindFront) spawnSync("nginx", ["-p", root, "-c", join(root, "front.conf"), "-s", "stop"]);
            // Each watcher and its nginx: their own process group.
            for (const watcher of watchers) killGroup(watcher);
            rmSync(root, { recursive: true, force: true });
        },
    };
}

/** A watcher's whole process group (it, and the nginx it started): as a container's processes end. */
function killGroup(watcher: ChildProcess): void {
    if (watcher.pid === undefined) return;
    try {
        process.kill(-watcher.pid, "SIGKILL");
    } catch {
        // already gone
    }
}

/** Each entrypoint's temporary root: named with the test process that owns it. */
const ROOT_PREFIX = "pr-entrypoint-";
/** The soft limit on open files a container starts with on Docker 25 and later. */
export const CONTAINER_SOFT_OPEN_FILES = 1024;
/** The watcher's process group, in its root. */
const WATCHER_PID = "watcher.pid";

/**
 * Stops the nginx (and watcher) of every root whose test process has gone, and removes the
 * root: a killed test process (StrykerJS kills a worker whose mutant times out) cannot stop
 * its own, and nginx runs as a daemon, outliving it.
 */
function clearLeftovers(): void {
    for (const name of readdirSync(tmpdir())) {
        const owner = new RegExp(`^${ROOT_PREFIX}(\\d+)-`).exec(name)?.[1];
        if (owner === undefined || isRunning(Number(owner))) continue;
        const root = join(tmpdir(), name);
        const pidIn = (file: string) => Number(readOptional(join(root, file)).trim());
        // nginx first, then the watcher's whole process group, as stop() does.
        for (const pidFile of ["nginx.pid", "front.pid"]) {
            const master = pidIn(pidFile);
            if (master > 0 && isRunning(master)) signal(master, "SIGTERM");
        }
        const watcher = pidIn(WATCHER_PID);
        if (watcher > 0 && isRunning(watcher)) signal(-watcher, "SIGKILL");
        rmSync(root, { recursive: true, force: true });
    }
}

function isRunning(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        // EPERM: running, as another user.
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
}

function signal(pid: number, name: NodeJS.Signals): void {
    try {
        process.kill(pid, name);
    } catch {
        // gone meanwhile
    }
}

function readOptional(file: string): string {
    try {
        return readFileSync(file, "utf8");
    } catch {
        return "";
    }
}

/**
 * The container's start: the watcher script runs `nginx -g 'daemon off;'` (the image's
 * command). A shim named nginx gives every nginx it calls, `-s reload` included, this
 * root's prefix and config, as the container's paths are nginx's defaults.
 */
function startUnderWatcher(own: string, root: string, instance: string, healthPort: number): ChildProcess {
    const shims = join(own, "bin");
    // (again, when the same nginx restarts)
    mkdirSync(shims, { recursive: true });
    const real = spawnSync("sh", ["-c", "command -v nginx"], { encoding: "utf8" }).stdout.trim();
    writeScript(shims, "nginx", `#!/bin/sh\nexec ${real} -p ${own} -c ${join(own, "nginx.conf")} -e ${join(own, "error.log")} "$@"\n`);
    writeFileSync(join(own, "hostname"), `${instance}\n`);
    const script = writeScript(own, "entrypoint-upstreams", withSettings(renderUpstreamsScript(), {
        UPSTREAMS: join(root, "upstreams"),
        FRONT: join(root, "front"),
        FRONT_LISTEN: join(own, "front-listen"),
        NAME_FILE: join(own, "hostname"),
        HEALTH_URL: `http://127.0.0.1:${healthPort}/healthz`,
        PUBLISHED: join(own, "published"),
        WATCHER_PID: join(own, "watcher-upstreams.pid"),
    }));
    const child = spawn("sh", [script, ...UI_IMAGE_COMMAND.slice(1)], {
        env: { PATH: `${shims}:${busyboxPath()}` }, stdio: "ignore", detached: true,
    });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
        let first: string[] = [];
        try {
            first = workers(own);
        } catch {
            // no pid file yet
        }
        if (first.length > 0) {
            // The watcher reloads once at its start, whatever it saw: nginx may have read the volume before it looked.
            waitForReload(own, first);
            return child;
        }
        spawnSync("sleep", ["0.05"]);
    }
    throw new Error(`nginx did not start under the watcher: ${readLog(own)}`);
}

/**
 * The front's rendered config, on this test's ports and folders, workers as nobody (as the
 * image's nginx user), run as its own nginx; the stub registries run in it too, so that they
 * outlive every nginx handed over.
 */
function startFront(root: string, ports: EntrypointPorts, metrics: boolean, stubs: string[]): void {
    const published: Record<number, number> = { [containerPorts.uiHttp]: ports.http, [containerPorts.uiHttps]: ports.https, [containerPorts.uiMetrics]: ports.metrics };
    mkdirSync(join(root, "front"));
    chmodSync(join(root, "front"), 0o755);
    // Debian's dynamic stream module, named relative to nginx's prefix (its load_module line).
    symlinkSync("/usr/lib/nginx/modules", join(root, "modules"));
    const frontPorts = [containerPorts.uiHttp, containerPorts.uiHttps, ...(metrics ? [containerPorts.uiMetrics] : [])];
    const config = relocate(renderFrontConfig(frontPorts), root)
        .replace(/^user nginx;$/m, "user nobody nogroup;")
        .replace(/^pid .*$/m, `pid ${join(root, "front.pid")};`)
        .replace(/^error_log .*$/m, `error_log ${join(root, "front-error.log")} notice;`)
        .replaceAll(/listen (\d+);/g, (_, port: string) => `listen 127.0.0.1:${published[Number(port)]};`);
    writeFileSync(join(root, "front.conf"), [
        config,
        "http {",
        "    access_log off;",
        `    client_body_temp_path ${join(root, "stub-body")};`,
        ...stubs,
        "}",
    ].join("\n"));
    // The soft limit on open files Docker 25 and later give a container (hard: the host's).
    const started = spawnSync("prlimit", [`--nofile=${CONTAINER_SOFT_OPEN_FILES}:`, "nginx", "-p", root, "-c", join(root, "front.conf"), "-e", join(root, "front-error.log")], { encoding: "utf8" });
    if (started.status !== 0) throw new Error(`the front did not start: ${started.stderr}${readOptional(join(root, "front-error.log"))}`);
}

/** Polls every 50 ms for up to 10 s until `done`; then throws with what did not happen. */
function waitFor(done: () => boolean, failure: () => string): void {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
        if (done()) return;
        spawnSync("sleep", ["0.05"]);
    }
    throw new Error(failure());
}

function waitForNoFile(file: string, log: string): void {
    waitFor(() => !existsSync(file), () => `${file} was still there after 10 s: ${log}`);
}

function waitForFile(file: string, log: string): void {
    waitFor(() => existsSync(file), () => `${file} did not appear within 10 s: ${log}`);
}

/** The stub registry: says what it received, and as which replica. */
function stubRegistry(listens: string[], replica: string, tls: string[] = [], answerHeaders: string[] = []): string[] {
    return [
        "    server {",
        ...listens.map((listen) => `        listen ${listen};`),
        ...tls,
        // The entrypoint's log only (LocalEntrypoint.accessLog).
        "        access_log off;",
        "        location / {",
        "            add_header X-Forwarded-Request \"$request_method $request_uri\" always;",
        // What the entrypoint told the registry about the client, as the registry reads it.
        "            add_header X-Forwarded-Client \"$http_x_real_ip|$http_x_forwarded_for|$http_x_forwarded_proto|$http_host\" always;",
        // The registry sends nosniff on its answers too.
        "            add_header X-Content-Type-Options nosniff always;",
        `            add_header X-Forwarded-To ${replica} always;`,
        ...answerHeaders,
        "            return 202 \"forwarded\";",
        "        }",
        "    }",
    ];
}

/** The master's worker processes (under the watcher, the master is the watcher's parent too). */
function workers(root: string): string[] {
    const master = readFileSync(join(root, "nginx.pid"), "utf8").trim();
    return spawnSync("pgrep", ["-P", master, "-f", "^nginx: worker"], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean);
}

/** A reload has taken effect once new workers run and the old ones are gone. */
function waitForReload(root: string, before: string[]): void {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
        const now = workers(root);
        if (now.length > 0 && now.every((pid) => !before.includes(pid))) return;
        spawnSync("sleep", ["0.05"]);
    }
    throw new Error("nginx did not finish reloading within 10 s");
}

function readLog(root: string): string {
    return readOptional(join(root, "error.log"));
}

/** Reads a whole answer, and what the stub registry says it received. */
function collectReply(res: IncomingMessage, resolve: (reply: EntrypointReply) => void): void {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => {
        const forwarded = res.headers["x-forwarded-request"];
        const to = res.headers["x-forwarded-to"];
        resolve({
            status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers,
            forwarded: typeof forwarded === "string" ? forwarded : undefined, forwardedTo: typeof to === "string" ? to : undefined,
        });
    });
}

function plainGet(port: number, path: string, auth?: { user: string; password: string }): Promise<EntrypointReply> {
    const headers = auth ? { Authorization: basicAuthorization(auth.user, auth.password) } : {};
    return new Promise((resolve, reject) => {
        const req = httpRequest({ host: "127.0.0.1", port, method: "GET", path, headers, agent: false }, (res) => collectReply(res, resolve));
        req.on("error", reject);
        req.end();
    });
}

function send(
    port: number, method: string, uri: string,
    opts: { user?: string; password?: string; headers?: Record<string, string>; body?: string },
): Promise<EntrypointReply> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.user !== undefined) headers.Authorization = basicAuthorization(opts.user, opts.password ?? "");
    return new Promise((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, method, path: uri, headers, servername: "localhost", rejectUnauthorized: false, agent: false }, (res) => collectReply(res, resolve));
        req.on("error", reject);
        req.end(opts.body);
    });
}
