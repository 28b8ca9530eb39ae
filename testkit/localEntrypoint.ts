/**
 * The entrypoint's real nginx config and the users container's real install script, run
 * on this machine without Docker: Debian's nginx serves the rendered site (relocated to
 * temporary paths and ports, workers unprivileged as in the image), busybox sh installs
 * the users into a temporary access directory, and a stub upstream in the same nginx
 * echoes what the registry would have received.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { IncomingMessage, request as httpRequest } from "node:http";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { containerPorts, paths, REGISTRY_ALIAS, REPLICA_ALIAS_PREFIX } from "../components/common/paths";
import { NginxConfigOptions, renderNginxConfig } from "../components/entrypoint/nginxConfig";
import { MAX_REPLICAS } from "../components/registry/config";
import { ACCESS_SOURCE_DIR, renderInstallScript, SOURCE_GRANTS, SOURCE_HTPASSWD } from "../components/users/installScript";
import { makeCertificate } from "./selfSignedCertificate";

export interface EntrypointReply {
    status: number;
    body: string;
    headers: Record<string, string | string[] | undefined>;
    /** What the stub registry received (`METHOD URI`), when the request got through. */
    forwarded?: string;
    /** Which stub replica answered: 127.0.0.N for replica N. */
    forwardedTo?: string;
}

export interface LocalEntrypoint {
    /** Installs users (htpasswd + grants text) as the users container would. */
    installUsers(htpasswd: string, grants: string): void;
    send(method: string, uri: string, options?: { user?: string; password?: string; headers?: Record<string, string>; body?: string }): Promise<EntrypointReply>;
    /** A plain-HTTP GET to the metrics server. */
    getMetrics(path: string): Promise<EntrypointReply>;
    /** Where the maintenance volume is (the GC job's files). */
    maintenanceDir: string;
    stop(): void;
}

/** Relocates the container paths of a rendered file into `root`. */
function relocate(text: string, root: string): string {
    return text
        .replaceAll(paths.accessDir, join(root, "access"))
        .replaceAll(ACCESS_SOURCE_DIR, join(root, "access-source"))
        .replaceAll(paths.maintenanceDir, join(root, "maintenance"));
}

/**
 * Runs the users container's real install script under busybox sh on `root` (which holds
 * `access/` and `access-source/`), but for its last line (the container's sleep).
 */
export function runInstallScript(root: string, htpasswd: string, grants: string): string {
    mkdirSync(join(root, "access"), { recursive: true });
    mkdirSync(join(root, "access-source"), { recursive: true });
    rmSync(join(root, SOURCE_HTPASSWD.replace(ACCESS_SOURCE_DIR, "access-source")), { force: true });
    writeFileSync(join(root, SOURCE_HTPASSWD.replace(ACCESS_SOURCE_DIR, "access-source")), htpasswd, { mode: 0o400 });
    writeFileSync(join(root, SOURCE_GRANTS.replace(ACCESS_SOURCE_DIR, "access-source")), grants);
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

const STUB_REPLICAS = Array.from({ length: MAX_REPLICAS }, (_, i) => i + 1);

/** `metrics`: where the metrics server listens, when the options render it. */
export function startLocalEntrypoint(options: NginxConfigOptions, ports: { https: number; http: number; upstream: number; metrics?: number; paused?: number }): LocalEntrypoint {
    const root = mkdtempSync(join(tmpdir(), "pr-entrypoint-"));
    // nginx's workers run as nobody: they must be able to reach the access files, as in the image.
    chmodSync(root, 0o755);
    mkdirSync(join(root, "maintenance"));
    const cert = makeCertificate({ dnsNames: ["localhost"] });
    writeFileSync(join(root, "server.crt"), cert.certificatePem);
    writeFileSync(join(root, "server.key"), cert.privateKeyPem);
    const site = relocate(renderNginxConfig(options), root)
        .replaceAll(paths.tlsCertificate, join(root, "server.crt"))
        .replaceAll(paths.tlsPrivateKey, join(root, "server.key"))
        .replaceAll(new RegExp(`listen ${containerPorts.uiHttp}( default_server)?;`, "g"), `listen 127.0.0.1:${ports.http}$1;`)
        .replaceAll(new RegExp(`listen ${containerPorts.uiHttps} ssl`, "g"), `listen 127.0.0.1:${ports.https} ssl`)
        .replace(`http://${REGISTRY_ALIAS}:${containerPorts.registry}`, `http://127.0.0.1:${ports.upstream}`)
        // The stub answers for each replica's debug listener too: replica N is 127.0.0.N.
        .replaceAll(new RegExp(`http://${REPLICA_ALIAS_PREFIX}(\\d+|\\$1):${containerPorts.registryDebug}`, "g"), (_, replica: string) => `http://127.0.0.${replica}:${ports.upstream}`)
        .replace(`listen ${containerPorts.uiMetrics};`, `listen 127.0.0.1:${ports.metrics ?? 0};`)
        .replaceAll(`127.0.0.1:${containerPorts.uiWritesPaused}`, `127.0.0.1:${ports.paused ?? ports.upstream + 100}`);
    writeFileSync(join(root, "site.conf"), site);
    writeFileSync(join(root, "nginx.conf"), [
        `pid ${join(root, "nginx.pid")};`,
        `error_log ${join(root, "error.log")} notice;`,
        "user nobody nogroup;",
        "worker_processes 1;",
        "events {}",
        "http {",
        "    access_log off;",
        `    client_body_temp_path ${join(root, "body")};`,
        `    proxy_temp_path ${join(root, "proxy")};`,
        `    include ${join(root, "site.conf")};`,
        "    # The stub registry: says what it received, and as which replica (127.0.0.N).",
        "    server {",
        ...STUB_REPLICAS.map((replica) => `        listen 127.0.0.${replica}:${ports.upstream};`),
        "        location / {",
        "            add_header X-Forwarded-Request \"$request_method $request_uri\" always;",
        "            add_header X-Forwarded-To $server_addr always;",
        "            return 202 \"forwarded\";",
        "        }",
        "    }",
        "}",
    ].join("\n"));
    const started = spawnSync("nginx", ["-p", root, "-c", join(root, "nginx.conf"), "-e", join(root, "error.log")], { encoding: "utf8" });
    if (started.status !== 0) throw new Error(`nginx did not start: ${started.stderr}${readLog(root)}`);

    return {
        installUsers(htpasswd: string, grants: string) {
            runInstallScript(root, htpasswd, grants);
            if (!installScriptCheck(root)) throw new Error("install script's check fails right after installing");
        },
        send: (method, uri, opts = {}) => send(ports.https, method, uri, opts),
        getMetrics: (path) => plainGet(ports.metrics ?? 0, path),
        maintenanceDir: join(root, "maintenance"),
        stop() {
            spawnSync("nginx", ["-p", root, "-c", join(root, "nginx.conf"), "-s", "stop"]);
            rmSync(root, { recursive: true, force: true });
        },
    };
}

function readLog(root: string): string {
    try {
        return readFileSync(join(root, "error.log"), "utf8");
    } catch {
        return "";
    }
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

function plainGet(port: number, path: string): Promise<EntrypointReply> {
    return new Promise((resolve, reject) => {
        const req = httpRequest({ host: "127.0.0.1", port, method: "GET", path, agent: false }, (res) => collectReply(res, resolve));
        req.on("error", reject);
        req.end();
    });
}

function send(
    port: number, method: string, uri: string,
    opts: { user?: string; password?: string; headers?: Record<string, string>; body?: string },
): Promise<EntrypointReply> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.user !== undefined) headers.Authorization = `Basic ${Buffer.from(`${opts.user}:${opts.password ?? ""}`).toString("base64")}`;
    return new Promise((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, method, path: uri, headers, servername: "localhost", rejectUnauthorized: false, agent: false }, (res) => collectReply(res, resolve));
        req.on("error", reject);
        req.end(opts.body);
    });
}
