/**
 * Live realizers for the Swarm resources of @pulumi/docker 5.2 (Service, Secret,
 * ServiceConfig), following the bridged kreuzwerker provider (resource_docker_service*.go,
 * resource_docker_secret.go, resource_docker_config.go) on the local engine, which must be
 * a swarm manager (testkit/live/swarmNode.ts). README.md ("What each resource does") says
 * what each one does; the comments here say why. Every service, secret and config created
 * carries the harness label, and so do the service's task containers (through the
 * container spec's labels), so `clearLeftovers` finds them. Nothing here logs or reports
 * an input value: failures carry the engine's task errors and the containers' own logs.
 */
import type Docker from "dockerode";
import { goDurationToNanos, labelMap, lastLogs, nanosToGoDuration, readBackLabels, sleep, statusOf } from "./docker";
import { isObject } from "./providerSchema";
import {
    InputSpec,
    Inputs,
    NotImplementedError,
    RealizeContext,
    Realized,
    Realizer,
    StoredResource,
    bool,
    num,
    obj,
    objList,
    str,
    strList,
    strMap,
} from "./realizer";

// ---------------------------------------------------------------------------------------
// Engine shapes (the parts read here)

interface PortConfig {
    Name?: string;
    Protocol?: string;
    TargetPort?: number;
    PublishedPort?: number;
    PublishMode?: string;
}
interface EndpointSpec {
    Mode?: string;
    Ports?: PortConfig[];
}
interface FileTarget {
    Name?: string;
    UID?: string;
    GID?: string;
    Mode?: number;
}
interface ContainerSpec {
    Image?: string;
    Labels?: Record<string, string>;
    Command?: string[];
    Args?: string[];
    Env?: string[];
    User?: string;
    Init?: boolean;
    Mounts?: { Type?: string; Source?: string; Target?: string; ReadOnly?: boolean }[];
    StopSignal?: string;
    StopGracePeriod?: number;
    Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
    Secrets?: { SecretID?: string; SecretName?: string; File?: FileTarget }[];
    Configs?: { ConfigID?: string; ConfigName?: string; File?: FileTarget }[];
    CapabilityAdd?: string[];
    CapabilityDrop?: string[];
    Sysctls?: Record<string, string>;
}
interface UpdateConfig {
    Parallelism?: number;
    Delay?: number;
    FailureAction?: string;
    Monitor?: number;
    MaxFailureRatio?: number;
    Order?: string;
}
interface ServiceSpec {
    Name?: string;
    Labels?: Record<string, string>;
    TaskTemplate?: {
        ContainerSpec?: ContainerSpec;
        RestartPolicy?: { Condition?: string; Delay?: number; MaxAttempts?: number; Window?: number };
        Placement?: { Constraints?: string[] };
        Networks?: { Target?: string; Aliases?: string[]; DriverOpts?: Record<string, string> }[];
        LogDriver?: { Name?: string; Options?: Record<string, string> };
    };
    Mode?: { Replicated?: { Replicas?: number }; Global?: object };
    UpdateConfig?: UpdateConfig;
    RollbackConfig?: UpdateConfig;
    EndpointSpec?: EndpointSpec;
}
interface SwarmService {
    ID: string;
    Version: { Index: number };
    Spec: ServiceSpec;
    Endpoint?: { Spec?: EndpointSpec; Ports?: PortConfig[] };
    UpdateStatus?: { State?: string; Message?: string };
}
interface Task {
    ID: string;
    Slot?: number;
    NodeID?: string;
    DesiredState: string;
    CreatedAt: string;
    Status: { State: string; Err?: string; Message?: string; Timestamp?: string; ContainerStatus?: { ContainerID?: string } };
}

// ---------------------------------------------------------------------------------------
// Provider conversions

/** time.ParseDuration with the error ignored, as the provider's create functions do (0 for "" or junk). */
function nanos(text: string | undefined): number {
    if (text === undefined || text === "") return 0;
    try {
        return goDurationToNanos(text.replace(/^\+/, "").replace(/μ/g, "µ"));
    } catch {
        return 0;
    }
}

/** The provider's shortDur: Go's Duration.String() with a trailing "m0s" or "h0m" cut ("1m", "1h", "1h30m", "10s"). */
export function shortDuration(ns: number): string {
    let s = nanosToGoDuration(ns);
    if (s.endsWith("m0s")) s = s.slice(0, -2);
    if (s.endsWith("h0m")) s = s.slice(0, -2);
    return s;
}

/**
 * max_failure_ratio as the provider reads it back: the engine keeps a float32, the provider
 * prints it with strconv.FormatFloat(f, 'f', 1, 64) (one decimal, exact ties to even):
 * "0" → "0.0", "0.15" → "0.2", "0.25" → "0.2".
 */
export function goRatio(value: number): string {
    const scaled = Math.fround(value) * 10; // exact: a float32 times 10 fits a double
    const floor = Math.floor(scaled);
    const rest = scaled - floor;
    const n = rest > 0.5 ? floor + 1 : rest < 0.5 ? floor : floor % 2 === 0 ? floor : floor + 1;
    return (n / 10).toFixed(1);
}

function requireName(type: string, logical: string, inputs: Inputs): string {
    const name = str(inputs, "name");
    if (name === undefined || name === "") {
        throw new NotImplementedError(`auto-naming of ${type} (resource "${logical}"): set "name"`);
    }
    return name;
}


/** Drops undefined entries (the provider's flatteners set a key only when the engine has a value). */
function defined(o: Record<string, unknown>): Inputs {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

const nonEmpty = <T>(list: T[] | undefined | null): T[] | undefined => (list && list.length > 0 ? list : undefined);

/**
 * The read-back cut down to the shape the program gave (keys it left out are optional and
 * computed, or defaulted, for the provider: not diffed). Lists of objects keep, in each
 * element, the keys any given element has; maps (`maps`, dotted paths) are kept whole.
 */
function project(actual: unknown, given: unknown, path: string, maps: ReadonlySet<string>): unknown {
    if (maps.has(path)) return actual;
    if (Array.isArray(given) && Array.isArray(actual)) {
        const template: Record<string, unknown> = {};
        for (const g of given.filter(isObject)) for (const [k, v] of Object.entries(g)) if (template[k] === undefined) template[k] = v;
        if (Object.keys(template).length === 0) return actual;
        return actual.map((a) => (isObject(a) ? project(a, template, path, maps) : a));
    }
    if (isObject(given) && isObject(actual)) {
        return defined(Object.fromEntries(Object.keys(given).filter((k) => given[k] !== undefined).map((k) => [k, project(actual[k], given[k], `${path}.${k}`, maps)])));
    }
    return actual;
}

// ---------------------------------------------------------------------------------------
// Secret and ServiceConfig

async function removeSwarmObject(kind: string, remove: () => Promise<unknown>): Promise<boolean> {
    try {
        await remove();
        return true;
    } catch (err) {
        if (statusOf(err) === 404) return false;
        // The engine refuses while a service references it; the provider reports that.
        throw new Error(`Error removing ${kind}: ${(err as Error).message}`);
    }
}

export const secretRealizer: Realizer = {
    inputs: { name: true, data: true, labels: ["label", "value"] },
    sets: new Set(["labels"]),
    async create(ctx, logical, inputs) {
        const name = requireName("docker:index/secret:Secret", logical, inputs);
        // base64.StdEncoding.DecodeString, then the bytes (the API carries them as base64 again).
        const data = Buffer.from(str(inputs, "data") ?? "", "base64");
        // A name that exists is the engine's 409 (AlreadyExists): the provider does not adopt.
        const created = (await ctx.docker.createSecret({ Name: name, Data: data.toString("base64"), Labels: labelMap(ctx, inputs) })) as Docker.Secret;
        const info = (await created.inspect()) as unknown as { ID: string; Spec: { Name: string } };
        ctx.log(`secret ${info.Spec.Name} created (${info.ID.slice(0, 12)})`);
        // The provider reads back only the name (the engine never returns secret data).
        return { id: info.ID, outputs: { ...inputs, name: info.Spec.Name }, readBack: { ...inputs, name: info.Spec.Name } };
    },
    async delete(ctx, res) {
        if (await removeSwarmObject(`secret ${res.id}`, () => ctx.docker.getSecret(res.id).remove())) ctx.log(`secret ${res.name} removed`);
    },
};

export const serviceConfigRealizer: Realizer = {
    inputs: { name: true, data: true, labels: ["label", "value"] },
    sets: new Set(["labels"]),
    async create(ctx, logical, inputs) {
        const name = requireName("docker:index/serviceConfig:ServiceConfig", logical, inputs);
        const given = str(inputs, "data");
        if (given === undefined) throw new NotImplementedError(`a ServiceConfig without "data" (resource "${logical}")`);
        const created = (await ctx.docker.createConfig({
            Name: name,
            Data: Buffer.from(given, "base64").toString("base64"),
            Labels: labelMap(ctx, inputs),
        })) as Docker.Config;
        const info = (await created.inspect()) as unknown as { ID: string; Spec: { Name: string; Data?: string } };
        ctx.log(`config ${info.Spec.Name} created (${info.ID.slice(0, 12)})`);
        // The provider reads back the name and the data, re-encoded with StdEncoding.
        const data = Buffer.from(info.Spec.Data ?? "", "base64").toString("base64");
        return { id: info.ID, outputs: { ...inputs, name: info.Spec.Name, data }, readBack: { ...inputs, name: info.Spec.Name, data } };
    },
    async delete(ctx, res) {
        if (await removeSwarmObject(`config ${res.id}`, () => ctx.docker.getConfig(res.id).remove())) ctx.log(`config ${res.name} removed`);
    },
};

// ---------------------------------------------------------------------------------------
// Service: the spec the provider sends

const FILE_REF = ["fileName", "fileMode", "fileUid", "fileGid"] as const;
const UPDATE_KEYS = ["parallelism", "delay", "failureAction", "monitor", "maxFailureRatio", "order"];

const serviceInputs: Readonly<Record<string, InputSpec>> = {
    name: true,
    labels: ["label", "value"],
    mode: { replicated: ["replicas"] },
    endpointSpec: { mode: true, ports: ["name", "protocol", "publishMode", "publishedPort", "targetPort"] },
    updateConfig: UPDATE_KEYS,
    rollbackConfig: UPDATE_KEYS,
    convergeConfig: ["delay", "timeout"],
    taskSpec: {
        containerSpec: {
            image: true,
            commands: true,
            args: true,
            env: true,
            user: true,
            init: true,
            labels: ["label", "value"],
            mounts: ["type", "source", "target", "readOnly"],
            configs: ["configId", "configName", ...FILE_REF],
            secrets: ["secretId", "secretName", ...FILE_REF],
            healthcheck: ["tests", "interval", "timeout", "retries", "startPeriod"],
            stopSignal: true,
            stopGracePeriod: true,
            capAdds: true,
            capDrops: true,
            sysctl: true,
        },
        networksAdvanceds: ["id", "name", "aliases"],
        placement: ["constraints"],
        restartPolicy: ["condition", "delay", "maxAttempts", "window"],
        logDriver: ["name", "options"],
    },
};

/** The update/rollback config the provider sends: the block's schema defaults fill what the program left out. */
function updateConfig(block: Inputs | undefined): UpdateConfig | undefined {
    if (!block) return undefined;
    return {
        Parallelism: num(block, "parallelism") ?? 1,
        Delay: nanos(str(block, "delay") ?? "0s"),
        FailureAction: str(block, "failureAction") ?? "pause",
        Monitor: nanos(str(block, "monitor") ?? "5s"),
        MaxFailureRatio: parseFloat(str(block, "maxFailureRatio") ?? "0.0") || 0,
        Order: str(block, "order") ?? "stop-first",
    };
}

function fileTarget(ref: Inputs): FileTarget {
    // Schema defaults: file_uid "0", file_gid "0", file_mode 0o444 (an integer: 0o755, not 755).
    return { Name: str(ref, "fileName"), UID: str(ref, "fileUid") ?? "0", GID: str(ref, "fileGid") ?? "0", Mode: num(ref, "fileMode") ?? 0o444 };
}

/** createServiceSpec, with the harness label added to the service's and the containers' labels. */
function serviceSpec(ctx: RealizeContext, name: string, inputs: Inputs): ServiceSpec {
    const task = obj(inputs, "taskSpec") ?? {};
    const cs = obj(task, "containerSpec") ?? {};
    const hc = obj(cs, "healthcheck");
    const rp = obj(task, "restartPolicy");
    const log = obj(task, "logDriver");
    const endpoint = obj(inputs, "endpointSpec");
    const replicated = obj(obj(inputs, "mode") ?? {}, "replicated");
    for (const m of objList(cs, "mounts")) {
        if (m.type !== "volume") throw new NotImplementedError(`taskSpec.containerSpec.mounts of type "${String(m.type)}" (only "volume")`);
    }
    const containerSpec: ContainerSpec & Record<string, unknown> = {
        Image: str(cs, "image"),
        Labels: labelMap(ctx, cs),
        Command: strList(cs, "commands"),
        Args: strList(cs, "args"),
        Env: Object.entries(strMap(cs, "env") ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`),
        User: str(cs, "user"),
        Init: bool(cs, "init"),
        Mounts: objList(cs, "mounts").map((m) => ({ Type: "volume", Source: str(m, "source") ?? "", Target: str(m, "target"), ReadOnly: bool(m, "readOnly") ?? false })),
        StopSignal: str(cs, "stopSignal"),
        // Unset, "" parses to 0: the provider sends a 0 s grace period (tasks are killed at once).
        StopGracePeriod: nanos(str(cs, "stopGracePeriod")),
        // Always sent; empty without a healthcheck block (the image's own check applies).
        Healthcheck: hc
            ? defined({
                  Test: strList(hc, "tests"),
                  Interval: nanos(str(hc, "interval") ?? "0s"),
                  Timeout: nanos(str(hc, "timeout") ?? "0s"),
                  StartPeriod: nanos(str(hc, "startPeriod") ?? "0s"),
                  Retries: num(hc, "retries") ?? 0,
              })
            : {},
        DNSConfig: {},
        // secret_name/config_name are sent even when unset (""): the engine then refuses the reference.
        Secrets: objList(cs, "secrets").map((s) => ({ SecretID: str(s, "secretId"), SecretName: str(s, "secretName") ?? "", File: fileTarget(s) })),
        Configs: objList(cs, "configs").map((c) => ({ ConfigID: str(c, "configId"), ConfigName: str(c, "configName") ?? "", File: fileTarget(c) })),
        Isolation: "default",
        CapabilityAdd: strList(cs, "capAdds"),
        CapabilityDrop: strList(cs, "capDrops"),
        Sysctls: strMap(cs, "sysctl"),
    };
    const constraints = strList(obj(task, "placement") ?? {}, "constraints");
    return {
        Name: name,
        Labels: labelMap(ctx, inputs),
        TaskTemplate: {
            ContainerSpec: defined(containerSpec) as ContainerSpec,
            RestartPolicy: rp
                ? defined({
                      Condition: str(rp, "condition") || undefined,
                      Delay: nanos(str(rp, "delay")),
                      MaxAttempts: num(rp, "maxAttempts") ?? 0,
                      Window: nanos(str(rp, "window")),
                  })
                : {},
            Placement: constraints ? { Constraints: constraints } : {},
            // networks_advanced.name goes as the Target: a name or an id (the engine stores the id).
            // `id`; the deprecated `name` (a network's name or id) where no id is given.
            Networks: objList(task, "networksAdvanceds").map((n) => ({ Target: str(n, "id") || str(n, "name"), Aliases: strList(n, "aliases") ?? [] })),
            ...(log ? { LogDriver: defined({ Name: str(log, "name"), Options: strMap(log, "options") }) } : {}),
        },
        Mode: replicated ? { Replicated: { Replicas: num(replicated, "replicas") ?? 1 } } : {},
        UpdateConfig: updateConfig(obj(inputs, "updateConfig")),
        RollbackConfig: updateConfig(obj(inputs, "rollbackConfig")),
        EndpointSpec: endpoint
            ? defined({
                  Mode: str(endpoint, "mode") || undefined,
                  Ports: objList(endpoint, "ports").map((p) =>
                      defined({
                          Name: str(p, "name") || undefined,
                          Protocol: str(p, "protocol") ?? "tcp",
                          TargetPort: num(p, "targetPort"),
                          PublishedPort: num(p, "publishedPort") ?? 0,
                          PublishMode: str(p, "publishMode") ?? "ingress",
                      }),
                  ),
              })
            : {},
    };
}

// ---------------------------------------------------------------------------------------
// Service: the read-back (the provider's flatteners, in Pulumi names)

function flattenUpdateConfig(c: UpdateConfig | undefined): Inputs | undefined {
    if (!c) return undefined;
    return {
        parallelism: c.Parallelism ?? 0,
        delay: shortDuration(c.Delay ?? 0),
        failureAction: c.FailureAction ?? "",
        monitor: shortDuration(c.Monitor ?? 0),
        maxFailureRatio: goRatio(c.MaxFailureRatio ?? 0),
        order: c.Order ?? "",
    };
}

function flattenPorts(ports: PortConfig[] | undefined): Inputs[] {
    return (ports ?? []).map((p) => ({
        name: p.Name ?? "",
        protocol: p.Protocol ?? "",
        targetPort: p.TargetPort ?? 0,
        publishedPort: p.PublishedPort ?? 0,
        publishMode: p.PublishMode ?? "",
    }));
}

function flattenFileRef(f: FileTarget | undefined): Inputs {
    return f ? defined({ fileName: f.Name, fileUid: f.UID || undefined, fileGid: f.GID || undefined, fileMode: f.Mode ?? 0 }) : {};
}

/** The whole service as the provider's Read puts it into the state (Pulumi names). */
function flattenService(ctx: RealizeContext, svc: SwarmService, inputs: Inputs): Inputs {
    const spec = svc.Spec;
    const tt = spec.TaskTemplate ?? {};
    const c = tt.ContainerSpec ?? {};
    const givenCs = obj(obj(inputs, "taskSpec") ?? {}, "containerSpec") ?? {};
    const hc = c.Healthcheck;
    const rp = tt.RestartPolicy;
    const endpoint = svc.Endpoint?.Spec?.Mode ? { Mode: svc.Endpoint.Spec.Mode, Ports: svc.Endpoint.Ports } : spec.EndpointSpec;
    const containerSpec = defined({
        // The engine may pin "@sha256:…"; the provider suppresses that diff: the given image.
        image: str(givenCs, "image") ?? c.Image,
        labels: c.Labels && Object.keys(c.Labels).length > 0 ? readBackLabels(ctx, c.Labels, givenCs) : undefined,
        commands: nonEmpty(c.Command),
        args: nonEmpty(c.Args),
        env: nonEmpty(c.Env) && Object.fromEntries((c.Env ?? []).filter((e) => e.length > 0).map((e) => [e.split("=")[0], e.split("=").slice(1).join("=")])),
        user: c.User || undefined,
        init: c.Init,
        mounts: nonEmpty(c.Mounts)?.map((m) => ({ target: m.Target ?? "", source: m.Source ?? "", type: m.Type ?? "", readOnly: m.ReadOnly ?? false })),
        stopSignal: c.StopSignal || undefined,
        stopGracePeriod: c.StopGracePeriod !== undefined && c.StopGracePeriod !== null ? shortDuration(c.StopGracePeriod) : undefined,
        healthcheck: hc
            ? defined({
                  tests: nonEmpty(hc.Test),
                  interval: shortDuration(hc.Interval ?? 0),
                  timeout: shortDuration(hc.Timeout ?? 0),
                  startPeriod: shortDuration(hc.StartPeriod ?? 0),
                  retries: hc.Retries ?? 0,
              })
            : undefined,
        secrets: nonEmpty(c.Secrets)?.map((s) => defined({ secretId: s.SecretID, secretName: s.SecretName || undefined, ...flattenFileRef(s.File) })),
        configs: nonEmpty(c.Configs)?.map((s) => defined({ configId: s.ConfigID, configName: s.ConfigName || undefined, ...flattenFileRef(s.File) })),
        capAdds: nonEmpty(c.CapabilityAdd),
        capDrops: nonEmpty(c.CapabilityDrop),
        // As the provider: only when the engine has any.
        sysctl: c.Sysctls && Object.keys(c.Sysctls).length > 0 ? c.Sysctls : undefined,
    });
    const taskSpec = defined({
        containerSpec,
        restartPolicy: rp
            ? defined({
                  condition: rp.Condition || undefined,
                  delay: rp.Delay !== undefined ? shortDuration(rp.Delay) : undefined,
                  maxAttempts: rp.MaxAttempts,
                  window: rp.Window !== undefined ? shortDuration(rp.Window) : undefined,
              })
            : undefined,
        placement: tt.Placement ? defined({ constraints: nonEmpty(tt.Placement.Constraints), maxReplicas: 0 }) : undefined,
        // The engine stores the network's id as the Target; the provider (v4) reads that back as
        // "id" only: a program that sends the deprecated "name" sees a replacement on every preview.
        networksAdvanceds: nonEmpty(tt.Networks)?.map((n) =>
            defined({ id: n.Target, driverOpts: Object.entries(n.DriverOpts ?? {}).map(([k, v]) => `${k}=${v}`), aliases: nonEmpty(n.Aliases) }),
        ),
        logDriver: tt.LogDriver ? defined({ name: tt.LogDriver.Name, options: tt.LogDriver.Options && Object.keys(tt.LogDriver.Options).length > 0 ? tt.LogDriver.Options : undefined }) : undefined,
    });
    return defined({
        name: spec.Name,
        labels: readBackLabels(ctx, spec.Labels, inputs),
        taskSpec,
        mode: defined({ replicated: spec.Mode?.Replicated ? defined({ replicas: spec.Mode.Replicated.Replicas }) : undefined, global: spec.Mode?.Global !== undefined }),
        updateConfig: flattenUpdateConfig(spec.UpdateConfig),
        rollbackConfig: flattenUpdateConfig(spec.RollbackConfig),
        endpointSpec: { mode: endpoint?.Mode ?? "", ports: flattenPorts(endpoint?.Ports) },
        // Not read from the engine: the state keeps the program's.
        convergeConfig: inputs.convergeConfig,
    });
}

const SERVICE_MAPS = new Set(["taskSpec.containerSpec.env", "taskSpec.containerSpec.sysctl", "taskSpec.logDriver.options"]);

/**
 * resourceDockerServiceRead: waits (up to 30 s) until the engine exposes an endpoint spec
 * mode, then reads everything back.
 */
async function readService(ctx: RealizeContext, id: string, inputs: Inputs): Promise<Realized> {
    const deadline = Date.now() + 30_000;
    let svc = (await ctx.docker.getService(id).inspect()) as SwarmService;
    while (!svc.Endpoint?.Spec?.Mode && !svc.Spec.EndpointSpec?.Mode) {
        if (Date.now() > deadline) throw new Error(`Error no endpoint spec for service ${id}`);
        await sleep(500);
        svc = (await ctx.docker.getService(id).inspect()) as SwarmService;
    }
    const full = flattenService(ctx, svc, inputs);
    const readBack = defined(Object.fromEntries(Object.keys(inputs).map((k) => [k, project(full[k], inputs[k], k, SERVICE_MAPS)])));
    return { id: svc.ID, outputs: { ...inputs, ...full }, readBack };
}

// ---------------------------------------------------------------------------------------
// Service: convergence (converge_config), as the provider waits

/** Task states in the order the provider (after docker/cli) numbers them. */
const TASK_STATES = ["new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting", "running", "complete", "shutdown", "failed", "rejected"];
const stateNumber = (s: string): number => TASK_STATES.indexOf(s) + 1; // 0: unknown

/**
 * replicatedConsoleLogUpdater.update: the tasks whose desired state is running, one per
 * slot (the lowest desired state, then the lowest observed state: a start-first update's
 * new task hides the old one until it runs), on nodes that are not down; converged when as
 * many of them run as the service has replicas.
 */
async function replicasRunning(ctx: RealizeContext, svc: SwarmService): Promise<boolean> {
    const replicas = svc.Spec.Mode?.Replicated?.Replicas;
    if (replicas === undefined || replicas === null) throw new Error(`no replica count`);
    const tasks = (await ctx.docker.listTasks({ filters: JSON.stringify({ service: [svc.ID], "desired-state": ["running"] }) })) as Task[];
    const nodes = (await ctx.docker.listNodes()) as { ID: string; Status?: { State?: string } }[];
    const active = new Set(nodes.filter((n) => n.Status?.State !== "down").map((n) => n.ID));
    const bySlot = new Map<number, Task>();
    for (const task of tasks) {
        if (stateNumber(task.DesiredState) === 0 || stateNumber(task.Status.State) === 0) continue;
        const existing = bySlot.get(task.Slot ?? 0);
        if (existing) {
            if (stateNumber(existing.DesiredState) < stateNumber(task.DesiredState)) continue;
            if (stateNumber(existing.DesiredState) === stateNumber(task.DesiredState) && stateNumber(existing.Status.State) <= stateNumber(task.Status.State)) continue;
        }
        if (task.NodeID && !active.has(task.NodeID)) continue;
        bySlot.set(task.Slot ?? 0, task);
    }
    const running = [...bySlot.values()].filter((t) => stateNumber(t.DesiredState) <= stateNumber("running") && t.Status.State === "running").length;
    return running === replicas;
}

/** The failing or not-yet-running tasks, their errors and their containers' last log lines (never input values). */
async function taskReport(ctx: RealizeContext, serviceId: string): Promise<string> {
    let tasks: Task[];
    try {
        tasks = (await ctx.docker.listTasks({ filters: JSON.stringify({ service: [serviceId] }) })) as Task[];
    } catch (err) {
        return `(tasks unavailable: ${(err as Error).message})`;
    }
    const bad = tasks
        .filter((t) => t.Status.Err || ["failed", "rejected"].includes(t.Status.State) || (t.DesiredState === "running" && t.Status.State !== "running"))
        .sort((a, b) => (a.CreatedAt < b.CreatedAt ? 1 : -1));
    if (bad.length === 0) return "tasks: all running";
    const lines = bad.map((t) => `- task ${t.ID.slice(0, 12)} (slot ${t.Slot ?? "-"}): ${t.Status.State}${t.Status.Err ? `: ${t.Status.Err}` : t.Status.Message ? ` (${t.Status.Message})` : ""}`);
    const logs: string[] = [];
    for (const t of bad.filter((x) => x.Status.ContainerStatus?.ContainerID).slice(0, 2)) {
        const container = ctx.docker.getContainer(t.Status.ContainerStatus?.ContainerID as string);
        let health = "";
        try {
            const info = await container.inspect();
            const log = info.State.Health?.Log ?? [];
            const last = log[log.length - 1];
            if (last) health = `\nlast health check: exit ${last.ExitCode}: ${String(last.Output).trim()}`;
        } catch {
            // the container is gone already: its logs say so below
        }
        logs.push(`task ${t.ID.slice(0, 12)}${health}\nlast log lines:\n${(await lastLogs(container)).trimEnd() || "(none)"}`);
    }
    return `failing tasks:\n${lines.join("\n")}${logs.length > 0 ? `\n${logs.join("\n")}` : ""}`;
}

class ConvergeError extends Error {}

/**
 * The provider's StateChangeConf wait: the first check after `delay` (create: the converge
 * delay; update: a fixed 7 s), then every 5 s, then every 10 s, until `timeout` (counted
 * from the start). Create: converged when the replicas run (with a health check the engine
 * reports a task running only once it is healthy). Update: when the update status is
 * completed (or, without one, the replicas run); paused, rollback-paused and rolled-back
 * updates are errors with the engine's message.
 */
async function converge(ctx: RealizeContext, id: string, convergeConfig: Inputs, phase: "create" | "update"): Promise<void> {
    const timeout = nanos(str(convergeConfig, "timeout") ?? "3m");
    const delayMs = phase === "create" ? nanos(str(convergeConfig, "delay") ?? "7s") / 1e6 : 7000;
    const deadline = Date.now() + timeout / 1e6;
    const pause = async (ms: number): Promise<boolean> => {
        const left = deadline - Date.now();
        await sleep(Math.max(0, Math.min(ms, left)));
        return Date.now() < deadline;
    };
    let wait = 100;
    if (!(await pause(delayMs))) throw new ConvergeError(`Service with ID (${id}) did not converge after ${nanosToGoDuration(timeout)}`);
    for (;;) {
        const svc = (await ctx.docker.getService(id).inspect()) as SwarmService;
        let rollback = false;
        if (phase === "update" && svc.UpdateStatus) {
            const message = svc.UpdateStatus.Message ?? "";
            switch (svc.UpdateStatus.State) {
                case "completed":
                    return;
                case "rollback_started":
                    rollback = true;
                    break;
                case "rollback_completed":
                    throw new ConvergeError(`service rollback completed: ${message}`);
                case "paused":
                    throw new ConvergeError(`service update paused: ${message}`);
                case "rollback_paused":
                    throw new ConvergeError(`service rollback paused: ${message}`);
            }
        }
        if (await replicasRunning(ctx, svc)) {
            if (rollback) throw new ConvergeError(`service rollback completed: ${svc.UpdateStatus?.Message ?? ""}`);
            ctx.log(`service ${svc.Spec.Name ?? id} converged (${phase})`);
            return;
        }
        wait = Math.min(Math.max(wait * 2, 5000), 10_000);
        if (!(await pause(wait))) throw new ConvergeError(`Service with ID (${id}) did not converge after ${nanosToGoDuration(timeout)}`);
    }
}

// ---------------------------------------------------------------------------------------
// Service: delete

/**
 * deleteService: with a stop grace period (other than 0 s) the provider notes the running
 * tasks' containers, removes the service, waits (up to the grace period) for those
 * containers to be removed and force-removes what is left; without one it removes the
 * service and returns at once (the task containers go a few seconds later).
 */
async function deleteService(ctx: RealizeContext, id: string, name: string, stopGracePeriod: string | undefined): Promise<void> {
    const grace = nanos(stopGracePeriod) / 1e6;
    let containers: string[] = [];
    if (grace > 0) {
        const tasks = (await ctx.docker.listTasks({ filters: JSON.stringify({ service: [name] }) })) as Task[];
        containers = tasks.filter((t) => t.Status.State !== "shutdown").map((t) => t.Status.ContainerStatus?.ContainerID ?? "").filter((c) => c.trim() !== "");
    }
    try {
        await ctx.docker.getService(id).remove();
    } catch (err) {
        if (statusOf(err) === 404) return;
        throw new Error(`Error deleting service with ID '${id}': ${(err as Error).message}`);
    }
    ctx.log(`service ${name} removed`);
    const deadline = Date.now() + grace;
    for (const cid of containers) {
        const container = ctx.docker.getContainer(cid);
        try {
            while (Date.now() < deadline) {
                await container.inspect();
                await sleep(250);
            }
            await container.remove({ force: true, v: true });
        } catch (err) {
            // Gone already, or its removal is in progress: as the provider ignores.
            if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
        }
    }
}

function stopGracePeriodOf(inputs: Inputs): string | undefined {
    return str(obj(obj(inputs, "taskSpec") ?? {}, "containerSpec") ?? {}, "stopGracePeriod");
}

// ---------------------------------------------------------------------------------------
// Service

export const serviceRealizer: Realizer = {
    inputs: serviceInputs,
    sets: new Set([
        "labels",
        "taskSpec.containerSpec.labels",
        "taskSpec.containerSpec.mounts",
        "taskSpec.containerSpec.configs",
        "taskSpec.containerSpec.secrets",
        "taskSpec.networksAdvanceds",
        "taskSpec.networksAdvanceds.aliases",
        "taskSpec.placement.constraints",
    ]),
    async create(ctx, logical, inputs) {
        const name = requireName("docker:index/service:Service", logical, inputs);
        // A name that exists is the engine's 409 (name conflicts with an existing object).
        const service = await ctx.docker.createService({}, serviceSpec(ctx, name, inputs) as unknown as Docker.ServiceSpec);
        ctx.log(`service ${name} created (${service.id.slice(0, 12)})`);
        const cc = obj(inputs, "convergeConfig");
        if (cc) {
            try {
                await converge(ctx, service.id, cc, "create");
            } catch (err) {
                // The provider removes a service that did not converge, then fails.
                const report = await taskReport(ctx, service.id);
                await deleteService(ctx, service.id, name, stopGracePeriodOf(inputs));
                throw new Error(`${(err as Error).message} (the service was removed)\n${report}`);
            }
        }
        return readService(ctx, service.id, inputs);
    },
    async update(ctx, old: StoredResource, inputs) {
        const service = ctx.docker.getService(old.id);
        const current = (await service.inspect()) as SwarmService;
        // The whole new spec at the current version: the engine rolls the tasks per update_config.
        await service.update({ _query: { version: current.Version.Index }, _body: serviceSpec(ctx, current.Spec.Name ?? old.name, inputs) });
        ctx.log(`service ${current.Spec.Name ?? old.name} updated`);
        const cc = obj(inputs, "convergeConfig");
        if (cc) {
            try {
                await converge(ctx, old.id, cc, "update");
            } catch (err) {
                if (!(err instanceof ConvergeError)) throw err;
                throw new Error(`${err.message}\n${await taskReport(ctx, old.id)}`);
            }
        }
        return readService(ctx, old.id, inputs);
    },
    async delete(ctx, res) {
        await deleteService(ctx, res.id, String(res.outputs.name ?? res.inputs.name ?? res.name), stopGracePeriodOf(res.inputs));
    },
};
