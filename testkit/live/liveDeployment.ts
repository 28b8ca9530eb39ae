/**
 * A live deployment of the real program (index.ts) on the local Docker engine, through the
 * live mock harness, plus the clients the scenarios use: HTTPS with only our CA trusted,
 * the docker CLI with the CA in /etc/docker/certs.d, and docker exec into the containers.
 *
 * Everything created carries the label LIVE_LABEL; leftovers from an interrupted run are
 * removed first. Images come from test/live/env/provision.sh (no registry can be pulled).
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import * as net from "node:net";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { demuxedText, Modem } from "../harness/dockerStreams";
import { clearLeftovers, LiveStack, RunOptions, RunReport } from "../harness/liveMocks";
import { evaluateProgram, PROJECT, setStackConfig, stackOutputs } from "../program";
import { basicAuthorization } from "../basicAuth";
import { OWN_LABELS } from "../../components/common/labels";

export const LIVE_LABEL = "private-registry.test=live";
export { PROJECT } from "../program";
/** The real UI releases, as test/live/env/provision.sh builds them (joxit's own files). */
export const TEST_UI_IMAGES = {
    "2.5.2": "private-registry-test/docker-registry-ui:2.5.2",
    "2.6.0": "private-registry-test/docker-registry-ui:2.6.0",
} as const;
/** The images the live suite deploys: the program's default releases (registry 3.1.1, UI 2.6.0). */
export const TEST_IMAGES = { registry: "private-registry-test/registry:3.1.1", ui: TEST_UI_IMAGES["2.6.0"], redis: "private-registry-test/redis:7.0.15" };
/** The seed recipe's releases (registry 2.8.2, UI 2.5.2), for the core set that also runs on them. */
export const TEST_IMAGES_SEED = { ...TEST_IMAGES, registry: "private-registry-test/registry:2.8.2", ui: TEST_UI_IMAGES["2.5.2"] };
/** A small image to push: built by the harness (testkit/harness/testImage.ts). */
export { TEST_IMAGE as PUSHABLE_IMAGE, ensureTestImage } from "../harness/testImage";

const execFileAsync = promisify(execFile);

/**
 * The deployment's containers, by the role in their name. `ui` holds the entrypoint's ports;
 * nginx runs in `ui-nginx` (Docker's name `<stack>-ui-nginx-<7 hex>`, the provider's, a new
 * one each time it is replaced: see dockerName).
 */
export type Role = "registry" | "ui" | "ui-nginx" | "maintenance" | "users";

export interface StackOutputs {
    registryUrl: string;
    uiUrl: string;
    registryAddress: string;
    caCertificate: string;
    caCertificatePath: string;
    userNames: string[];
    generatedPasswords: Record<string, string>;
    dockerLoginCommand: string;
    volumeName: string;
    gcCommand: string;
}

/** Stack config for live tests: the dev stack's shape on test ports, test images, test labels. */
export function liveConfig(overrides: Record<string, unknown> = {}): Record<string, string> {
    const base: Record<string, unknown> = {
        host: "localhost",
        httpsPort: 18443,
        httpPort: 18080,
        bindAddress: "127.0.0.1",
        users: [{ name: "admin" }, { name: "ci-bot", password: CI_BOT_PASSWORD }],
        images: TEST_IMAGES,
        labels: { "private-registry.test": "live" },
        ...overrides,
    };
    return Object.fromEntries(Object.entries(base).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

export const CI_BOT_PASSWORD = "live-test-ci-bot-password-0001";

/** Fails in CI, skips elsewhere, when there is no Docker engine. */
export function requireDocker(ctx: Mocha.Context): void {
    if (spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0) return;
    const reason = "no Docker engine (run test/live/env/provision.sh as root)";
    if (process.env.CI) throw new Error(`${reason}: the live suite is required in CI`);
    console.log(`      skipped: ${reason}`);
    ctx.skip();
}

export class LiveDeployment {
    readonly stack: LiveStack;
    readonly docker = new Docker();
    outputs!: StackOutputs;
    lastReport!: RunReport;
    private config: Record<string, string>;

    constructor(readonly stackName: string, config: Record<string, string>, stateFile = LiveStack.tempStateFile()) {
        this.config = config;
        this.stack = new LiveStack({ label: LIVE_LABEL, stateFile, project: PROJECT, stack: stackName });
    }

    /** Removes every container, network and volume an earlier live run left behind. */
    static async clearLeftovers(): Promise<void> {
        await clearLeftovers(LIVE_LABEL, { volumes: true });
    }

    /** `pulumi up` (with `options.replace`: `--replace`): evaluates index.ts against this stack's state. */
    async up(config: Record<string, string> = this.config, options: RunOptions = {}): Promise<RunReport> {
        this.config = config;
        setStackConfig(config);
        const { result, report } = await this.stack.up(() => evaluateProgram(), options);
        this.outputs = (await stackOutputs(result)).outputs as unknown as StackOutputs;
        this.lastReport = report;
        return report;
    }

    /** `pulumi preview`: what an up with this config would do, changing nothing. */
    async preview(config: Record<string, string> = this.config): Promise<RunReport> {
        setStackConfig(config);
        return this.stack.preview(() => evaluateProgram());
    }

    /**
     * `pulumi destroy`, refused while the identity is kept (keepIdentity); `excludeProtected`:
     * `pulumi destroy --exclude-protected`, which a recreate starts with.
     */
    async destroy(opts: { excludeProtected?: boolean } = {}): Promise<RunReport> {
        return this.stack.destroy(opts);
    }

    /** Removing the stack for good, as README says: `pulumi state unprotect --all`, then `pulumi destroy`. */
    async destroyForGood(): Promise<RunReport> {
        this.stack.unprotectAll();
        return this.stack.destroy();
    }

    get httpsPort(): number {
        return Number(this.config.httpsPort);
    }

    get adminPassword(): string {
        return this.outputs.generatedPasswords.admin;
    }

    /** What the stack's containers, fixed-name network and volumes are named after: `<project>-<stack>`. */
    get namePrefix(): string {
        return `${PROJECT}-${this.stackName}`;
    }

    /** The resource's name (what `RunReport` lists); Docker's too, but for `ui-nginx`. */
    containerName(role: Role): string {
        return `${this.namePrefix}-${role}`;
    }

    /**
     * Docker's name of the role's container. `ui-nginx` is found by its labels: the newest
     * running one (in a handover, the old one drains beside the new one until the up ends).
     */
    async dockerName(role: Role): Promise<string> {
        if (role !== "ui-nginx") return this.containerName(role);
        const found = await this.docker.listContainers({
            filters: { label: [`${OWN_LABELS.name}=${this.namePrefix}`, `${OWN_LABELS.role}=${role}`], status: ["running"] },
        });
        const newest = found.sort((a, b) => b.Created - a.Created)[0];
        if (!newest) throw new Error(`no running ${role} container of ${this.namePrefix}`);
        return newest.Names[0].replace(/^\//, "");
    }

    /** Target docker: the registry replicas' containers, `<stack>-registry`, `-registry-2`, … (config `replicas`, default 1). */
    replicaContainerNames(): string[] {
        const first = this.containerName("registry");
        return Array.from({ length: Number(this.config.replicas ?? 1) }, (_, i) => (i === 0 ? first : `${first}-${i + 1}`));
    }

    /** Lets the docker daemon trust our CA for this registry address, as README tells users. */
    trustCaForDocker(): () => void {
        const file = join("/etc/docker/certs.d", this.outputs.registryAddress, "ca.crt");
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, this.outputs.caCertificate);
        return () => rmSync(dirname(file), { recursive: true, force: true });
    }

    /** An HTTPS request to 127.0.0.1 on the published port, trusting only our CA. */
    request(path: string, options: RequestOptions = {}): Promise<HttpResponse> {
        const host = options.host ?? new URL(this.outputs.registryUrl).hostname;
        const headers: Record<string, string> = { Host: portSuffixed(host, this.httpsPort), ...(options.headers ?? {}) };
        if (options.auth) headers.Authorization = basicAuthorization(options.auth.user, options.auth.password);
        return httpsRequest({
            host: "127.0.0.1",
            port: this.httpsPort,
            servername: host,
            ca: this.outputs.caCertificate,
            method: options.method ?? "GET",
            path,
            headers,
            body: options.body,
            minVersion: options.minVersion,
            maxVersion: options.maxVersion,
        });
    }

    async exec(role: Role, command: string[]): Promise<{ exitCode: number; output: string }> {
        const container = this.docker.getContainer(await this.dockerName(role));
        const exec = await container.exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
        const stream = await exec.start({});
        const output = await demuxedText(this.docker.modem as Modem, stream);
        const info = await exec.inspect();
        return { exitCode: info.ExitCode ?? -1, output };
    }

    /**
     * Makes everything in the registry's filesystem store `days` old (every file's mtime), as if
     * written then: beyond the collector's grace window, so that garbage is collectable at once.
     */
    async ageStore(days = 1): Promise<void> {
        const when = new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 19).replace("T", " ");
        const result = await this.exec("registry", ["find", "/var/lib/registry/docker/registry/v2", "-exec", "touch", "-d", when, "{}", "+"]);
        if (result.exitCode !== 0) throw new Error(`ageing the store failed: ${result.output}`);
    }

    async containerId(role: Role): Promise<string> {
        return (await this.docker.getContainer(await this.dockerName(role)).inspect()).Id;
    }
}

export interface RequestOptions {
    method?: string;
    headers?: Record<string, string>;
    auth?: { user: string; password: string };
    body?: Buffer | string;
    /** Host name for SNI and the Host header (default: the registry's). */
    host?: string;
    minVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
    maxVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
}

export interface HttpResponse {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer;
    tlsVersion: string | null;
    /** Serial number of the certificate the server presented (hex). */
    tlsPeerSerial?: string;
}

export function portSuffixed(host: string, port: number): string {
    return port === 443 ? host : `${host}:${port}`;
}

export function httpsRequest(options: https.RequestOptions & { body?: Buffer | string }): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
        const req = https.request({ ...options, agent: false, timeout: 60_000 }, (res) => {
            const chunks: Buffer[] = [];
            const socket = res.socket as import("node:tls").TLSSocket;
            const tlsVersion = socket.getProtocol?.() ?? null;
            const tlsPeerSerial = socket.getPeerCertificate?.()?.serialNumber;
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), tlsVersion, tlsPeerSerial }));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error(`timeout: ${options.method} ${options.path}`)));
        req.on("error", reject);
        if (options.body !== undefined) req.write(options.body);
        req.end();
    });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function canConnect(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: "127.0.0.1", port }, () => { socket.destroy(); resolve(true); });
        socket.on("error", () => resolve(false));
    });
}

/** Runs the docker CLI; throws with its output when it fails. */
export async function dockerCli(args: string[], input?: string): Promise<string> {
    if (input === undefined) {
        const { stdout, stderr } = await execFileAsync("docker", args, { maxBuffer: 64 * 1024 * 1024 });
        return `${stdout}${stderr}`;
    }
    const result = spawnSync("docker", args, { input, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`docker ${args.join(" ")} failed: ${result.stdout}${result.stderr}`);
    return `${result.stdout}${result.stderr}`;
}
