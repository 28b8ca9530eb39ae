/**
 * A registry's filesystem storage (`docker/registry/v2`) laid out as distribution writes it:
 * content-addressed blobs, each repository's layer links, manifest revisions and tags, with
 * the mtimes the maintenance job judges by. For the job's tests and the bench.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** OCI 1.1's empty descriptor's content (`{}`), the config of an artifact with no config. */
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";

/**
 * The tag cosign gives what it attaches to a manifest (`sha256-<hex>.sig`, `.att`, `.sbom`), or,
 * without a suffix, the referrers tag scheme's tag for the index of a subject's referrers.
 */
export function attachmentTag(subject: string, suffix?: string): string {
    return `sha256-${subject.slice("sha256:".length)}${suffix === undefined ? "" : `.${suffix}`}`;
}

export interface Image {
    manifest: string;
    /** The config and the layers. */
    blobs: string[];
}

export class RegistryTree {
    constructor(readonly root: string) {
        mkdirSync(join(root, "blobs", "sha256"), { recursive: true });
        mkdirSync(join(root, "repositories"), { recursive: true });
    }

    blobData(digest: string): string {
        const hex = digest.slice("sha256:".length);
        return join(this.root, "blobs", "sha256", hex.slice(0, 2), hex, "data");
    }

    hasBlob(digest: string): boolean {
        return existsSync(this.blobData(digest));
    }

    /** Stores content in the blob store; its digest. */
    blob(content: Buffer | string): string {
        const digest = `sha256:${createHash("sha256").update(content).digest("hex")}`;
        const data = this.blobData(digest);
        mkdirSync(join(data, ".."), { recursive: true });
        writeFileSync(data, content);
        return digest;
    }

    /** A repository's link to a blob: what an upload, a mount or a re-upload writes (this many seconds ago). */
    link(repository: string, digest: string, secondsAgo = 0): void {
        const path = join(this.repo(repository), "_layers", "sha256", digest.slice(7), "link");
        this.writeLink(path, digest);
        const when = Date.now() / 1000 - secondsAgo;
        if (secondsAgo) utimesSync(path, when, when);
    }

    /** A manifest stored under its revision (and a tag, if given). */
    manifest(repository: string, body: object, tag?: string): string {
        const digest = this.blob(JSON.stringify(body));
        this.writeLink(join(this.repo(repository), "_manifests", "revisions", "sha256", digest.slice(7), "link"), digest);
        if (tag !== undefined) this.tag(repository, tag, digest);
        return digest;
    }

    tag(repository: string, tag: string, digest: string): void {
        const dir = join(this.repo(repository), "_manifests", "tags", tag);
        this.writeLink(join(dir, "current", "link"), digest);
        this.writeLink(join(dir, "index", "sha256", digest.slice(7), "link"), digest);
    }

    /**
     * A manifest already in the store tagged (again) as a client's PUT by tag does it: its
     * revision link written anew, then the tag.
     */
    retag(repository: string, tag: string, digest: string): void {
        this.writeLink(join(this.repo(repository), "_manifests", "revisions", "sha256", digest.slice(7), "link"), digest);
        this.tag(repository, tag, digest);
    }

    hasRevision(repository: string, digest: string): boolean {
        return existsSync(join(this.repo(repository), "_manifests", "revisions", "sha256", digest.slice(7), "link"));
    }

    tags(repository: string): string[] {
        const dir = join(this.repo(repository), "_manifests", "tags");
        return existsSync(dir) ? readdirSync(dir).sort() : [];
    }

    repositories(): string[] {
        const found: string[] = [];
        const walk = (dir: string, name: string) => {
            if (existsSync(join(dir, "_manifests"))) found.push(name);
            for (const entry of readdirSync(dir)) {
                if (!entry.startsWith("_") && statSync(join(dir, entry)).isDirectory()) walk(join(dir, entry), name ? `${name}/${entry}` : entry);
            }
        };
        walk(join(this.root, "repositories"), "");
        return found.sort();
    }

    /** An image pushed as a client does: config and layers uploaded and linked, then the manifest. */
    image(repository: string, tag: string | undefined, layers: (Buffer | string)[]): Image {
        const config = this.blob(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, tag }));
        const layerDigests = layers.map((layer) => this.blob(layer));
        for (const digest of [config, ...layerDigests]) this.link(repository, digest);
        const manifest = this.manifest(repository, {
            schemaVersion: 2, mediaType: OCI_MANIFEST,
            config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: 2 },
            layers: layerDigests.map((digest) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest, size: 1 })),
        }, tag);
        return { manifest, blobs: [config, ...layerDigests] };
    }

    /** An index over the given manifests (already in the repository). */
    index(repository: string, tag: string | undefined, children: string[]): string {
        return this.manifest(repository, {
            schemaVersion: 2, mediaType: OCI_INDEX,
            manifests: children.map((digest, i) => ({ mediaType: OCI_MANIFEST, digest, size: 1, platform: { architecture: `arch${i}`, os: "linux" } })),
        }, tag);
    }

    /**
     * What cosign pushes for a signature, an attestation or an SBOM (`suffix`: sig, att, sbom):
     * a manifest whose layer names the subject, tagged `sha256-<subject hex>.<suffix>` in the
     * subject's repository. Its payload is uploaded and linked first, as a client does.
     */
    attach(repository: string, subject: string, suffix = "sig", payload = ""): Image {
        const config = this.blob(JSON.stringify({ architecture: "", os: "", rootfs: { type: "layers", diff_ids: [] }, attached: suffix }));
        const layer = this.blob(JSON.stringify({ critical: { image: { "docker-manifest-digest": subject }, type: `cosign ${suffix}` }, payload }));
        for (const digest of [config, layer]) this.link(repository, digest);
        const manifest = this.manifest(repository, {
            schemaVersion: 2, mediaType: OCI_MANIFEST,
            config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: 1 },
            layers: [{ mediaType: "application/vnd.dev.cosign.simplesigning.v1+json", digest: layer, size: 1 }],
        }, attachmentTag(subject, suffix));
        return { manifest, blobs: [config, layer] };
    }

    /**
     * An OCI 1.1 artifact that names its subject (a signature, an SBOM...), pushed by digest as
     * ORAS or notation push it to a registry without the referrers API (and tagged, if given).
     */
    artifact(repository: string, subject: string, artifactType = "application/example.signature.v1", tag?: string, payload = ""): Image {
        const config = this.blob("{}");
        const layer = this.blob(JSON.stringify({ artifactType, subject, payload }));
        for (const digest of [config, layer]) this.link(repository, digest);
        const manifest = this.manifest(repository, {
            schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType,
            config: { mediaType: OCI_EMPTY, digest: config, size: 2 },
            layers: [{ mediaType: "application/octet-stream", digest: layer, size: 1 }],
            subject: { mediaType: OCI_MANIFEST, digest: subject, size: 1 },
        }, tag);
        return { manifest, blobs: [config, layer] };
    }

    /**
     * The referrers tag scheme (OCI distribution 1.1), as clients keep it for a registry with no
     * referrers API: an index of the subject's artifacts, tagged `sha256-<subject hex>`.
     */
    referrersIndex(repository: string, subject: string, artifacts: string[]): string {
        return this.manifest(repository, {
            schemaVersion: 2, mediaType: OCI_INDEX,
            manifests: artifacts.map((digest) => ({ mediaType: OCI_MANIFEST, digest, size: 1, artifactType: "application/example.signature.v1" })),
        }, attachmentTag(subject));
    }

    /**
     * A manifest deleted by digest through the API, as distribution does it: its revision link
     * removed (the directory stays) and every tag whose current link names it untagged. Tags on
     * other manifests (a signature's, an SBOM's) stay.
     */
    deleteManifest(repository: string, digest: string): void {
        rmSync(join(this.repo(repository), "_manifests", "revisions", "sha256", digest.slice(7), "link"));
        for (const tag of this.tags(repository)) {
            const current = join(this.repo(repository), "_manifests", "tags", tag, "current", "link");
            if (existsSync(current) && readFileSync(current, "utf8") === digest) rmSync(join(this.repo(repository), "_manifests", "tags", tag), { recursive: true });
        }
    }

    /** Sets a tag's push time (its link's mtime) this many seconds back. */
    pushedAgo(repository: string, tag: string, seconds: number): void {
        const when = Date.now() / 1000 - seconds;
        utimesSync(join(this.repo(repository), "_manifests", "tags", tag, "current", "link"), when, when);
    }

    /** Sets every file's and directory's mtime this many seconds back: what was written becomes old. */
    age(seconds: number): void {
        const when = Date.now() / 1000 - seconds;
        const walk = (path: string) => {
            utimesSync(path, when, when);
            if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
        };
        walk(this.root);
    }

    private repo(repository: string): string {
        return join(this.root, "repositories", repository);
    }

    private writeLink(path: string, digest: string): void {
        mkdirSync(join(path, ".."), { recursive: true });
        writeFileSync(path, digest);
    }
}
