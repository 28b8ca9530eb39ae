/**
 * A minimal registry API v2 client over HTTPS (to 127.0.0.1, trusting only our CA) that
 * pushes and pulls images the way docker does, verifying every digest. Used where many
 * concurrent clients are needed and by the benchmark's raw HTTP measurements.
 */
import { createHash, randomBytes } from "node:crypto";
import * as https from "node:https";
import { HttpResponse, httpsRequest, portSuffixed } from "./liveDeployment";
import { basicAuthorization } from "../basicAuth";

export const MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json";
export const MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
export const CONFIG_V1 = "application/vnd.docker.container.image.v1+json";
export const LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";

export interface RegistryEndpoint {
    /** Host name for SNI and the Host header. */
    host: string;
    port: number;
    ca: string;
    user: string;
    password: string;
}

export interface PushedImage {
    repository: string;
    tag: string;
    manifestDigest: string;
    blobs: { digest: string; size: number }[];
}

export function sha256(data: Buffer | string): string {
    return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export class RegistryClient {
    constructor(private readonly endpoint: RegistryEndpoint) {}

    async request(method: string, pathOrUrl: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<HttpResponse> {
        const url = new URL(pathOrUrl, `https://${portSuffixed(this.endpoint.host, this.endpoint.port)}`);
        return httpsRequest({
            host: "127.0.0.1",
            port: this.endpoint.port,
            servername: this.endpoint.host,
            ca: this.endpoint.ca,
            method,
            path: `${url.pathname}${url.search}`,
            headers: { Host: url.host, Authorization: basicAuthorization(this.endpoint.user, this.endpoint.password), ...headers, ...(body ? { "Content-Length": String(Buffer.byteLength(body)) } : {}) },
            body,
        });
    }

    /** Monolithic blob upload: POST for a session, PUT the bytes with their digest. */
    async uploadBlob(repository: string, data: Buffer): Promise<string> {
        const digest = sha256(data);
        const start = await this.request("POST", `/v2/${repository}/blobs/uploads/`);
        expectStatus(start, 202, `start upload to ${repository}`);
        const location = new URL(String(start.headers.location), `https://${this.endpoint.host}`);
        location.searchParams.set("digest", digest);
        const put = await this.request("PUT", location.href, { "Content-Type": "application/octet-stream" }, data);
        expectStatus(put, 201, `upload blob to ${repository}`);
        if (put.headers["docker-content-digest"] !== digest) throw new Error(`registry stored ${put.headers["docker-content-digest"]} for ${digest}`);
        return digest;
    }

    /**
     * A monolithic blob upload whose body trickles in over `seconds` (a slow client), so a
     * test can act while it is in flight; `onFlowing` is called once the first bytes are sent.
     */
    async uploadBlobSlowly(repository: string, data: Buffer, seconds: number, onFlowing: () => void): Promise<string> {
        const digest = sha256(data);
        const start = await this.request("POST", `/v2/${repository}/blobs/uploads/`);
        expectStatus(start, 202, `start upload to ${repository}`);
        const location = new URL(String(start.headers.location), `https://${this.endpoint.host}`);
        location.searchParams.set("digest", digest);
        const put = await this.streamRequest("PUT", location, data, seconds, onFlowing);
        expectStatus(put, 201, `slow upload of a blob to ${repository}`);
        return digest;
    }

    /** A manifest PUT whose body trickles in over `seconds`: the registry acknowledges it only once it has all. */
    async putManifestSlowly(repository: string, tag: string, mediaType: string, body: Buffer, seconds: number, onFlowing: () => void): Promise<HttpResponse> {
        const url = new URL(`/v2/${repository}/manifests/${tag}`, `https://${portSuffixed(this.endpoint.host, this.endpoint.port)}`);
        return this.streamRequest("PUT", url, body, seconds, onFlowing, mediaType);
    }

    private streamRequest(method: string, url: URL, data: Buffer, seconds: number, onFlowing: () => void, contentType = "application/octet-stream"): Promise<HttpResponse> {
        return new Promise((resolve, reject) => {
            const req = https.request({
                host: "127.0.0.1", port: this.endpoint.port, servername: this.endpoint.host, ca: this.endpoint.ca, agent: false, method,
                path: `${url.pathname}${url.search}`,
                headers: { Host: url.host, Authorization: basicAuthorization(this.endpoint.user, this.endpoint.password), "Content-Type": contentType, "Content-Length": String(data.length) },
            }, (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), tlsVersion: null }));
            });
            req.on("error", reject);
            const pieces = 20;
            const size = Math.ceil(data.length / pieces);
            let sent = 0;
            const next = () => {
                req.write(data.subarray(sent * size, (sent + 1) * size));
                if (++sent === 1) onFlowing();
                if (sent < pieces) setTimeout(next, (seconds * 1000) / pieces);
                else req.end();
            };
            next();
        });
    }

    /** Pushes a one-layer image with `layerBytes` of random (incompressible) data. */
    async pushRandomImage(repository: string, tag: string, layerBytes: number): Promise<PushedImage> {
        return this.pushImage(repository, tag, randomBytes(layerBytes));
    }

    /** Pushes a one-layer image (the layer, a config, the manifest), as docker does. */
    async pushImage(repository: string, tag: string, layer: Buffer): Promise<PushedImage> {
        const config = Buffer.from(JSON.stringify({
            architecture: "amd64", os: "linux", config: {},
            rootfs: { type: "layers", diff_ids: [sha256(layer)] },
        }));
        const layerDigest = await this.uploadBlob(repository, layer);
        const configDigest = await this.uploadBlob(repository, config);
        const manifest = Buffer.from(JSON.stringify({
            schemaVersion: 2,
            mediaType: MANIFEST_V2,
            config: { mediaType: CONFIG_V1, size: config.length, digest: configDigest },
            layers: [{ mediaType: LAYER, size: layer.length, digest: layerDigest }],
        }));
        const put = await this.request("PUT", `/v2/${repository}/manifests/${tag}`, { "Content-Type": MANIFEST_V2 }, manifest);
        expectStatus(put, 201, `put manifest ${repository}:${tag}`);
        const manifestDigest = sha256(manifest);
        if (put.headers["docker-content-digest"] !== manifestDigest) throw new Error("manifest digest mismatch");
        return {
            repository, tag, manifestDigest,
            blobs: [{ digest: configDigest, size: config.length }, { digest: layerDigest, size: layer.length }],
        };
    }

    /** Stores a manifest of any type by tag or digest; returns its digest. */
    async putManifest(repository: string, reference: string, mediaType: string, body: Buffer): Promise<string> {
        const put = await this.request("PUT", `/v2/${repository}/manifests/${reference}`, { "Content-Type": mediaType }, body);
        expectStatus(put, 201, `put manifest ${repository}:${reference}`);
        return sha256(body);
    }

    /**
     * A multi-platform image: one image manifest per platform (each with its own layer and
     * the shared `baseLayer`), stored by digest, and an index (OCI) or manifest list
     * (Docker) naming them, stored under `tag`, or by digest alone when `tag` is undefined.
     */
    async pushMultiPlatform(repository: string, tag: string | undefined, format: "oci" | "docker", baseLayer: Buffer, layerBytes: number): Promise<{ digest: string; children: string[] }> {
        const [manifestType, indexType, configType, layerType] = format === "oci" ? [OCI_MANIFEST, OCI_INDEX, OCI_CONFIG, OCI_LAYER] : [MANIFEST_V2, MANIFEST_LIST, CONFIG_V1, LAYER];
        const baseDigest = await this.uploadBlob(repository, baseLayer);
        const platforms = [{ architecture: "amd64", os: "linux" }, { architecture: "arm64", os: "linux" }];
        const children = [];
        for (const platform of platforms) {
            const layer = randomBytes(layerBytes);
            const config = Buffer.from(JSON.stringify({ ...platform, config: {}, rootfs: { type: "layers", diff_ids: [sha256(baseLayer), sha256(layer)] } }));
            const manifest = Buffer.from(JSON.stringify({
                schemaVersion: 2, mediaType: manifestType,
                config: { mediaType: configType, size: config.length, digest: await this.uploadBlob(repository, config) },
                layers: [{ mediaType: layerType, size: baseLayer.length, digest: baseDigest }, { mediaType: layerType, size: layer.length, digest: await this.uploadBlob(repository, layer) }],
            }));
            const digest = await this.putManifest(repository, sha256(manifest), manifestType, manifest);
            children.push({ mediaType: manifestType, size: manifest.length, digest, platform });
        }
        const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: indexType, manifests: children }));
        const digest = await this.putManifest(repository, tag ?? sha256(index), indexType, index);
        return { digest, children: children.map((c) => c.digest) };
    }

    /** Pulls an index or manifest list and every platform image it names, verifying each digest. */
    async pullMultiPlatformAndVerify(repository: string, reference: string): Promise<string> {
        const response = await this.request("GET", `/v2/${repository}/manifests/${reference}`, { Accept: `${OCI_INDEX}, ${MANIFEST_LIST}` });
        expectStatus(response, 200, `get index ${repository}:${reference}`);
        const index = JSON.parse(response.body.toString()) as { manifests: { digest: string }[] };
        for (const child of index.manifests) await this.pullAndVerify(repository, child.digest);
        return sha256(response.body);
    }

    /** Pulls manifest, config and layers as docker does, verifying each digest. Returns the manifest digest. */
    async pullAndVerify(repository: string, reference: string): Promise<string> {
        const manifestResponse = await this.request("GET", `/v2/${repository}/manifests/${reference}`, { Accept: `${MANIFEST_V2}, ${OCI_MANIFEST}` });
        expectStatus(manifestResponse, 200, `get manifest ${repository}:${reference}`);
        const manifestDigest = sha256(manifestResponse.body);
        if (manifestResponse.headers["docker-content-digest"] !== manifestDigest) throw new Error(`manifest digest header mismatch for ${repository}:${reference}`);
        const manifest = JSON.parse(manifestResponse.body.toString()) as { config: { digest: string }; layers: { digest: string; size: number }[] };
        for (const blob of [manifest.config, ...manifest.layers]) {
            const response = await this.request("GET", `/v2/${repository}/blobs/${blob.digest}`);
            expectStatus(response, 200, `get blob ${blob.digest}`);
            if (sha256(response.body) !== blob.digest) throw new Error(`blob ${blob.digest} of ${repository} arrived corrupted`);
        }
        return manifestDigest;
    }
}

/** An answer other than the one expected, with what a retrying client looks at. */
export class RegistryError extends Error {
    constructor(message: string, readonly response: HttpResponse) {
        super(message);
        this.name = "RegistryError";
    }
}

export function expectStatus(response: HttpResponse, status: number, what: string): void {
    if (response.status !== status) {
        throw new RegistryError(`${what}: HTTP ${response.status} (expected ${status}): ${response.body.toString().slice(0, 300)}`, response);
    }
}
