/**
 * Timed 1 GiB-class transfers against one registry endpoint, two ways:
 * - skopeo: an OCI layout with one pre-compressed (random, so incompressible) layer, copied
 *   to the registry and back (the data path without docker's single-threaded gzip);
 * - raw HTTP: a monolithic blob upload (POST + PUT) and a blob GET hashed as it streams.
 * Every push uses fresh random bytes: a blob the registry already has would be skipped.
 */
import { execFile } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import { join } from "node:path";
import { promisify } from "node:util";
import { basicAuthorization } from "../testkit/basicAuth";
import { sha256 } from "../testkit/live/registryClient";

const execFileAsync = promisify(execFile);

export interface Endpoint {
    /** Host name clients use (SNI, Host header, image references). */
    host: string;
    port: number;
    ca: string;
    user: string;
    password: string;
}

/** Scratch space in memory, so the disk under the client is not what gets measured. */
const SCRATCH = "/dev/shm";

export function randomLayer(bytes: number): Buffer {
    const data = Buffer.allocUnsafe(bytes);
    // randomFillSync caps one call at 2^31-1 bytes.
    for (let offset = 0; offset < bytes; offset += 1 << 30) randomFillSync(data, offset, Math.min(1 << 30, bytes - offset));
    return data;
}

/** Wall time and the whole machine's busy CPU time (all processes: client, docker-proxy, nginx, registry). */
export interface Timing {
    seconds: number;
    cpuSeconds: number;
}

/** Busy CPU seconds of the machine so far, from /proc/stat (USER_HZ = 100). */
function machineBusySeconds(): number {
    const [, user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
    return (user + nice + system + irq + softirq + steal) / 100;
}

async function timed(action: () => Promise<void>): Promise<Timing> {
    const cpu = machineBusySeconds();
    const start = process.hrtime.bigint();
    await action();
    return { seconds: Number(process.hrtime.bigint() - start) / 1e9, cpuSeconds: machineBusySeconds() - cpu };
}

// ---------------------------------------------------------------------------- skopeo

function writeOciLayout(dir: string, layer: Buffer): void {
    const blobs = join(dir, "blobs", "sha256");
    mkdirSync(blobs, { recursive: true });
    const put = (data: Buffer | string) => {
        const digest = sha256(data);
        writeFileSync(join(blobs, digest.slice("sha256:".length)), data);
        return { digest, size: Buffer.byteLength(data) };
    };
    const layerBlob = put(layer);
    const config = put(JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [layerBlob.digest] } }));
    const manifest = put(JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layerBlob }],
    }));
    writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    writeFileSync(join(dir, "index.json"), JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, annotations: { "org.opencontainers.image.ref.name": "bench" } }],
    }));
}

function skopeoTls(endpoint: Endpoint): { certDir: string; args: (direction: "src" | "dest") => string[] } {
    const certDir = mkdtempSync(join(SCRATCH, "bench-certs-"));
    writeFileSync(join(certDir, "ca.crt"), endpoint.ca);
    return {
        certDir,
        args: (direction) => [`--${direction}-cert-dir`, certDir, `--${direction}-creds`, `${endpoint.user}:${endpoint.password}`],
    };
}

/** Pushes a fresh layer with skopeo, then pulls it back; returns both durations in seconds. */
export async function skopeoRound(endpoint: Endpoint, repository: string, layerBytes: number): Promise<{ push: Timing; pull: Timing }> {
    const work = mkdtempSync(join(SCRATCH, "bench-skopeo-"));
    const tls = skopeoTls(endpoint);
    const reference = `docker://${endpoint.host}:${endpoint.port}/${repository}:bench`;
    try {
        writeOciLayout(join(work, "source"), randomLayer(layerBytes));
        const push = await timed(async () => {
            await execFileAsync("skopeo", ["copy", "--quiet", ...tls.args("dest"), `oci:${join(work, "source")}:bench`, reference]);
        });
        rmSync(join(work, "source"), { recursive: true, force: true });
        const pull = await timed(async () => {
            await execFileAsync("skopeo", ["copy", "--quiet", ...tls.args("src"), reference, `oci:${join(work, "pulled")}:bench`]);
        });
        return { push, pull };
    } finally {
        rmSync(work, { recursive: true, force: true });
        rmSync(tls.certDir, { recursive: true, force: true });
    }
}

// ---------------------------------------------------------------------------- raw HTTP

function request(endpoint: Endpoint, method: string, path: string, headers: Record<string, string | number>, body?: Buffer):
    Promise<{ status: number; headers: Record<string, string | string[] | undefined>; digest: string; bytes: number }> {
    return new Promise((resolve, reject) => {
        const req = https.request({
            host: "127.0.0.1", port: endpoint.port, servername: endpoint.host, ca: endpoint.ca, agent: false, method, path,
            headers: { Host: `${endpoint.host}:${endpoint.port}`, Authorization: basicAuthorization(endpoint.user, endpoint.password), ...headers },
        }, (res) => {
            const hash = createHash("sha256");
            let bytes = 0;
            res.on("data", (chunk: Buffer) => { hash.update(chunk); bytes += chunk.length; });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, digest: `sha256:${hash.digest("hex")}`, bytes }));
            res.on("error", reject);
        });
        req.on("error", reject);
        req.end(body);
    });
}

/** Uploads a fresh blob (POST, then one PUT with the bytes), then GETs it back hashing the stream. */
export async function rawHttpRound(endpoint: Endpoint, repository: string, layerBytes: number): Promise<{ push: Timing; pull: Timing }> {
    const layer = randomLayer(layerBytes);
    const digest = sha256(layer);
    const push = await timed(async () => {
        const start = await request(endpoint, "POST", `/v2/${repository}/blobs/uploads/`, {});
        if (start.status !== 202) throw new Error(`start upload: HTTP ${start.status}`);
        const location = new URL(String(start.headers.location), `https://${endpoint.host}`);
        location.searchParams.set("digest", digest);
        const put = await request(endpoint, "PUT", `${location.pathname}${location.search}`, {
            "Content-Type": "application/octet-stream", "Content-Length": layer.length,
        }, layer);
        if (put.status !== 201) throw new Error(`upload: HTTP ${put.status}`);
    });
    const pull = await timedBlobGet(endpoint, repository, digest, layerBytes);
    return { push, pull };
}

/** A blob's GET, hashed as it streams: it must arrive whole, with its digest. */
export async function timedBlobGet(endpoint: Endpoint, repository: string, digest: string, bytes: number): Promise<Timing> {
    return timed(async () => {
        const get = await request(endpoint, "GET", `/v2/${repository}/blobs/${digest}`, {});
        if (get.status !== 200 || get.digest !== digest || get.bytes !== bytes) {
            throw new Error(`blob GET: HTTP ${get.status}, ${get.bytes} bytes, ${get.digest === digest ? "digest ok" : "digest MISMATCH"}`);
        }
    });
}

/** GET of a static file over HTTPS, hashed as it streams (the nginx ceiling). */
export async function timedGet(endpoint: Endpoint, path: string, expectedBytes: number): Promise<Timing> {
    return timed(async () => {
        const get = await request(endpoint, "GET", path, {});
        if (get.status !== 200 || get.bytes !== expectedBytes) throw new Error(`GET ${path}: HTTP ${get.status}, ${get.bytes} bytes`);
    });
}
