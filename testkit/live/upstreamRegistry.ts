/**
 * The "Docker Hub" of the mirror scenarios: the registry stand-in image (3.1.1) as a
 * container of its own, on a network of its own, with basic auth (htpasswd) and a server
 * certificate from a private CA for UPSTREAM_HOST. It joins the stack's network under that
 * name, so that the mirror reaches it there; the test reaches it on a published port of
 * 127.0.0.1 (the docker CLI as `127.0.0.1:<port>`, which docker takes for an insecure
 * registry: TLS without verification). No traffic leaves the machine.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import { makeChain, TestChain } from "../selfSignedCertificate";
import { dockerCli, LIVE_LABEL, TEST_IMAGES } from "./liveDeployment";
import { RegistryClient } from "./registryClient";

/** The upstream's name on the stack's network, which its certificate names. */
export const UPSTREAM_HOST = "upstream.private-registry.test";
/** Where it listens in its container (the mirror's `upstream` names it). */
export const UPSTREAM_CONTAINER_PORT = 5000;

export interface UpstreamRegistry {
    /** The container's name. */
    name: string;
    /** The CA the mirror's caCertificate trusts. */
    ca: string;
    user: string;
    password: string;
    /** Published on 127.0.0.1. */
    port: number;
    /** `127.0.0.1:port`, as the docker CLI on this machine names it. */
    address: string;
    client(): RegistryClient;
    stop(): Promise<void>;
    start(): Promise<void>;
    logs(): Promise<string>;
    remove(): Promise<void>;
}

/** The upstream's certificate chain: made before the stack, whose mirror trusts its root. */
export function upstreamCertificates(): TestChain {
    return makeChain({ dnsNames: [UPSTREAM_HOST] });
}

/** Creates and starts the upstream; it serves once `GET /v2/` with its account answers 200. */
export async function startUpstreamRegistry(options: {
    name: string; stackNetwork: string; port: number; user: string; password: string; chain: TestChain;
}): Promise<UpstreamRegistry> {
    const { name, port, user, password, chain } = options;
    const dir = mkdtempSync(join(tmpdir(), "pr-upstream-"));
    const network = `${name}-net`;
    try {
        writeFileSync(join(dir, "server.crt"), chain.leaf.certificatePem + chain.intermediate);
        writeFileSync(join(dir, "server.key"), chain.leaf.privateKeyPem);
        writeFileSync(join(dir, "htpasswd"), `${user}:${bcrypt.hashSync(password, 5)}\n`);
        writeFileSync(join(dir, "config.yml"), [
            "version: 0.1",
            "log: {level: info, formatter: text}",
            "storage: {filesystem: {rootdirectory: /var/lib/registry}, delete: {enabled: true}}",
            `http: {addr: ":${UPSTREAM_CONTAINER_PORT}", secret: an-upstream-test-secret, tls: {certificate: /etc/upstream/server.crt, key: /etc/upstream/server.key}}`,
            "auth: {htpasswd: {realm: upstream, path: /etc/upstream/htpasswd}}",
        ].join("\n"));
        await dockerCli(["network", "create", "--label", LIVE_LABEL, network]);
        await dockerCli(["create", "--name", name, "--label", LIVE_LABEL, "--network", network, "-p", `127.0.0.1:${port}:${UPSTREAM_CONTAINER_PORT}`,
            "-e", "OTEL_TRACES_EXPORTER=none", TEST_IMAGES.registry, "/etc/upstream/config.yml"]);
        await dockerCli(["cp", `${dir}/.`, `${name}:/etc/upstream`]);
        await dockerCli(["network", "connect", "--alias", UPSTREAM_HOST, options.stackNetwork, name]);
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
    const client = () => new RegistryClient({ host: UPSTREAM_HOST, port, ca: chain.root, user, password });
    const start = async () => {
        await dockerCli(["start", name]);
        const deadline = Date.now() + 30_000;
        while ((await client().request("GET", "/v2/").catch(() => undefined))?.status !== 200) {
            if (Date.now() > deadline) throw new Error(`the upstream registry did not start: ${await dockerCli(["logs", name]).catch(String)}`);
            await new Promise((r) => setTimeout(r, 200));
        }
    };
    await start();
    const address = `127.0.0.1:${port}`;
    return {
        name, ca: chain.root, user, password, port, address, client, start,
        stop: async () => { await dockerCli(["stop", "-t", "2", name]); },
        logs: () => dockerCli(["logs", name]),
        remove: async () => {
            await dockerCli(["rm", "-f", "-v", name]).catch(() => undefined);
            await dockerCli(["network", "rm", network]).catch(() => undefined);
        },
    };
}
