/**
 * The containers' HTTP health check, run as docker runs it: its command under busybox (the
 * registry and UI images are alpine), against a local server answering as the checked one would.
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpHealth } from "../../components/common/container";
import { busyboxPath } from "../../testkit/busyboxPath";
import { requireTool } from "../../testkit/requireTool";

/** The check run as docker runs it (exec form, busybox): its exit code (docker: 0 healthy) and what it printed. */
function runCheck(url: string, cwd?: string): Promise<{ code: number; output: string }> {
    const [form, command, ...args] = httpHealth(url);
    assert.equal(form, "CMD", "exec form: no shell in between");
    return new Promise((resolve) => {
        execFile(command, args, { env: { PATH: busyboxPath() }, cwd, timeout: 10_000 }, (error, stdout, stderr) => {
            resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr });
        });
    });
}

describe("httpHealth: the containers' health check", () => {
    let server: Server;
    let base: string;
    before(async function () {
        requireTool(this, "busybox", "busybox");
        server = createServer((request, response) => {
            response.statusCode = request.url === "/healthz" ? 200 : request.url === "/starting" ? 503 : 404;
            response.end("body the check must not print or keep\n");
        });
        server.listen(0, "127.0.0.1");
        await once(server, "listening");
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => server?.close());

    it("passes on a 200", async () => {
        assert.equal((await runCheck(`${base}/healthz`)).code, 0);
    });

    it("fails on a 503 and a 404", async () => {
        assert.notEqual((await runCheck(`${base}/starting`)).code, 0);
        assert.notEqual((await runCheck(`${base}/missing`)).code, 0);
    });

    it("fails when nothing listens", async () => {
        const closed = createServer();
        closed.listen(0, "127.0.0.1");
        await once(closed, "listening");
        const port = (closed.address() as AddressInfo).port;
        closed.close();
        await once(closed, "close");
        assert.notEqual((await runCheck(`http://127.0.0.1:${port}/healthz`)).code, 0);
    });

    it("writes nothing into the container and prints nothing: the body goes to /dev/null", async () => {
        const cwd = mkdtempSync(join(tmpdir(), "pr-health-"));
        try {
            const { code, output } = await runCheck(`${base}/healthz`, cwd);
            assert.equal(code, 0);
            assert.equal(output, "");
            assert.deepEqual(readdirSync(cwd), []);
        } finally {
            rmSync(cwd, { recursive: true, force: true });
        }
    });
});
