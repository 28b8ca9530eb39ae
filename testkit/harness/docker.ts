/**
 * Live realizers for @pulumi/docker 5.2 resources (Network, Volume, RemoteImage,
 * Container) on the local Docker engine, through the Engine API (dockerode). What each
 * one does, and where it follows or departs from the bridged Terraform provider, is in
 * README.md ("What each resource does"). Every container, network and volume created
 * carries the harness label, so `clearLeftovers` can find them.
 */
import * as fs from "node:fs";
import type Docker from "dockerode";
import { demuxedText, Modem, tarOneFile } from "./dockerStreams";
import {
    Inputs,
    NotImplementedError,
    PartialCreateError,
    RealizeContext,
    Realizer,
    bool,
    num,
    obj,
    objList,
    str,
    strList,
    strMap,
} from "./realizer";

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface DockerError {
    statusCode?: number;
    message?: string;
}

export function statusOf(err: unknown): number | undefined {
    return (err as DockerError | undefined)?.statusCode;
}

/** Parses a Go duration ("1m30s", "500ms", "10s", "0") into nanoseconds, as the provider does. */
export function goDurationToNanos(text: string): number {
    if (text === "0") return 0;
    const unit: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
    const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
    let total = 0;
    let matched = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
        total += parseFloat(m[1]) * unit[m[2]];
        matched = re.lastIndex;
    }
    if (matched !== text.length || text.length === 0) {
        throw new Error(`invalid duration "${text}" (Go syntax expected, e.g. "10s", "1m30s", "500ms")`);
    }
    return Math.round(total);
}

export async function lastLogs(container: Docker.Container, lines = 30): Promise<string> {
    try {
        const raw = (await container.logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown;
        return await demuxedText(container.modem as Modem, Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)));
    } catch (err) {
        return `(logs unavailable: ${(err as Error).message})`;
    }
}

export function labelMap(ctx: RealizeContext, inputs: Inputs): Record<string, string> {
    const labels: Record<string, string> = {};
    for (const l of objList(inputs, "labels")) {
        labels[String(l.label)] = String(l.value);
    }
    labels[ctx.label.key] = ctx.label.value;
    return labels;
}

/** The labels an object really carries, minus the harness's own (unless the program set it too), as the provider reads them back. */
export function readBackLabels(ctx: RealizeContext, actual: Record<string, string> | null | undefined, inputs: Inputs): { label: string; value: string }[] {
    const programSetsIt = objList(inputs, "labels").some((l) => l.label === ctx.label.key);
    return Object.entries(actual ?? {})
        .filter(([label]) => programSetsIt || label !== ctx.label.key)
        .map(([label, value]) => ({ label, value }))
        .sort((a, b) => a.label.localeCompare(b.label));
}

/** Nanoseconds as Go's time.Duration prints them ("10s", "1m30s", "1.5ms"): how the provider reads durations back. */
export function nanosToGoDuration(nanos: number): string {
    if (nanos === 0) return "0s";
    // An integer and a fraction without trailing zeros, in units of `unit` nanoseconds.
    const decimal = (n: number, unit: number): string => {
        const frac = String(n % unit).padStart(String(unit).length - 1, "0").replace(/0+$/, "");
        return `${Math.floor(n / unit)}${frac ? `.${frac}` : ""}`;
    };
    if (nanos < 1e3) return `${nanos}ns`;
    if (nanos < 1e6) return `${decimal(nanos, 1e3)}µs`;
    if (nanos < 1e9) return `${decimal(nanos, 1e6)}ms`;
    const hours = Math.floor(nanos / 3.6e12);
    const minutes = Math.floor((nanos % 3.6e12) / 6e10);
    const seconds = decimal(nanos % 6e10, 1e9);
    return `${hours ? `${hours}h` : ""}${hours || minutes ? `${minutes}m` : ""}${seconds}s`;
}

async function imageExists(docker: Docker, ref: string): Promise<Docker.ImageInspectInfo | undefined> {
    try {
        return await docker.getImage(ref).inspect();
    } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
    }
}

function missingImage(ref: string): Error {
    return new Error(
        `image "${ref}" is not present in the local Docker engine, and the live mock never pulls: ` +
            `build or load it first with test/live/env/provision.sh`,
    );
}

// ---------------------------------------------------------------------------------------
// Network

export const networkRealizer: Realizer = {
    inputs: {
        name: true,
        driver: true,
        internal: true,
        attachable: true,
        ipv6: true,
        options: true,
        labels: ["label", "value"],
        ipamDriver: true,
        ipamConfigs: ["subnet", "ipRange", "gateway", "auxAddress"],
        checkDuplicate: true,
    },
    sets: new Set(["labels", "ipamConfigs"]),
    async create(ctx, name, inputs) {
        const ipam = objList(inputs, "ipamConfigs");
        const net = await ctx.docker.createNetwork({
            Name: str(inputs, "name") ?? name,
            CheckDuplicate: true,
            Driver: str(inputs, "driver") ?? "bridge",
            Internal: bool(inputs, "internal") ?? false,
            Attachable: bool(inputs, "attachable") ?? false,
            EnableIPv6: bool(inputs, "ipv6") ?? false,
            Options: strMap(inputs, "options"),
            Labels: labelMap(ctx, inputs),
            IPAM: {
                Driver: str(inputs, "ipamDriver") ?? "default",
                Config: ipam.map((c) => ({
                    Subnet: c.subnet as string | undefined,
                    IPRange: c.ipRange as string | undefined,
                    Gateway: c.gateway as string | undefined,
                    AuxiliaryAddresses: c.auxAddress as Record<string, string> | undefined,
                })),
            },
        });
        const info = (await net.inspect()) as Docker.NetworkInspectInfo;
        ctx.log(`network ${info.Name} created (${info.Id.slice(0, 12)})`);
        return {
            id: info.Id,
            readBack: { ...inputs, ...(inputs.labels !== undefined ? { labels: readBackLabels(ctx, info.Labels, inputs) } : {}) },
            outputs: {
                ...inputs,
                name: info.Name,
                driver: info.Driver,
                internal: info.Internal,
                attachable: info.Attachable,
                options: info.Options ?? {},
                scope: info.Scope,
                ipamDriver: info.IPAM?.Driver,
                ipamConfigs: (info.IPAM?.Config ?? []).map((c) => ({
                    subnet: c.Subnet,
                    gateway: c.Gateway,
                    ipRange: c.IPRange,
                })),
            },
        };
    },
    async delete(ctx, res) {
        // The provider retries while endpoints are still being detached.
        if (await removeRetrying(() => ctx.docker.getNetwork(res.id).remove(), [403, 409, 500])) ctx.log(`network ${res.name} removed`);
    },
};

/**
 * Removes an engine object, retrying the given statuses 10 times, 500 ms apart. False when
 * it was already gone (404).
 */
export async function removeRetrying(remove: () => Promise<unknown>, retryOn: number[]): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
        try {
            await remove();
            return true;
        } catch (err) {
            const status = statusOf(err);
            if (status === 404) return false;
            if (status === undefined || !retryOn.includes(status) || attempt >= 10) throw err;
            await sleep(500);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Volume

export const volumeRealizer: Realizer = {
    inputs: { name: true, driver: true, driverOpts: true, labels: ["label", "value"] },
    sets: new Set(["labels"]),
    async create(ctx, name, inputs) {
        const wanted = str(inputs, "name");
        let info: Docker.VolumeInspectInfo | undefined;
        let adopted = false;
        if (wanted !== undefined) {
            try {
                info = await ctx.docker.getVolume(wanted).inspect();
                adopted = true;
            } catch (err) {
                if (statusOf(err) !== 404) throw err;
            }
        }
        if (info === undefined) {
            const created = (await ctx.docker.createVolume({
                Name: wanted ?? "",
                Driver: str(inputs, "driver") ?? "local",
                DriverOpts: strMap(inputs, "driverOpts") ?? {},
                Labels: labelMap(ctx, inputs),
            })) as unknown as { name?: string; Name?: string };
            const createdName = created.name ?? created.Name;
            if (!createdName) throw new Error(`docker did not name the volume of resource "${name}"`);
            info = await ctx.docker.getVolume(createdName).inspect();
        }
        ctx.log(`volume ${info.Name} ${adopted ? "adopted (it existed already)" : "created"}`);
        return {
            id: info.Name,
            adopted,
            // An adopted volume keeps its own labels: Docker cannot relabel a volume.
            readBack: { ...inputs, ...(inputs.labels !== undefined ? { labels: readBackLabels(ctx, info.Labels, inputs) } : {}) },
            outputs: {
                ...inputs,
                name: info.Name,
                driver: info.Driver,
                driverOpts: info.Options ?? {},
                mountpoint: info.Mountpoint,
            },
        };
    },
    async delete(ctx, res) {
        // 409 while a container still uses it: retried, and refused for good after 5 s.
        if (await removeRetrying(() => ctx.docker.getVolume(res.id).remove(), [409])) ctx.log(`volume ${res.id} removed`);
    },
};

// ---------------------------------------------------------------------------------------
// RemoteImage

export const remoteImageRealizer: Realizer = {
    inputs: { name: true, keepLocally: true, forceRemove: true, platform: true, triggers: true, pullTriggers: true },
    async create(ctx, _name, inputs) {
        const ref = str(inputs, "name");
        if (!ref) throw new Error(`docker:index/remoteImage:RemoteImage needs "name"`);
        const info = await imageExists(ctx.docker, ref);
        if (!info) throw missingImage(ref);
        ctx.log(`image ${ref} found locally (${info.Id.slice(0, 19)})`);
        return {
            id: `${info.Id}${ref}`,
            outputs: { ...inputs, name: ref, imageId: info.Id, repoDigest: info.RepoDigests?.[0] ?? "" },
        };
    },
    async delete(ctx, res) {
        if (res.inputs.keepLocally === true) return;
        try {
            await ctx.docker.getImage(String(res.outputs.imageId)).remove({ force: res.inputs.forceRemove === true });
            ctx.log(`image ${String(res.inputs.name)} removed (keepLocally is not set)`);
        } catch (err) {
            if (statusOf(err) !== 404) throw err;
        }
    },
};

// ---------------------------------------------------------------------------------------
// Container

const containerInputs: Realizer["inputs"] = {
    image: true,
    name: true,
    envs: true,
    command: true,
    entrypoints: true,
    user: true,
    workingDir: true,
    hostname: true,
    domainname: true,
    ports: ["internal", "external", "ip", "protocol"],
    networksAdvanced: ["name", "aliases", "ipv4Address", "ipv6Address"],
    networkMode: true,
    volumes: ["volumeName", "containerPath", "readOnly", "hostPath", "fromContainer"],
    uploads: ["file", "content", "contentBase64", "source", "sourceHash", "executable", "permissions", "owner", "group"],
    restart: true,
    maxRetryCount: true,
    healthcheck: ["tests", "interval", "timeout", "retries", "startPeriod", "startInterval"],
    labels: ["label", "value"],
    capabilities: ["adds", "drops"],
    securityOpts: true,
    logDriver: true,
    logOpts: true,
    readOnly: true,
    tmpfs: true,
    init: true,
    stopSignal: true,
    stopTimeout: true,
    memory: true,
    memorySwap: true,
    cpuShares: true,
    cpuSet: true,
    shmSize: true,
    privileged: true,
    publishAllPorts: true,
    hosts: ["host", "ip"],
    dns: true,
    dnsOpts: true,
    dnsSearches: true,
    groupAdds: true,
    sysctls: true,
    ulimits: ["name", "soft", "hard"],
    tty: true,
    stdinOpen: true,
    rm: true,
    start: true,
    mustRun: true,
    wait: true,
    waitTimeout: true,
    containerReadRefreshTimeoutMilliseconds: true,
    destroyGraceSeconds: true,
    removeVolumes: true,
};

async function uploadArchive(u: Inputs): Promise<{ archive: Buffer; file: string }> {
    const file = str(u, "file");
    if (!file) throw new Error(`uploads[].file is required`);
    const sources = ["content", "contentBase64", "source"].filter((k) => u[k] !== undefined && u[k] !== "");
    if (sources.length !== 1) {
        throw new Error(`upload ${file}: exactly one of content, contentBase64, source must be set`);
    }
    const content =
        u.content !== undefined && u.content !== ""
            ? Buffer.from(String(u.content), "utf8")
            : u.contentBase64 !== undefined && u.contentBase64 !== ""
              ? Buffer.from(String(u.contentBase64), "base64")
              : fs.readFileSync(String(u.source));
    let mode = bool(u, "executable") ? 0o744 : 0o644;
    const perms = str(u, "permissions");
    if (perms !== undefined && perms !== "") {
        if (!/^0?[0-7]{3,4}$/.test(perms)) throw new Error(`upload ${file}: permissions must be octal, e.g. "0644"`);
        mode = parseInt(perms, 8);
    }
    const id = (key: string): number => {
        const v = str(u, key);
        if (v === undefined || v === "") return 0;
        if (!/^\d+$/.test(v)) throw new NotImplementedError(`uploads[].${key} by name (use a numeric id)`);
        return Number(v);
    };
    return { archive: await tarOneFile(file, content, mode, id("owner"), id("group")), file };
}

function containerCreateOptions(ctx: RealizeContext, inputs: Inputs): Docker.ContainerCreateOptions {
    const exposed: Record<string, object> = {};
    const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
    for (const p of objList(inputs, "ports")) {
        const key = `${Number(p.internal)}/${(p.protocol as string | undefined) ?? "tcp"}`;
        exposed[key] = {};
        (bindings[key] ??= []).push({
            HostIp: (p.ip as string | undefined) ?? "0.0.0.0",
            HostPort: p.external === undefined || p.external === null ? "" : String(p.external),
        });
    }
    const volumes: Record<string, object> = {};
    const binds: string[] = [];
    const volumesFrom: string[] = [];
    for (const v of objList(inputs, "volumes")) {
        if (v.fromContainer) {
            volumesFrom.push(String(v.fromContainer));
            continue;
        }
        const source = (v.hostPath as string | undefined) || (v.volumeName as string | undefined);
        const target = v.containerPath as string | undefined;
        if (!target) throw new Error(`volumes[].containerPath is required`);
        if (!source) {
            volumes[target] = {};
        } else {
            binds.push(`${source}:${target}${v.readOnly ? ":ro" : ""}`);
        }
    }
    const hc = obj(inputs, "healthcheck");
    const caps = obj(inputs, "capabilities");
    const memory = num(inputs, "memory");
    const memorySwap = num(inputs, "memorySwap");
    const shm = num(inputs, "shmSize");
    const restart = str(inputs, "restart") ?? "no";
    return {
        name: str(inputs, "name"),
        Image: str(inputs, "image"),
        Env: strList(inputs, "envs"),
        Cmd: strList(inputs, "command"),
        Entrypoint: strList(inputs, "entrypoints"),
        User: str(inputs, "user"),
        WorkingDir: str(inputs, "workingDir"),
        Hostname: str(inputs, "hostname"),
        Domainname: str(inputs, "domainname"),
        Tty: bool(inputs, "tty") ?? false,
        OpenStdin: bool(inputs, "stdinOpen") ?? false,
        Labels: labelMap(ctx, inputs),
        ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
        Volumes: Object.keys(volumes).length ? volumes : undefined,
        StopSignal: str(inputs, "stopSignal"),
        StopTimeout: num(inputs, "stopTimeout"),
        Healthcheck: hc
            ? {
                  Test: strList(hc, "tests"),
                  Interval: hc.interval ? goDurationToNanos(String(hc.interval)) : undefined,
                  Timeout: hc.timeout ? goDurationToNanos(String(hc.timeout)) : undefined,
                  StartPeriod: hc.startPeriod ? goDurationToNanos(String(hc.startPeriod)) : undefined,
                  // Honoured by engines with API >= 1.44 only; older ones ignore it.
                  ...(hc.startInterval ? { StartInterval: goDurationToNanos(String(hc.startInterval)) } : {}),
                  Retries: num(hc, "retries"),
              }
            : undefined,
        HostConfig: {
            PortBindings: Object.keys(bindings).length ? bindings : undefined,
            PublishAllPorts: bool(inputs, "publishAllPorts") ?? false,
            Binds: binds.length ? binds : undefined,
            VolumesFrom: volumesFrom.length ? volumesFrom : undefined,
            RestartPolicy: {
                Name: restart,
                MaximumRetryCount: restart === "on-failure" ? (num(inputs, "maxRetryCount") ?? 0) : 0,
            },
            AutoRemove: bool(inputs, "rm") ?? false,
            ReadonlyRootfs: bool(inputs, "readOnly") ?? false,
            Privileged: bool(inputs, "privileged") ?? false,
            LogConfig: { Type: str(inputs, "logDriver") ?? "json-file", Config: strMap(inputs, "logOpts") ?? {} },
            Tmpfs: strMap(inputs, "tmpfs"),
            CapAdd: caps ? strList(caps, "adds") : undefined,
            CapDrop: caps ? strList(caps, "drops") : undefined,
            SecurityOpt: strList(inputs, "securityOpts"),
            Init: bool(inputs, "init") ?? false,
            Memory: memory !== undefined ? memory * 1024 * 1024 : undefined,
            MemorySwap: memorySwap !== undefined ? (memorySwap > 0 ? memorySwap * 1024 * 1024 : memorySwap) : undefined,
            CpuShares: num(inputs, "cpuShares"),
            CpusetCpus: str(inputs, "cpuSet"),
            ShmSize: shm !== undefined ? shm * 1024 * 1024 : undefined,
            ExtraHosts: objList(inputs, "hosts").map((h) => `${String(h.host)}:${String(h.ip)}`),
            Dns: strList(inputs, "dns"),
            DnsOptions: strList(inputs, "dnsOpts"),
            DnsSearch: strList(inputs, "dnsSearches"),
            GroupAdd: strList(inputs, "groupAdds"),
            Sysctls: strMap(inputs, "sysctls"),
            Ulimits: objList(inputs, "ulimits").map((u) => ({
                Name: String(u.name),
                Soft: Number(u.soft),
                Hard: Number(u.hard),
            })),
            NetworkMode: str(inputs, "networkMode"),
        },
    };
}

function hasHealthcheck(info: Docker.ContainerInspectInfo): boolean {
    const test = (info.Config as { Healthcheck?: { Test?: string[] } }).Healthcheck?.Test;
    return Array.isArray(test) && test.length > 0 && test[0] !== "NONE";
}

function lastHealthOutput(info: Docker.ContainerInspectInfo): string {
    const log = info.State.Health?.Log ?? [];
    const last = log[log.length - 1];
    return last ? `exit ${last.ExitCode}: ${String(last.Output).trim()}` : "(no health check has run)";
}

async function containerFailure(
    container: Docker.Container,
    label: string,
    reason: string,
    info?: Docker.ContainerInspectInfo,
): Promise<Error> {
    const logs = await lastLogs(container);
    const health = info && hasHealthcheck(info) ? `\nlast health check: ${lastHealthOutput(info)}` : "";
    const state = info ? ` (status ${info.State.Status}, exit code ${info.State.ExitCode})` : "";
    return new Error(`container ${label} ${reason}${state}${health}\nlast log lines:\n${logs.trimEnd() || "(none)"}`);
}

async function removeQuietly(container: Docker.Container): Promise<void> {
    try {
        await container.remove({ force: true, v: true });
    } catch {
        // best effort after a failure; clearLeftovers catches the rest
    }
}

/**
 * The container as the provider reads it back into state: ports from the engine, sorted by
 * internal port, addresses in canonical form; the health check the container really has,
 * durations as Go prints them; the restart policy in force. The rest as sent.
 */
function containerReadBack(inputs: Inputs, info: Docker.ContainerInspectInfo): Inputs {
    const readBack: Inputs = { ...inputs };
    if (inputs.ports !== undefined) {
        const bindings = (info.HostConfig.PortBindings ?? {}) as Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
        const sent = objList(inputs, "ports");
        // Fields the program left out are optional-and-computed for the provider: no diff.
        const asSent = (port: Inputs): Inputs => {
            const given = sent.find((p) => Number(p.internal) === port.internal) ?? {};
            return Object.fromEntries(Object.entries(port).filter(([k]) => k in given));
        };
        readBack.ports = Object.entries(bindings)
            .flatMap(([key, list]) => (list ?? []).map((b) => ({
                internal: Number(key.split("/")[0]), external: Number(b.HostPort), ip: canonicalIp(b.HostIp || "0.0.0.0"), protocol: key.split("/")[1],
            })))
            .sort((a, b) => a.internal - b.internal)
            .map(asSent);
    }
    const hc = obj(inputs, "healthcheck");
    const actual = info.Config.Healthcheck as { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number } | undefined;
    if (hc && actual) {
        const durations = { interval: actual.Interval, timeout: actual.Timeout, startPeriod: actual.StartPeriod, startInterval: actual.StartInterval };
        readBack.healthcheck = Object.fromEntries(Object.keys(hc).map((k) => [k,
            k === "tests" ? actual.Test : k === "retries" ? actual.Retries : nanosToGoDuration(durations[k as keyof typeof durations] ?? 0)]));
    }
    if (inputs.restart !== undefined) readBack.restart = info.HostConfig.RestartPolicy?.Name;
    return readBack;
}

/** An address as Go's net.IP prints it (RFC 5952 for IPv6, as the engine reports it). */
function canonicalIp(ip: string): string {
    return ip.includes(":") ? new URL(`http://[${ip.replace(/%.*$/, "")}]/`).hostname.slice(1, -1) : ip;
}

function containerOutputs(inputs: Inputs, info: Docker.ContainerInspectInfo): Record<string, unknown> {
    const nets = info.NetworkSettings?.Networks ?? {};
    const networkDatas = Object.entries(nets).map(([networkName, n]) => ({
        networkName,
        ipAddress: n.IPAddress,
        ipPrefixLength: n.IPPrefixLen,
        gateway: n.Gateway,
        globalIpv6Address: n.GlobalIPv6Address,
        globalIpv6PrefixLength: n.GlobalIPv6PrefixLen,
        ipv6Gateway: n.IPv6Gateway,
        macAddress: n.MacAddress,
    }));
    const actual = (info.NetworkSettings?.Ports ?? {}) as Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
    const ports = objList(inputs, "ports").map((p) => {
        const protocol = (p.protocol as string | undefined) ?? "tcp";
        const ip = (p.ip as string | undefined) ?? "0.0.0.0";
        const bound = actual[`${Number(p.internal)}/${protocol}`] ?? [];
        const found = bound.find((b) => b.HostIp === ip) ?? bound[0];
        return { ...p, ip, protocol, external: found ? Number(found.HostPort) : p.external };
    });
    const running = info.State.Running;
    return {
        ...inputs,
        name: info.Name.replace(/^\//, ""),
        image: info.Image,
        networkDatas,
        ports,
        ...(running ? {} : { exitCode: info.State.ExitCode }),
        command: inputs.command ?? info.Config.Cmd ?? [],
        entrypoints: inputs.entrypoints ?? info.Config.Entrypoint ?? [],
        hostname: info.Config.Hostname,
        restart: info.HostConfig.RestartPolicy?.Name ?? "no",
        maxRetryCount: info.HostConfig.RestartPolicy?.MaximumRetryCount ?? 0,
        logDriver: info.HostConfig.LogConfig?.Type,
        init: (info.HostConfig as { Init?: boolean | null }).Init ?? false,
    };
}

/**
 * `wait: true`, as the provider does it: poll until healthy or `waitTimeout` (60 s), through
 * "unhealthy" (it does not give up early); on timeout fail, leaving the container (and its
 * id in the state). Without a health check it fails at once.
 */
async function waitHealthy(ctx: RealizeContext, container: Docker.Container, label: string, inputs: Inputs, first: Docker.ContainerInspectInfo): Promise<Docker.ContainerInspectInfo> {
    if (!hasHealthcheck(first)) throw new Error(`container ${label}: "wait" is set but the container has no health check`);
    const timeoutS = num(inputs, "waitTimeout") ?? 60;
    const deadline = Date.now() + timeoutS * 1000;
    let info = first;
    while (info.State.Health?.Status !== "healthy") {
        if (Date.now() > deadline) {
            const err = await containerFailure(container, label, `was not healthy within waitTimeout (${timeoutS}s)`, info);
            throw new PartialCreateError(err.message, { id: container.id, outputs: containerOutputs(inputs, info), readBack: containerReadBack(inputs, info) });
        }
        await sleep(250);
        info = await container.inspect();
    }
    ctx.log(`container ${label} healthy`);
    return info;
}

export const containerRealizer: Realizer = {
    inputs: containerInputs,
    sets: new Set([
        "envs",
        "labels",
        "uploads",
        "volumes",
        "networksAdvanced",
        "hosts",
        "securityOpts",
        "dns",
        "dnsOpts",
        "dnsSearches",
        "groupAdds",
        "ulimits",
    ]),
    async create(ctx, name, inputs) {
        const image = str(inputs, "image");
        if (!image) throw new Error(`container "${name}": input "image" is required`);
        if (!(await imageExists(ctx.docker, image))) throw missingImage(image);
        const label = `"${str(inputs, "name") ?? name}"`;
        const container = await ctx.docker.createContainer(containerCreateOptions(ctx, inputs));
        try {
            const networks = objList(inputs, "networksAdvanced");
            if (networks.length > 0) {
                try {
                    await ctx.docker.getNetwork("bridge").disconnect({ Container: container.id });
                } catch (err) {
                    if (!/is not connected/.test(String((err as Error).message))) throw err;
                }
                for (const n of networks) {
                    await ctx.docker.getNetwork(String(n.name)).connect({
                        Container: container.id,
                        EndpointConfig: {
                            Aliases: n.aliases as string[] | undefined,
                            IPAMConfig: {
                                IPv4Address: n.ipv4Address as string | undefined,
                                IPv6Address: n.ipv6Address as string | undefined,
                            },
                        },
                    });
                }
            }
            for (const u of objList(inputs, "uploads")) {
                const { archive } = await uploadArchive(u);
                await container.putArchive(archive, { path: "/" });
            }
            if (bool(inputs, "start") === false) {
                const info = await container.inspect();
                return { id: container.id, outputs: containerOutputs(inputs, info), readBack: containerReadBack(inputs, info) };
            }
            await container.start();
            ctx.log(`container ${label} started (${container.id.slice(0, 12)})`);

            // Like the provider: wait for "running"; an exit in that window is a failure.
            const mustRun = bool(inputs, "mustRun") ?? true;
            const runDeadline = Date.now() + (num(inputs, "containerReadRefreshTimeoutMilliseconds") ?? 15000);
            let info = await container.inspect();
            while (mustRun && !info.State.Running) {
                if (!info.State.Restarting && info.State.Status === "exited") {
                    const err = await containerFailure(container, label, "exited immediately", info);
                    await removeQuietly(container);
                    throw err;
                }
                if (Date.now() > runDeadline) {
                    const err = await containerFailure(container, label, "failed to be in running state", info);
                    await removeQuietly(container);
                    throw err;
                }
                await sleep(100);
                info = await container.inspect();
            }

            if (bool(inputs, "wait") === true) info = await waitHealthy(ctx, container, label, inputs, info);
            return { id: container.id, outputs: containerOutputs(inputs, info), readBack: containerReadBack(inputs, info) };
        } catch (err) {
            // A container that exists when `wait` times out stays, with its id in the state.
            if (!(err instanceof PartialCreateError)) await removeQuietly(container);
            throw err;
        }
    },
    async update(ctx, old, inputs) {
        const container = ctx.docker.getContainer(old.id);
        const memory = num(inputs, "memory");
        const memorySwap = num(inputs, "memorySwap");
        const restart = str(inputs, "restart") ?? "no";
        await container.update({
            RestartPolicy: {
                Name: restart,
                MaximumRetryCount: restart === "on-failure" ? (num(inputs, "maxRetryCount") ?? 0) : 0,
            },
            CpuShares: num(inputs, "cpuShares") ?? 0,
            Memory: memory !== undefined ? memory * 1024 * 1024 : 0,
            CpusetCpus: str(inputs, "cpuSet") ?? "",
            ...(memorySwap !== undefined ? { MemorySwap: memorySwap > 0 ? memorySwap * 1024 * 1024 : memorySwap } : {}),
        });
        ctx.log(`container ${old.name} updated in place (restart policy and limits; other changes are stored, not applied)`);
        const info = await container.inspect();
        return { id: old.id, outputs: containerOutputs(inputs, info), readBack: containerReadBack(inputs, info) };
    },
    async delete(ctx, res) {
        if (res.inputs.rm === true) return; // the provider leaves auto-removed containers alone
        const container = ctx.docker.getContainer(res.id);
        try {
            // Stop with the image's stop signal, then SIGKILL after destroyGraceSeconds;
            // unset, the provider stops with a 0 s timeout: in-flight requests are killed.
            const grace = typeof res.inputs.destroyGraceSeconds === "number" ? res.inputs.destroyGraceSeconds : 0;
            try {
                await container.stop({ t: grace });
            } catch (err) {
                if (statusOf(err) !== 304) throw err; // 304: already stopped
            }
            await container.remove({ force: true, v: res.inputs.removeVolumes !== false });
            ctx.log(`container ${String(res.outputs.name ?? res.name)} removed`);
        } catch (err) {
            if (statusOf(err) !== 404) throw err;
        }
    },
};

// ---------------------------------------------------------------------------------------
// Leftovers

export interface LeftoverCounts {
    services: number;
    containers: number;
    secrets: number;
    configs: number;
    networks: number;
    volumes: number;
}

/**
 * Removes what an earlier run left behind: every Swarm service carrying the label
 * ("key=value"), waiting (up to 60 s) for its task containers to go, then the labelled
 * containers, secrets, configs and networks, and the labelled volumes too when `volumes` is
 * true. For test setup and teardown; it touches nothing without the label. Without a swarm
 * (the engine answers 503) there are no services, secrets or configs to remove.
 */
export async function clearLeftovers(docker: Docker, label: string, opts: { volumes?: boolean } = {}): Promise<LeftoverCounts> {
    const filters = JSON.stringify({ label: [label] });
    const swarmList = async <T>(list: () => Promise<T[]>): Promise<T[]> => {
        try {
            return await list();
        } catch (err) {
            if (statusOf(err) === 503) return []; // not a swarm manager
            throw err;
        }
    };
    const services = await swarmList(async () => (await docker.listServices({ filters })) as unknown as { ID: string }[]);
    for (const s of services) {
        try {
            await docker.getService(s.ID).remove();
        } catch (err) {
            if (statusOf(err) !== 404) throw err;
        }
    }
    for (const s of services) {
        const taskFilter = JSON.stringify({ label: [`com.docker.swarm.service.id=${s.ID}`] });
        const deadline = Date.now() + 60_000;
        while ((await docker.listContainers({ all: true, filters: taskFilter })).length > 0 && Date.now() < deadline) await sleep(500);
        for (const c of await docker.listContainers({ all: true, filters: taskFilter })) {
            try {
                await docker.getContainer(c.Id).remove({ force: true, v: true });
            } catch (err) {
                if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err; // 409: removal already in progress
            }
        }
    }
    const containers = await docker.listContainers({ all: true, filters });
    for (const c of containers) {
        try {
            await docker.getContainer(c.Id).remove({ force: true, v: true });
        } catch (err) {
            if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
        }
    }
    const secrets = await swarmList(async () => (await docker.listSecrets({ filters })) as unknown as { ID: string }[]);
    for (const s of secrets) await removeRetrying(() => docker.getSecret(s.ID).remove(), [400]);
    const configs = await swarmList(() => docker.listConfigs({ filters }));
    for (const c of configs) await removeRetrying(() => docker.getConfig(c.ID).remove(), [400]);
    const networks = await docker.listNetworks({ filters });
    for (const n of networks) {
        await networkRealizer.delete(
            { docker, label: { key: "", value: "" }, log: () => undefined, now: () => new Date() },
            { type: "", name: n.Name, id: n.Id, inputs: {}, outputs: {} },
        );
    }
    let volumes = 0;
    if (opts.volumes) {
        const list = (await docker.listVolumes({ filters })).Volumes ?? [];
        for (const v of list) {
            await volumeRealizer.delete(
                { docker, label: { key: "", value: "" }, log: () => undefined, now: () => new Date() },
                { type: "", name: v.Name, id: v.Name, inputs: {}, outputs: {} },
            );
        }
        volumes = list.length;
    }
    return { services: services.length, containers: containers.length, secrets: secrets.length, configs: configs.length, networks: networks.length, volumes };
}
