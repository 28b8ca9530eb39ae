/**
 * Benchmark-only registries beside the stack: the same image, the same rendered config
 * plus htpasswd auth, serving TLS itself on a temporary port published on 127.0.0.1, so a client
 * reaches the registry over the same kind of connection as through nginx, minus nginx.
 * One with auth (the direct baseline), one without (the unauthenticated baseline); on S3,
 * with and without a blob-descriptor cache (what a shared cache could gain at most).
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { paths } from "../components/common/paths";
import { registryConfigDocument } from "../components/registry/registryConfig";
import { StorageSettings } from "../components/storage/config";
import { canConnect, dockerCli, LIVE_LABEL } from "../testkit/live/liveDeployment";
import { registryConfigPath } from "../components/registry/release";
import { registrySeriesOf } from "../testkit/live/registrySeries";

const HTPASSWD = "/auth/htpasswd";

export interface DirectRegistry {
    name: string;
    port: number;
    remove(): Promise<void>;
}

export interface DirectRegistryOptions {
    name: string;
    image: string;
    port: number;
    auth: boolean;
    htpasswd: string;
    certificatePem: string;
    privateKeyPem: string;
    /** Default: the filesystem, on a volume of its own. */
    storage?: StorageSettings;
    /** The registry's in-process blob-descriptor cache (the deployment runs without one). */
    blobCache?: boolean;
}

export async function startDirectRegistry(options: DirectRegistryOptions): Promise<DirectRegistry> {
    const document: Record<string, unknown> = {
        ...registryConfigDocument({ series: registrySeriesOf(options.image), logLevel: "warn", storage: options.storage ?? { driver: "filesystem" }, transport: { kind: "tcp" } }),
    };
    if (options.blobCache) (document.storage as Record<string, unknown>).cache = { blobdescriptor: "inmemory" };
    const credentials = options.storage?.driver === "s3" && options.storage.credentials
        ? [`REGISTRY_STORAGE_S3_ACCESSKEY=${String(options.storage.credentials.accessKey)}`, `REGISTRY_STORAGE_S3_SECRETKEY=${String(options.storage.credentials.secretKey)}`].flatMap((e) => ["-e", e])
        : [];
    const http = document.http as Record<string, unknown>;
    http.tls = { certificate: "/certs/server.crt", key: "/certs/server.key" };
    // The deployment's registry checks no passwords (its entrypoint does); this baseline is
    // a registry doing its own htpasswd auth, as the recipe sets it up.
    if (options.auth) document.auth = { htpasswd: { realm: "bench", path: HTPASSWD } };

    const files = mkdtempSync(join(tmpdir(), "bench-registry-"));
    const volume = `${options.name}-data`;
    try {
        const put = (path: string, content: string) => {
            mkdirSync(join(files, path, ".."), { recursive: true });
            writeFileSync(join(files, path), content, { mode: 0o644 });
        };
        put(registryConfigPath(registrySeriesOf(options.image)), stringify(document));
        put(HTPASSWD, options.htpasswd);
        put("/certs/server.crt", options.certificatePem);
        put("/certs/server.key", options.privateKeyPem);
        await dockerCli(["rm", "-f", "-v", options.name]).catch(() => undefined);
        await dockerCli(["volume", "create", "--label", LIVE_LABEL, volume]);
        await dockerCli([
            "create", "--name", options.name, "--label", LIVE_LABEL, "--pull", "never",
            "-p", `127.0.0.1:${options.port}:5000`, "-v", `${volume}:${paths.registryData}`,
            "-e", "REGISTRY_HTTP_SECRET=benchmark-only-secret", ...credentials,
            options.image,
        ]);
        await dockerCli(["cp", `${files}/.`, `${options.name}:/`]);
        await dockerCli(["start", options.name]);
    } finally {
        rmSync(files, { recursive: true, force: true });
    }
    await waitForPort(options.port);
    return {
        name: options.name,
        port: options.port,
        remove: async () => {
            await dockerCli(["rm", "-f", "-v", options.name]).catch(() => undefined);
            await dockerCli(["volume", "rm", "-f", volume]).catch(() => undefined);
        },
    };
}

async function waitForPort(port: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
        if (await canConnect(port)) return;
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`benchmark registry on 127.0.0.1:${port} did not come up`);
}
