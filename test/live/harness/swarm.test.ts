/**
 * Proof of the Swarm realizers (testkit/harness/swarm.ts): Secret, ServiceConfig and
 * Service deployed for real on a one-node swarm, through LiveStack, as the bridged
 * kreuzwerker provider would. The Docker tests share one stack state and run in order.
 *
 * Run: npx mocha --no-config --require tsx/cjs --extension ts --timeout 300000 test/live/harness/swarm.test.ts
 *
 * Everything created carries LABEL (cleared before and after). The swarm is initialized
 * only if the engine has none (or one the tests left), and then left again
 * (testkit/live/swarmNode.ts).
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import Docker from "dockerode";
import { LiveStack, clearLeftovers } from "../../../testkit/harness/liveMocks";
import { goRatio, shortDuration } from "../../../testkit/harness/swarm";
import { goDurationToNanos } from "../../../testkit/harness/docker";
import { TEST_IMAGE, ensureTestImage } from "../../../testkit/harness/testImage";
import { requireDocker } from "../../../testkit/live/liveDeployment";
import { SwarmState, ensureSwarm, leaveSwarmIfInitialized } from "../../../testkit/live/swarmNode";

const LABEL = "private-registry.test=harness-swarm";
const [LABEL_KEY, LABEL_VALUE] = LABEL.split("=");
const SERVICE = "hsw-web";
const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/** A registration with any inputs, as an SDK without client-side checks would send it. */
class RawResource extends pulumi.CustomResource {
    constructor(type: string, name: string, inputs: pulumi.Inputs) {
        super(type, name, inputs);
    }
}

interface Variant {
    env?: string;
    role?: string;
    secretName?: string;
    secretData?: string;
    /** Pass the network in the deprecated `name` field (by its name) instead of `id`. */
    networkByName?: boolean;
    maxFailureRatio?: string;
    deleteBeforeReplace?: boolean;
    /** Reference the secret by this literal id and leave the Secret resource out of the program. */
    literalSecret?: { id: string; name: string };
    replicas?: number;
    aliases?: string[];
    /** The tasks' `net.ipv4.tcp_keepalive_time` (a sysctl of their network namespace). */
    keepaliveSeconds?: string;
    /** A health check that never passes. */
    sick?: boolean;
    /** The placement constraint, and whether the program ignores changes to it. */
    constraint?: string;
    ignoreConstraints?: boolean;
}

/** The program: an overlay network, a volume, a secret, a config and a 2-replica service using them. */
function program(v: Variant = {}) {
    return () => {
        const net = new docker.Network("net", { name: "hsw-net", driver: "overlay", attachable: true });
        const data = new docker.Volume("data", { name: "hsw-data" });
        const secret = v.literalSecret
            ? v.literalSecret
            : new docker.Secret("secret", { name: v.secretName ?? "hsw-token-1", data: b64(v.secretData ?? "token-one"), labels: [{ label: "purpose", value: "auth" }] });
        const config = new docker.ServiceConfig("config", { name: "hsw-greeting-1", data: b64("greeting=hello\n") });
        const updateConfig = { parallelism: 1, delay: "0s", failureAction: "pause", monitor: "1s", maxFailureRatio: v.maxFailureRatio ?? "0.0", order: "start-first" };
        return new docker.Service(
            "svc",
            {
                name: SERVICE,
                labels: [{ label: "team", value: "infra" }],
                mode: { replicated: { replicas: v.replicas ?? 2 } },
                endpointSpec: { mode: "dnsrr" },
                updateConfig,
                rollbackConfig: { ...updateConfig, maxFailureRatio: "0.0" },
                convergeConfig: { delay: "1s", timeout: "60s" },
                taskSpec: {
                    containerSpec: {
                        image: TEST_IMAGE,
                        commands: ["sh", "-c", "echo ok > /www/index.html; echo web-started; exec httpd -f -p 8080 -h /www"],
                        env: { GREETING: v.env ?? "one" },
                        labels: [{ label: "role", value: v.role ?? "web" }],
                        init: true,
                        mounts: [{ type: "volume", source: data.name, target: "/data" }],
                        secrets: [{ secretId: secret.id, secretName: secret.name, fileName: "token", fileMode: 0o400 }],
                        configs: [{ configId: config.id, configName: config.name, fileName: "/etc/greeting.conf", fileMode: 0o444 }],
                        healthcheck: {
                            tests: v.sick ? ["CMD", "test", "-f", "/never"] : ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"],
                            interval: "1s",
                            timeout: "1s",
                            retries: v.sick ? 1 : 3,
                            startPeriod: "0s",
                        },
                        stopSignal: "SIGTERM",
                        stopGracePeriod: "5s",
                        capDrops: ["MKNOD"],
                        sysctl: { "net.ipv4.tcp_keepalive_time": v.keepaliveSeconds ?? "10" },
                    },
                    networksAdvanceds: [v.networkByName ? { name: net.name, aliases: v.aliases ?? ["web"] } : { id: net.id, aliases: v.aliases ?? ["web"] }],
                    placement: { constraints: [v.constraint ?? "node.role==manager"] },
                    restartPolicy: { condition: "any", delay: "1s", maxAttempts: 0, window: "0s" },
                    logDriver: { name: "json-file", options: { "max-size": "1m" } },
                },
            },
            { deleteBeforeReplace: v.deleteBeforeReplace, ignoreChanges: v.ignoreConstraints ? ["taskSpec.placement.constraints"] : undefined },
        );
    };
}

describe("live mocks: Swarm read-back spellings and refusals (no Docker needed)", function () {
    it("reads durations back as the provider's shortDur prints them", () => {
        const cases: [string, string][] = [["10s", "10s"], ["1m0s", "1m"], ["60s", "1m"], ["1m30s", "1m30s"], ["90m", "1h30m"], ["1h", "1h"], ["500ms", "500ms"], ["1.5s", "1.5s"], ["0s", "0s"]];
        for (const [given, back] of cases) assert.equal(shortDuration(goDurationToNanos(given)), back, given);
    });

    it("reads maxFailureRatio back through float32 with one decimal, ties to even", () => {
        const cases: [string, string][] = [["0.0", "0.0"], ["0", "0.0"], ["0.1", "0.1"], ["0.15", "0.2"], ["0.25", "0.2"], ["0.35", "0.3"], ["1", "1.0"]];
        for (const [given, back] of cases) assert.equal(goRatio(parseFloat(given)), back, given);
    });

    const refusals: [string, () => unknown, RegExp][] = [
        [
            "an input the live mock does not implement (taskSpec.containerSpec.hostname)",
            () => new docker.Service("svc", { name: "x", taskSpec: { containerSpec: { image: TEST_IMAGE, hostname: "h" } } }),
            /live mock does not implement input "taskSpec\.containerSpec\.hostname"/,
        ],
        [
            "a mount that is not a volume",
            () => new docker.Service("svc", { name: "x", taskSpec: { containerSpec: { image: TEST_IMAGE, mounts: [{ type: "bind", source: "/tmp", target: "/t" }] } } }),
            /mounts of type "bind"/,
        ],
        ["a secret without a name (the provider would auto-name it)", () => new docker.Secret("s", { data: b64("x") }), /auto-naming/],
        ["secret data that is not standard base64", () => new docker.Secret("s", { name: "x", data: "a-b_c" }), /data is not base64 decodeable/],
        [
            "a duration Go cannot parse",
            () => new docker.Service("svc", { name: "x", taskSpec: { containerSpec: { image: TEST_IMAGE, stopGracePeriod: "5 s" } } }),
            /taskSpec\.containerSpec\.stopGracePeriod is not a valid non-negative Go duration/,
        ],
        [
            "a failure ratio outside 0..1",
            () => new docker.Service("svc", { name: "x", updateConfig: { maxFailureRatio: "2" }, taskSpec: { containerSpec: { image: TEST_IMAGE } } }),
            /updateConfig\.maxFailureRatio must be a float between 0\.0 and 1\.0/,
        ],
        ["an input the schema does not have", () => new RawResource("docker:index/service:Service", "svc", { name: "x", taskSpec: { containerSpec: { image: TEST_IMAGE } }, replicas: 2 }), /replicas is not an input of the provider's schema/],
    ];
    for (const [what, make, message] of refusals) {
        it(`refuses ${what}`, async () => {
            const stack = new LiveStack({ label: LABEL });
            await assert.rejects(stack.up(make), (err: Error) => {
                assert.match(err.message, message);
                assert.doesNotMatch(err.message, /a-b_c/, "no input value in the message");
                return true;
            });
        });
    }
});

describe("live mocks: Swarm service, secret and config (Docker)", function () {
    this.timeout(300_000);
    const engine = new Docker();
    const stack = new LiveStack({ label: LABEL, stateFile: LiveStack.tempStateFile("live-swarm-") });
    let swarm: SwarmState = { initialized: false };

    const tasksOf = async (service: string) =>
        (await engine.listTasks({ filters: JSON.stringify({ service: [service] }) })) as {
            ID: string;
            Slot: number;
            CreatedAt: string;
            DesiredState: string;
            Status: { State: string; ContainerStatus?: { ContainerID?: string } };
        }[];
    /** The containers of the tasks the service wants running (not the old ones still stopping). */
    const runningContainers = async (service: string) => {
        const wanted = new Set((await tasksOf(service)).filter((t) => t.DesiredState === "running" && t.Status.State === "running").map((t) => t.Status.ContainerStatus?.ContainerID));
        const listed = await engine.listContainers({ filters: JSON.stringify({ label: [`com.docker.swarm.service.name=${service}`], status: ["running"] }) });
        return listed.filter((c) => wanted.has(c.Id));
    };
    const exec = (container: string, ...cmd: string[]): string => execFileSync("docker", ["exec", container, ...cmd], { encoding: "utf8" });
    const labelled = async () => {
        const filters = JSON.stringify({ label: [LABEL] });
        return {
            services: (await engine.listServices({ filters })).length,
            secrets: (await engine.listSecrets({ filters })).length,
            configs: (await engine.listConfigs({ filters })).length,
            networks: (await engine.listNetworks({ filters })).length,
            volumes: ((await engine.listVolumes({ filters })).Volumes ?? []).length,
            containers: (await engine.listContainers({ all: true, filters })).length,
        };
    };
    const all = ["config", "data", "net", "secret", "svc"];

    before(async function () {
        requireDocker(this);
        await ensureTestImage(engine);
        swarm = await ensureSwarm(engine);
        await clearLeftovers(LABEL, { volumes: true, docker: engine });
    });
    after(async () => {
        await clearLeftovers(LABEL, { volumes: true, docker: engine });
        await leaveSwarmIfInitialized(engine, swarm);
    });

    it("creates a network, volume, secret, config and a converged 2-replica service that uses them", async () => {
        const { report } = await stack.up(program());
        assert.deepEqual([...report.created].sort(), all);

        const containers = await runningContainers(SERVICE);
        assert.equal(containers.length, 2, "two replicas run (healthy: the engine reports running only then)");
        for (const c of containers) {
            assert.equal(c.Labels[LABEL_KEY], LABEL_VALUE, "task containers carry the harness label");
            assert.equal(c.Labels.role, "web");
        }
        const web = containers[0].Id;
        assert.equal(exec(web, "cat", "/run/secrets/token"), "token-one");
        assert.match(exec(web, "ls", "-l", "/run/secrets/token"), /^-r-------- /, "fileMode 0o400");
        assert.equal(exec(web, "cat", "/etc/greeting.conf"), "greeting=hello\n");
        assert.match(exec(web, "env"), /^GREETING=one$/m);
        assert.equal(exec(web, "wget", "-q", "-O", "-", "http://web:8080/").trim(), "ok", "the other replicas answer on the network alias");

        const svc = (await engine.getService(SERVICE).inspect()) as { Spec: { Labels: Record<string, string>; TaskTemplate: { Networks: { Target: string }[] } } };
        assert.equal(svc.Spec.Labels[LABEL_KEY], LABEL_VALUE);
        const net = (await engine.getNetwork("hsw-net").inspect()) as Docker.NetworkInspectInfo;
        assert.equal(svc.Spec.TaskTemplate.Networks[0].Target, net.Id);

        const rec = stack.resources().find((r) => r.name === "svc");
        assert.deepEqual(rec?.readBack?.labels, [{ label: "team", value: "infra" }], "the harness label is not read back");
        const task = rec?.readBack?.taskSpec as { containerSpec: { labels: unknown; healthcheck: unknown; stopGracePeriod: unknown }; networksAdvanceds: { id: string }[] };
        assert.deepEqual(task.containerSpec.labels, [{ label: "role", value: "web" }]);
        assert.deepEqual(task.containerSpec.healthcheck, { tests: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"], interval: "1s", timeout: "1s", retries: 3, startPeriod: "0s" });
        assert.equal(task.networksAdvanceds[0].id, net.Id);
        const secret = stack.resources().find((r) => r.name === "secret");
        assert.deepEqual(secret?.secretInputs, ["data"], "the SDK sends the secret's data as a secret");
        assert.equal(secret?.id, (await engine.getSecret("hsw-token-1").inspect()).ID, "the id is the engine's");
    });

    it("a second identical run changes nothing: the read-back is what the program sends", async () => {
        const { report } = await stack.up(program());
        assert.deepEqual([...report.unchanged].sort(), all);
        assert.deepEqual([...report.created, ...report.updated, ...report.replaced, ...report.deleted], []);
    });

    it("a network passed in the deprecated name field reads back as an id: a replacement on every preview", async () => {
        assert.deepEqual((await stack.preview(program({ networkByName: true }))).replaced, ["svc"]);
        assert.deepEqual((await stack.preview(program({ networkByName: true }))).replaced, ["svc"], "and again: the diff never settles");
        assert.deepEqual((await stack.preview(program())).replaced, []);
    });

    it("a nested ignoreChanges path keeps the old input and is left out of the diff", async () => {
        const moved = { constraint: "node.role==worker" };
        assert.deepEqual((await stack.preview(program(moved))).updated, ["svc"]);
        assert.deepEqual((await stack.preview(program({ ...moved, ignoreConstraints: true }))).unchanged.sort(), all);
    });

    it("replaces for a changed ForceNew leaf (an alias, a sysctl), updates in place under a ForceNew block (mode.replicated.replicas)", async () => {
        assert.deepEqual((await stack.preview(program({ aliases: ["web", "www"] }))).replaced, ["svc"]);
        assert.deepEqual((await stack.preview(program({ keepaliveSeconds: "20" }))).replaced, ["svc"]);
        const scaled = await stack.preview(program({ replicas: 3 }));
        assert.deepEqual([scaled.replaced, scaled.updated], [[], ["svc"]]);
    });

    it("an env change updates in place: the tasks are replaced one at a time, start-first", async () => {
        const before = new Set((await tasksOf(SERVICE)).filter((t) => t.DesiredState === "running").map((t) => t.ID));
        const { report } = await stack.up(program({ env: "two", maxFailureRatio: "0" }));
        assert.deepEqual(report.updated, ["svc"]);
        assert.deepEqual(report.replaced, []);

        const tasks = await tasksOf(SERVICE);
        const fresh = tasks.filter((t) => t.DesiredState === "running");
        assert.equal(fresh.length, 2);
        for (const t of fresh) assert.ok(!before.has(t.ID), "every task is new");
        const container = async (t: { Status: { ContainerStatus?: { ContainerID?: string } } }) => engine.getContainer(String(t.Status.ContainerStatus?.ContainerID)).inspect();
        const started: Record<number, string> = {};
        for (const t of fresh) {
            const info = await container(t);
            assert.equal(info.State.Status, "running");
            assert.match(exec(info.Id, "env"), /^GREETING=two$/m);
            assert.equal(exec(info.Id, "cat", "/proc/sys/net/ipv4/tcp_keepalive_time").trim(), "10", "the sysctl, in the task's network namespace");
            started[t.Slot] = info.State.StartedAt;
            const old = tasks.find((o) => o.Slot === t.Slot && before.has(o.ID));
            assert.ok(old, `slot ${t.Slot} had a task before`);
            const oldInfo = await container(old);
            // Start-first: the new container started while the old one still ran (it may run still: the update is
            // complete once the new tasks run; the old ones stop after the swarm's gossip delay and grace period).
            assert.ok(oldInfo.State.Running || info.State.StartedAt < oldInfo.State.FinishedAt, `start-first: slot ${t.Slot}'s new task started before the old one stopped`);
        }
        const [first, second] = [...fresh].sort((a, b) => (a.CreatedAt < b.CreatedAt ? -1 : 1));
        assert.ok(second.CreatedAt > started[first.Slot], "parallelism 1: the second task was created after the first new one started");
        assert.deepEqual((await stack.preview(program({ env: "two", maxFailureRatio: "0" }))).updated, ["svc"], "maxFailureRatio \"0\" reads back as \"0.0\": a diff on every run");
        assert.deepEqual((await stack.preview(program({ env: "two" }))).unchanged.sort(), all);
    });

    it("a containerSpec.labels change replaces: create-first fails on the fixed name, deleteBeforeReplace succeeds", async () => {
        assert.deepEqual((await stack.preview(program({ env: "two", role: "api" }))).replaced, ["svc"]);
        const id = (await engine.getService(SERVICE).inspect()).ID;
        await assert.rejects(stack.up(program({ env: "two", role: "api" })), /name conflicts with an existing object|already exists/);
        assert.equal((await engine.getService(SERVICE).inspect()).ID, id, "the old service stays");

        const { report } = await stack.up(program({ env: "two", role: "api", deleteBeforeReplace: true }));
        assert.deepEqual(report.replaced, ["svc"]);
        assert.notEqual((await engine.getService(SERVICE).inspect()).ID, id);
        const containers = await runningContainers(SERVICE);
        assert.equal(containers.length, 2);
        for (const c of containers) assert.equal(c.Labels.role, "api");
    });

    it("a secret data change replaces it create-first: the same name is the engine's 409, a new name works", async () => {
        const current = { env: "two", role: "api" };
        assert.deepEqual((await stack.preview(program({ ...current, secretData: "token-two" }))).replaced, ["secret"]);
        await assert.rejects(stack.up(program({ ...current, secretData: "token-two" })), /409|already exists/);

        const { report } = await stack.up(program({ ...current, secretData: "token-two", secretName: "hsw-token-2" }));
        assert.deepEqual(report.replaced, ["secret"]);
        assert.deepEqual(report.updated, ["svc"], "the service moves to the new secret in place");
        const secrets = (await engine.listSecrets({ filters: JSON.stringify({ label: [LABEL] }) })) as unknown as { Spec: { Name: string } }[];
        assert.deepEqual(secrets.map((s) => s.Spec.Name), ["hsw-token-2"], "the old secret went at the end of the run, once unused");
        for (const c of await runningContainers(SERVICE)) assert.equal(exec(c.Id, "cat", "/run/secrets/token"), "token-two");
    });

    it("deleting a secret a service still uses fails with the engine's refusal, and it stays in the state", async () => {
        const secret = stack.resources().find((r) => r.name === "secret");
        assert.ok(secret);
        // The service names the secret by a literal id: the engine has no idea the program changed.
        const literal = { id: secret.id, name: "hsw-token-2" };
        await assert.rejects(stack.up(program({ env: "two", role: "api", literalSecret: literal })), /in use by the following service: hsw-web/);
        assert.ok(stack.resources().some((r) => r.name === "secret"));
        const { report } = await stack.up(program({ env: "two", role: "api", secretData: "token-two", secretName: "hsw-token-2" }));
        assert.deepEqual([...report.unchanged].sort(), all);
    });

    it("a service that never gets healthy fails after the converge timeout, with its tasks' errors and logs, and is removed", async () => {
        const sick = new LiveStack({ label: LABEL });
        const make = () =>
            new docker.Service("sick", {
                name: "hsw-sick",
                mode: { replicated: { replicas: 1 } },
                convergeConfig: { delay: "1s", timeout: "6s" },
                taskSpec: {
                    containerSpec: {
                        image: TEST_IMAGE,
                        commands: ["sh", "-c", "echo sick-started; sleep 3600"],
                        env: { API_TOKEN: "do-not-print-me" },
                        healthcheck: { tests: ["CMD", "test", "-f", "/ready"], interval: "1s", timeout: "1s", retries: 1 },
                    },
                },
            });
        await assert.rejects(sick.up(make), (err: Error) => {
            assert.match(err.message, /Service with ID \(\w+\) did not converge after 6s \(the service was removed\)/);
            assert.match(err.message, /failing tasks:/);
            assert.match(err.message, /sick-started/, "the task container's own log lines");
            assert.doesNotMatch(err.message, /do-not-print-me/, "never an input value");
            return true;
        });
        assert.equal((await engine.listServices({ filters: JSON.stringify({ name: ["hsw-sick"] }) })).length, 0);
        assert.deepEqual(sick.resources(), []);
    });

    it("an update whose new tasks never get healthy pauses (failureAction pause): an error with the engine's message and the tasks", async () => {
        const current = { env: "two", role: "api", secretData: "token-two", secretName: "hsw-token-2" };
        await assert.rejects(stack.up(program({ ...current, sick: true })), (err: Error) => {
            assert.match(err.message, /service update paused: update paused due to failure or early termination of task/);
            assert.match(err.message, /failing tasks:[\s\S]*web-started/);
            return true;
        });
        assert.equal((await engine.getService(SERVICE).inspect()).UpdateStatus?.State, "paused");
    });

    it("destroy removes the service, then the secret, config, network and volume", async () => {
        const report = await stack.destroy();
        assert.deepEqual([...report.deleted].sort(), all);
        assert.equal(report.deleted[0], "svc", "dependents first");
        assert.deepEqual(await labelled(), { services: 0, secrets: 0, configs: 0, networks: 0, volumes: 0, containers: 0 });
    });
});
