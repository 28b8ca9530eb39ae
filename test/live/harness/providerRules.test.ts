/**
 * The harness fails where the real providers fail: one test per modelled rule (schema
 * checks, replacement rules, read-back diffs, in-place updates, stop grace, renewal).
 * Run: npx mocha --no-config --require tsx/cjs --timeout 300000 'test/live/harness/*.test.ts'
 */
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import Docker from "dockerode";
import { clearLeftovers, LiveStack } from "../../../testkit/harness/liveMocks";
import { TEST_IMAGE, ensureTestImage } from "../../../testkit/harness/testImage";
import { requireDocker } from "../../../testkit/live/liveDeployment";

const LABEL = "private-registry.test=live";

/** A registration with any inputs, as an SDK without client-side checks would send it. */
class RawResource extends pulumi.CustomResource {
    constructor(type: string, name: string, inputs: pulumi.Inputs) {
        super(type, name, inputs);
    }
}
const NAME = "lm-rules";

/** One container program; `extra` adds or overrides inputs. */
function container(extra: Record<string, unknown> = {}, opts: Record<string, unknown> = {}) {
    const image = new docker.RemoteImage("busybox", { name: TEST_IMAGE, keepLocally: true });
    return new docker.Container("c", { name: NAME, image: image.imageId, command: ["sleep", "3600"], ...extra } as docker.ContainerArgs, { deleteBeforeReplace: true, ...opts });
}

describe("live mocks: provider schema rules (no Docker needed)", function () {
    const cases: [string, Record<string, unknown>, RegExp][] = [
        ["a wrong type", { restart: 3 }, /restart must be a string/],
        ["a wrong nested type", { ports: [{ internal: "443" }] }, /ports\[0\]\.internal must be an integer/],
        ["a missing required nested input", { ports: [{ external: 8443 }] }, /ports\[0\]\.internal is required/],
        ["upload permissions the provider refuses", { uploads: [{ file: "/x", content: "x", permissions: "400" }] }, /permissions \("400"\) must match \^0\[0-7\]\{3\}\$/],
        ["an upload with two sources", { uploads: [{ file: "/x", content: "x", contentBase64: "eA==" }] }, /exactly one of content, contentBase64, source/],
    ];
    for (const [what, extra, message] of cases) {
        it(`refuses ${what}`, async () => {
            const stack = new LiveStack({ label: LABEL });
            await assert.rejects(stack.up(() => container(extra)), (err: Error) => {
                assert.match(err.message, message);
                return true;
            });
        });
    }

    // The typed SDK classes drop unknown args and check required ones themselves; a raw
    // registration (as another language's SDK or a YAML program sends) reaches the check.
    it("refuses an input the schema does not have", async () => {
        const stack = new LiveStack({ label: LABEL });
        const raw = () => new RawResource("docker:index/container:Container", "c", { image: "x", imagee: "x" });
        await assert.rejects(stack.up(raw), /imagee is not an input of the provider's schema/);
    });

    it("refuses a missing required input", async () => {
        const stack = new LiveStack({ label: LABEL });
        const raw = () => new RawResource("tls:index/privateKey:PrivateKey", "k", { ecdsaCurve: "P256" });
        await assert.rejects(stack.up(raw), /algorithm is required/);
    });
});

describe("live mocks: replacement, read-back and update rules (Docker)", function () {
    this.timeout(300_000);
    const engine = new Docker();

    before(async function () {
        requireDocker(this);
        await ensureTestImage(engine);
        await clearLeftovers(LABEL, { volumes: true, docker: engine });
    });
    afterEach(async () => {
        await clearLeftovers(LABEL, { volumes: true, docker: engine });
    });

    it("a fixed-name network whose labels change is replaced create-first, which the engine refuses", async () => {
        const stack = new LiveStack({ label: LABEL });
        const net = (value: string) => () => new docker.Network("net", { name: `${NAME}-net`, labels: [{ label: "team", value }] });
        await stack.up(net("a"));
        assert.deepEqual((await stack.preview(net("b"))).replaced, ["net"]);
        await assert.rejects(stack.up(net("b")), /already exists/);
        await stack.destroy();
    });

    it("names a container the program leaves unnamed as the provider does: `<logical name>-<7 hex>`, kept while it lives (a name the program had set is not), new at each replacement (--replace too), so it can start beside the old one", async () => {
        const stack = new LiveStack({ label: LABEL });
        const unnamed = (seconds: string) => () => container({ name: undefined, command: ["sleep", seconds] }, { deleteBeforeReplace: false });
        const nameOfC = () => String(stack.resources().find((r) => r.name === "c")?.outputs.name);
        const running = async () => (await engine.listContainers({ filters: { label: [LABEL] } })).map((c) => c.Names[0].slice(1));
        // A name the program had set is never kept: leaving it out replaces the container.
        await stack.up(() => container({ command: ["sleep", "3600"] }, { deleteBeforeReplace: false }));
        assert.deepEqual(await running(), [NAME]);
        assert.deepEqual((await stack.up(unnamed("3600"))).report.replaced, ["c"]);
        const first = nameOfC();
        assert.match(first, /^c-[0-9a-f]{7}$/);
        assert.deepEqual(await running(), [first]);
        assert.ok((await stack.up(unnamed("3600"))).report.unchanged.includes("c"));
        assert.equal(nameOfC(), first);
        assert.deepEqual((await stack.up(unnamed("3601"))).report.replaced, ["c"]);
        const second = nameOfC();
        assert.match(second, /^c-[0-9a-f]{7}$/);
        assert.notEqual(second, first);
        assert.deepEqual(await running(), [second], "the old one went at the end of the run");
        assert.deepEqual((await stack.preview(unnamed("3601"), { replace: ["c"] })).replaced, ["c"]);
        assert.deepEqual((await stack.up(unnamed("3601"), { replace: ["c"] })).report.replaced, ["c"]);
        assert.notEqual(nameOfC(), second);
        assert.deepEqual(await running(), [nameOfC()]);
        await assert.rejects(stack.up(unnamed("3601"), { replace: ["nothing"] }), /--replace: no resource named nothing in the stack/);
        await stack.destroy();
    });

    it("a fixed-name container replaced create-first (--replace) fails on the engine's name conflict, and the old one keeps running", async () => {
        const stack = new LiveStack({ label: LABEL });
        const fixed = () => container({}, { deleteBeforeReplace: false });
        await stack.up(fixed);
        const id = (await engine.getContainer(NAME).inspect()).Id;
        await assert.rejects(stack.up(fixed, { replace: ["c"] }), /already in use|Conflict/);
        const info = await engine.getContainer(NAME).inspect();
        assert.deepEqual([info.Id, info.State.Running], [id, true]);
        await stack.destroy();
    });

    it("a fixed-name volume whose labels change is 'replaced' by the old volume: its old labels read back, a diff on every preview", async () => {
        const stack = new LiveStack({ label: LABEL });
        const volume = (value: string) => () => new docker.Volume("data", { name: `${NAME}-data`, labels: [{ label: "team", value }] }, { retainOnDelete: true });
        await stack.up(volume("a"));
        const second = (await stack.up(volume("b"))).report;
        assert.deepEqual(second.replaced, ["data"]);
        assert.deepEqual(second.retained, ["data"]);
        const labels = (await engine.getVolume(`${NAME}-data`).inspect()).Labels;
        assert.equal(labels.team, "a", "Docker cannot relabel a volume");
        assert.deepEqual((await stack.preview(volume("b"))).replaced, ["data"], "the old labels read back differ from the program's");
    });

    it("diffs against the ports the engine reads back: sorted by internal port, addresses canonical", async () => {
        const stack = new LiveStack({ label: LABEL });
        const unsorted = [{ internal: 8443, external: 18943, ip: "127.0.0.1", protocol: "tcp" }, { internal: 8080, external: 18980, ip: "127.0.0.1", protocol: "tcp" }];
        await stack.up(() => container({ ports: unsorted }));
        assert.deepEqual((await stack.preview(() => container({ ports: unsorted }))).replaced, ["c"], "the unsorted list differs from the read-back one");
        assert.deepEqual((await stack.preview(() => container({ ports: [...unsorted].reverse() }))).unchanged.sort(), ["busybox", "c"]);
    });

    it("reads an IPv6 bind address back in canonical form", async () => {
        const stack = new LiveStack({ label: LABEL });
        const port = (ip: string) => () => container({ ports: [{ internal: 8080, external: 18981, ip, protocol: "tcp" }] });
        await stack.up(port("0:0:0:0:0:0:0:1"));
        assert.deepEqual((await stack.preview(port("0:0:0:0:0:0:0:1"))).replaced, ["c"]);
        assert.deepEqual((await stack.preview(port("::1"))).replaced, []);
    });

    it("applies a health check change to nothing (no replacement, the old check stays, the diff stays) unless replaceOnChanges names it", async () => {
        const stack = new LiveStack({ label: LABEL });
        const check = (interval: string, replaceOnChanges?: string[]) => () =>
            container({ healthcheck: { tests: ["CMD", "true"], interval } }, replaceOnChanges ? { replaceOnChanges } : {});
        await stack.up(check("5s"));
        const id = (await engine.getContainer(NAME).inspect()).Id;
        assert.deepEqual((await stack.up(check("7s"))).report.updated, ["c"]);
        const info = await engine.getContainer(NAME).inspect();
        assert.equal(info.Id, id);
        assert.equal(info.Config.Healthcheck?.Interval, 5e9);
        assert.deepEqual((await stack.preview(check("7s"))).updated, ["c"], "the read-back check still differs");
        assert.deepEqual((await stack.up(check("7s", ["healthcheck"]))).report.replaced, ["c"]);
        assert.equal((await engine.getContainer(NAME).inspect()).Config.Healthcheck?.Interval, 7e9);
    });

    it("stops with the image's stop signal and destroyGraceSeconds before removing; unset, it kills at once", async () => {
        const stack = new LiveStack({ label: LABEL });
        // The process needs 2 s after SIGTERM to finish; it records how it ended in a volume.
        const script = "trap 'sleep 2; echo graceful > /out/end; exit 0' TERM; echo started > /out/end; while true; do sleep 0.2; done";
        const run = (grace?: number) => () => {
            const volume = new docker.Volume("out", { name: `${NAME}-out` }, { retainOnDelete: true });
            return container({ command: ["sh", "-c", script], volumes: [{ volumeName: volume.name, containerPath: "/out" }], ...(grace ? { destroyGraceSeconds: grace } : {}) });
        };
        const ending = (): string => execFileSync("docker", ["run", "--rm", "--label", LABEL, "-v", `${NAME}-out:/out`, TEST_IMAGE, "cat", "/out/end"], { encoding: "utf8" }).trim();
        await stack.up(run(5));
        await waitForStart();
        await stack.destroy();
        assert.equal(ending(), "graceful");
        const unset = new LiveStack({ label: LABEL });
        await unset.up(run());
        await waitForStart();
        await unset.destroy();
        assert.equal(ending(), "started", "without destroyGraceSeconds the provider kills in-flight work");
    });

    it("replaces a certificate once the provider's clock reaches its renewal window, and only then", async () => {
        let now = Date.now();
        const stack = new LiveStack({ label: LABEL, clock: () => new Date(now) });
        const program = () => {
            const key = new tls.PrivateKey("k", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            return new tls.SelfSignedCert("cert", {
                privateKeyPem: key.privateKeyPem, subject: { commonName: "renewal.test" }, allowedUses: ["server_auth"],
                validityPeriodHours: 72, earlyRenewalHours: 24,
            });
        };
        await stack.up(program);
        now += 47 * 3600_000;
        assert.deepEqual((await stack.up(program)).report.replaced, []);
        now += 2 * 3600_000;
        assert.deepEqual((await stack.up(program)).report.replaced, ["cert"]);
        assert.deepEqual((await stack.up(program)).report.replaced, [], "the renewed certificate is not due again");
    });
});

/** Until the test container's script has written its first line. */
async function waitForStart(): Promise<void> {
    for (let i = 0; i < 50; i++) {
        const out = spawnSync("docker", ["exec", NAME, "cat", "/out/end"], { encoding: "utf8" });
        if (out.stdout.trim() === "started") return;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("the test container never started its script");
}
