/**
 * Target docker's front, on the real nginx: the front's rendered stream config holds the
 * ports, and each nginx behind it runs the rendered site under the entrypoint's real watcher
 * script (busybox sh), which publishes its sockets once it answers. A new nginx takes over
 * from the old one while clients keep opening connections: none is refused, none fails, and
 * the registry still learns each client's address.
 */
import { strict as assert } from "node:assert";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { FRONT_WORKER_CONNECTIONS, FRONT_WORKER_OPEN_FILES } from "../../components/entrypoint/frontConfig";
import { UPSTREAMS_POLL_SECONDS } from "../../components/registry/serveScript";
import { CONTAINER_SOFT_OPEN_FILES, LocalEntrypoint, requireLocalEntrypointTools, startDockerTargetEntrypoint } from "../../testkit/localEntrypoint";

const PASSWORD = "a-long-enough-test-password";
const CLIENTS = 8;

describe("the entrypoint's front: nginx handed over with no refused connection (real nginx, real watcher)", function () {
    this.timeout(60_000);
    let entrypoint: LocalEntrypoint;

    before(async function () {
        requireLocalEntrypointTools(this);
        entrypoint = await startDockerTargetEntrypoint(PASSWORD);
    });
    after(() => entrypoint?.stop());

    /** The links the front connects through, and where each points. */
    const published = () => Object.fromEntries(readdirSync(entrypoint.frontDir).filter((f) => f.endsWith(".sock"))
        .map((f) => [f, readlinkSync(join(entrypoint.frontDir, f))]));

    it("publishes the first nginx's sockets: plain HTTP and HTTPS, each a link into its own folder; its health check passes", () => {
        assert.deepEqual(published(), { "80.sock": "first/80.sock", "443.sock": "first/443.sock" });
        assert.deepEqual(entrypoint.healthCheck(), { ok: true, output: "" });
    });

    it("hands over twice while clients open a new TLS connection for each request: every request is answered by the registry, with the client's address", async () => {
        const counts = { answered: 0, failed: [] as string[] };
        let running = true;
        const client = async () => {
            while (running) {
                try {
                    const reply = await entrypoint.send("GET", "/v2/_catalog", { user: "admin", password: PASSWORD });
                    if (reply.status === 202 && reply.forwardedTo === "replica-1") counts.answered++;
                    else counts.failed.push(`status ${reply.status}`);
                    // X-Real-IP and X-Forwarded-For as the registry reads them: the client's, not the front's socket.
                    const forwarded = String(reply.headers["x-forwarded-client"]).split("|");
                    if (forwarded[0] !== "127.0.0.1" || forwarded[1] !== "127.0.0.1") counts.failed.push(`forwarded ${forwarded.join("|")}`);
                } catch (error) {
                    counts.failed.push((error as NodeJS.ErrnoException).code ?? String(error));
                }
            }
        };
        const clients = Array.from({ length: CLIENTS }, client);
        const pause = () => new Promise((resolve) => setTimeout(resolve, 500));
        await pause();
        await entrypoint.handOver();
        await pause();
        await entrypoint.handOver();
        await pause();
        running = false;
        await Promise.all(clients);
        assert.deepEqual(counts.failed, []);
        assert.ok(counts.answered > 100, `only ${counts.answered} requests`);
        console.log(`      ${counts.answered} requests through two handovers, none failed`);
        assert.deepEqual(published(), { "80.sock": "next-2/80.sock", "443.sock": "next-2/443.sock" });
    });

    it("removes the folder of an nginx that has quit when the next one publishes", () => {
        const folders = readdirSync(entrypoint.frontDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
        assert.ok(!folders.includes("first"), JSON.stringify(folders));
        assert.ok(folders.includes("next-2"), JSON.stringify(folders));
    });

    it("hands the links over only to a new nginx: an old one restarted before its removal, alone or with the current one, leaves them to the current one and says it is not published; once the current one is gone, the next new one takes them", async () => {
        const polls = (n: number) => new Promise((resolve) => setTimeout(resolve, n * UPSTREAMS_POLL_SECONDS * 1000));
        const current = { "80.sock": "next-2/80.sock", "443.sock": "next-2/443.sock" };
        entrypoint.restart("previous");
        await polls(3);
        assert.deepEqual(published(), current);
        const previous = entrypoint.healthCheck("previous");
        assert.equal(previous.ok, false);
        assert.match(previous.output, /the front's links do not lead to this nginx/);
        assert.equal(entrypoint.healthCheck().ok, true);
        // As after an engine restart: both at once, the old one first.
        entrypoint.restart("previous");
        entrypoint.restart("current");
        await polls(3);
        assert.deepEqual(published(), current);
        assert.deepEqual([entrypoint.healthCheck().ok, entrypoint.healthCheck("previous").ok], [true, false]);
        const reply = await entrypoint.send("GET", "/v2/_catalog", { user: "admin", password: PASSWORD });
        assert.deepEqual([reply.status, reply.forwardedTo], [202, "replica-1"]);
        entrypoint.removeCurrent();
        await polls(3);
        assert.deepEqual(published(), current, "the links stay until a new nginx takes them");
        await entrypoint.handOver();
        assert.deepEqual(published(), { "80.sock": "next-3/80.sock", "443.sock": "next-3/443.sock" });
        const after = await entrypoint.send("GET", "/v2/_catalog", { user: "admin", password: PASSWORD });
        assert.deepEqual([after.status, after.forwardedTo], [202, "replica-1"]);
        assert.equal(entrypoint.healthCheck().ok, true);
    });

    it("lets each of the front's workers open a file for every connection it may take, from the soft limit of 1024 a container starts with (Docker 25 and later)", () => {
        const root = dirname(entrypoint.frontDir);
        const master = readFileSync(join(root, "front.pid"), "utf8").trim();
        const workers = readFileSync(`/proc/${master}/task/${master}/children`, "utf8").trim().split(/\s+/);
        assert.ok(workers.length >= 1, `front master ${master} has no workers`);
        for (const worker of workers) {
            const limit = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${worker}/limits`, "utf8"));
            assert.ok(limit, `no open files limit for worker ${worker}`);
            // A file per connection, and room for its listeners and logs.
            assert.ok(FRONT_WORKER_OPEN_FILES > FRONT_WORKER_CONNECTIONS);
            assert.ok(Number(limit[1]) >= FRONT_WORKER_OPEN_FILES, `worker ${worker}: soft limit ${limit[1]}, ${FRONT_WORKER_CONNECTIONS} connections`);
            assert.ok(Number(limit[1]) > CONTAINER_SOFT_OPEN_FILES);
        }
        assert.doesNotMatch(readFileSync(join(root, "front-error.log"), "utf8"), /exceed open file resource limit/);
    });

    it("never cuts a connection before nginx behind it gives up on it: its idle timeout is longer than each of nginx's", () => {
        // Every setting of the directive, in seconds; nginx's default where there is none.
        const seconds = (config: string, directive: string, fallback?: number) => {
            const values = [...config.matchAll(new RegExp(`^\\s*${directive}\\s+([^;]*);`, "gm"))].map((m) => m[1]);
            if (values.length === 0 && fallback !== undefined) return [fallback];
            assert.ok(values.length > 0, `no ${directive}`);
            return values.map((value) => {
                assert.match(value, /^\d+s$/, `${directive} ${value}: in seconds, as the comparison reads it`);
                return Number.parseInt(value, 10);
            });
        };
        const front = seconds(readFileSync(join(dirname(entrypoint.frontDir), "front.conf"), "utf8"), "proxy_timeout");
        const site = readFileSync(join(entrypoint.currentDir(), "site.conf"), "utf8");
        // nginx's defaults where the site sets none: 60 s each.
        const nginx = [
            ...seconds(site, "proxy_read_timeout"), ...seconds(site, "proxy_send_timeout"),
            ...seconds(site, "client_body_timeout", 60), ...seconds(site, "send_timeout", 60),
        ];
        assert.equal(front.length, 1);
        assert.ok(front[0] > Math.max(...nginx), `front ${front[0]} s, nginx up to ${Math.max(...nginx)} s`);
    });

    it("the health check fails once the watcher is gone (nginx would no longer follow the replicas)", () => {
        const watcher = Number(readFileSync(join(entrypoint.currentDir(), "watcher-upstreams.pid"), "utf8"));
        process.kill(watcher, "SIGKILL");
        const check = entrypoint.healthCheck();
        assert.equal(check.ok, false);
        assert.match(check.output, /the upstreams watcher is not running/);
    });
});
