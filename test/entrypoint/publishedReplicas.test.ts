/**
 * Target docker's way to the replicas, on the real nginx under the entrypoint's real
 * watcher script (busybox sh): requests go to exactly the replicas whose `server` lines are
 * in the upstreams volume, the watcher reloads nginx as lines come and go, a published
 * socket nobody listens on is skipped, and with none published nginx answers 502 itself.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { chmodSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { renderUpstreamsScript } from "../../components/entrypoint/upstreamsScript";
import { paths } from "../../components/common/paths";
import { MAX_REPLICAS } from "../../components/registry/config";
import { replicaServerLine, sameReplicaRetries, UPSTREAMS_POLL_SECONDS } from "../../components/registry/serveScript";
import { LocalEntrypoint, requireLocalEntrypointTools, startDockerTargetEntrypoint } from "../../testkit/localEntrypoint";
import { requireTool } from "../../testkit/requireTool";
import { gitIgnores, headerSettings, shellcheckFindings } from "../../testkit/shellScripts";

const PASSWORD = "a-long-enough-test-password";

describe("published replicas: the entrypoint's upstream (real nginx, real watcher)", function () {
    this.timeout(60_000);
    let entrypoint: LocalEntrypoint;

    before(async function () {
        requireLocalEntrypointTools(this);
        entrypoint = await startDockerTargetEntrypoint(PASSWORD);
    });
    after(() => entrypoint?.stop());

    /** Which replicas answered `count` catalog requests, and how often. */
    async function answeredBy(count: number): Promise<Record<string, number>> {
        const seen: Record<string, number> = {};
        for (let i = 0; i < count; i++) {
            const reply = await entrypoint.send("GET", "/v2/_catalog", { user: "admin", password: PASSWORD });
            const by = reply.forwardedTo ?? `status ${reply.status}`;
            seen[by] = (seen[by] ?? 0) + 1;
        }
        return seen;
    }

    it("sends every request to the one replica published at start", async () => {
        assert.deepEqual(await answeredBy(6), { "replica-1": 6 });
    });

    it("spreads requests over the replicas published now, once the watcher has reloaded nginx", async () => {
        entrypoint.publish([1, 2, 3]);
        assert.deepEqual(await answeredBy(9), { "replica-1": 3, "replica-2": 3, "replica-3": 3 });
        entrypoint.publish([3]);
        assert.deepEqual(await answeredBy(4), { "replica-3": 4 });
    });

    it("skips a published socket nobody listens on (a replica killed without withdrawing): every request still answered, POST and PATCH too", async () => {
        entrypoint.publish([2]);
        // What a killed replica leaves: its line, and its socket file with no listener behind it.
        const socket = join(entrypoint.upstreamsDir, "killed.sock");
        const killed = spawnSync(process.execPath, ["-e", `require("node:net").createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, "SIGKILL"))`]);
        assert.equal(killed.signal, "SIGKILL");
        assert.ok(statSync(socket).isSocket(), "no leftover socket file");
        // A number beyond the harness's stubs: publish() leaves its line alone.
        const stale = join(entrypoint.upstreamsDir, "replica-9.conf");
        writeFileSync(stale, `server unix:${socket} max_fails=0;\n`);
        entrypoint.publish([2]);
        assert.deepEqual(await answeredBy(6), { "replica-2": 6 });
        for (const [method, uri] of [["POST", "/v2/team-a/app/blobs/uploads/"], ["PATCH", "/v2/team-a/app/blobs/uploads/some-upload"]]) {
            for (let i = 0; i < 4; i++) {
                const reply = await entrypoint.send(method, uri, { user: "admin", password: PASSWORD, body: "x" });
                assert.deepEqual([reply.status, reply.forwardedTo], [202, "replica-2"], `${method} ${i}`);
            }
        }
        rmSync(stale);
        entrypoint.publish([2]);
    });

    it("registry 2.8 on filesystem storage: asks a replica again, up to three more times, what it answered 500; a GET that fails three times succeeds; a streamed PUT and a POST are never resent", async () => {
        const retries = sameReplicaRetries("2.8", "filesystem");
        // One replica beyond the harness's stubs, answering as scripted, published with its own line.
        const replica = MAX_REPLICAS + 1;
        const socket = join(entrypoint.upstreamsDir, `replica-${replica}.sock`);
        const received: string[] = [];
        const flaky = createServer((req, res) => {
            received.push(`${req.method} ${req.url}`);
            // What 2.8.2 answers a read of a link file a push is rewriting: 500, UNKNOWN.
            req.resume();
            const fails = req.url === "/v2/always/manifests/x" || ["POST", "PUT"].includes(req.method ?? "") || received.length % (1 + retries) !== 0;
            res.writeHead(fails ? 500 : 200, { "Content-Type": "application/json" });
            res.end(fails ? JSON.stringify({ errors: [{ code: "UNKNOWN", message: "unknown error", detail: {} }] }) : "{}");
        });
        await new Promise<void>((resolve) => flaky.listen(socket, resolve));
        const line = join(entrypoint.upstreamsDir, `replica-${replica}.conf`);
        try {
            chmodSync(socket, 0o666);
            writeFileSync(line, `${replicaServerLine(replica, retries).replaceAll(paths.upstreamsDir, entrypoint.upstreamsDir)}\n`);
            entrypoint.publish([]);
            const auth = { user: "admin", password: PASSWORD };
            for (let i = 0; i < 3; i++) {
                received.length = 0;
                const reply = await entrypoint.send("GET", "/v2/team-a/app/manifests/latest", auth);
                assert.equal(reply.status, 200, `pull ${i}: ${reply.body}`);
                assert.equal(received.length, 1 + retries, `pull ${i}: ${JSON.stringify(received)}`);
            }
            received.length = 0;
            const always = await entrypoint.send("GET", "/v2/always/manifests/x", auth);
            assert.deepEqual([always.status, received.length], [500, 1 + retries], "a replica that always fails is asked a bounded number of times");
            received.length = 0;
            const post = await entrypoint.send("POST", "/v2/team-a/app/blobs/uploads/", { ...auth, body: "x" });
            assert.deepEqual([post.status, received], [500, ["POST /v2/team-a/app/blobs/uploads/"]], "a POST was resent");
            // A PUT nginx holds whole (a manifest that came with its headers) is asked again;
            // one whose body was streaming to the replica cannot be.
            received.length = 0;
            const manifest = await entrypoint.send("PUT", "/v2/team-a/app/manifests/small", { ...auth, body: "{}" });
            assert.deepEqual([manifest.status, received.length], [500, 1 + retries], "a small PUT");
            received.length = 0;
            const layer = await entrypoint.send("PUT", "/v2/team-a/app/blobs/uploads/u?digest=sha256:x", { ...auth, body: "x".repeat(8 * 1024 * 1024) });
            assert.deepEqual([layer.status, received.length], [500, 1], "a streamed PUT was resent");
        } finally {
            rmSync(line, { force: true });
            entrypoint.publish([1]);
            flaky.close();
        }
    });

    it("with no replica published, nginx answers 502 itself, and serves again as soon as one is", async () => {
        entrypoint.publish([]);
        assert.deepEqual(await answeredBy(3), { "status 502": 3 });
        entrypoint.publish([4]);
        assert.deepEqual(await answeredBy(3), { "replica-4": 3 });
    });

    it("the watcher script renders its settings, the same bytes every time, shellcheck-clean, from a file that ships", function () {
        requireTool(this, "shellcheck", "shellcheck");
        assert.deepEqual(headerSettings(renderUpstreamsScript()), {
            UPSTREAMS: "/run/registry-upstreams", POLL_SECONDS: String(UPSTREAMS_POLL_SECONDS),
            FRONT: "/run/registry-front", FRONT_LISTEN: "/run/registry-front-listen", NAME_FILE: "/etc/hostname",
            HEALTH_URL: "http://127.0.0.1:80/healthz", PUBLISHED: "/run/entrypoint-published", WATCHER_PID: "/run/entrypoint-upstreams.pid",
        });
        assert.equal(renderUpstreamsScript(), renderUpstreamsScript());
        assert.equal(shellcheckFindings(renderUpstreamsScript()), "");
        assert.notEqual(gitIgnores("components/entrypoint/scripts/upstreams.sh"), true, "git ignores the script: it would not ship");
    });
});
