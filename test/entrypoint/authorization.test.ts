/**
 * Roles and repository scopes as the real nginx enforces them: the rendered site and the
 * real install script on Debian's nginx and busybox, one request per row, against a stub
 * registry that says what it received. The live suite repeats the matrix with docker,
 * skopeo and the real registry.
 */
import { strict as assert } from "node:assert";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AUTHORIZE_LOCATION } from "../../components/entrypoint/authorization";
import { renderGrants, UserAccess } from "../../components/users/access";
import { renderHtpasswd } from "../../components/users/htpasswd";
import { entrypointPorts, LocalEntrypoint, requireLocalEntrypointTools, startLocalEntrypoint } from "../../testkit/localEntrypoint";
import { DIGEST, PASSWORD, rows, SEED, users } from "./authorizationTable";

/** Refusals are HTTPS answers too: HSTS and nosniff on 401 and 403 as on everything else. */
function assertSecurityHeaders(headers: Record<string, unknown>): void {
    assert.equal(headers["strict-transport-security"], "max-age=63072000");
    assert.equal(headers["x-content-type-options"], "nosniff");
}

describe("access control in the entrypoint's nginx (real nginx, real install script)", function () {
    this.timeout(60_000);
    let entrypoint: LocalEntrypoint;

    before(async function () {
        requireLocalEntrypointTools(this);
        entrypoint = startLocalEntrypoint(
            { topology: { kind: "one-origin", host: "localhost" }, registryTransport: "unix", httpsPort: 443, realm: "test registry" },
            await entrypointPorts(),
        );
        entrypoint.installUsers(renderHtpasswd(users.map((u) => ({ name: u.name, password: PASSWORD })), 4, SEED), renderGrants(users));
    });
    after(() => entrypoint?.stop());

    for (const row of rows) {
        const title = `${row.user}${row.password !== undefined ? " (wrong password)" : ""}: ${row.method} ${row.uri}${row.headers ? ` [${row.headers["Content-Type"]}]` : ""} -> ${row.expect}${row.registryGets ? ` as ${row.registryGets}` : ""}`;
        it(title, async () => {
            const reply = await entrypoint.send(row.method, row.uri, { user: row.user, password: row.password ?? PASSWORD, headers: row.headers, body: row.body });
            if (row.expect === "forwarded") {
                assert.equal(reply.status, 202, reply.body);
                assert.equal(reply.forwarded, row.registryGets ?? `${row.method} ${row.uri}`);
            } else if (row.expect === "denied") {
                assert.equal(reply.status, 403, reply.body);
                assert.equal(reply.forwarded, undefined);
                if (row.method !== "HEAD") {
                    const [error] = JSON.parse(reply.body).errors;
                    assert.equal(error.code, "DENIED");
                    assert.equal(error.message, "requested access to the resource is denied");
                    assert.equal(error.detail[0].Type, "repository");
                }
                assert.equal(reply.headers["content-type"], "application/json");
                assert.equal(reply.headers["docker-distribution-api-version"], "registry/2.0");
                assertSecurityHeaders(reply.headers);
            } else {
                assert.equal(reply.status, 401, reply.body);
                assert.equal(reply.forwarded, undefined);
                assert.deepEqual(JSON.parse(reply.body), { errors: [{ code: "UNAUTHORIZED", message: "authentication required", detail: null }] });
                assert.equal(reply.headers["www-authenticate"], 'Basic realm="test registry"');
                assert.equal(reply.headers["content-type"], "application/json");
                assertSecurityHeaders(reply.headers);
            }
        });
    }

    it("nginx never reads a variable it has not set (each would be a warning per request in the log)", async () => {
        await entrypoint.send("GET", "/v2/", { user: "dev", password: PASSWORD });
        await entrypoint.send("POST", `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&from=tools%2Fbase`, { user: "dev", password: PASSWORD });
        await entrypoint.send("PUT", "/v2/team-a/new/manifests/1", { user: "dev", password: PASSWORD });
        await entrypoint.send("GET", "/v2/team-b/app/tags/list", { user: "dev", password: PASSWORD });
        assert.doesNotMatch(entrypoint.errorLog(), /uninitialized/);
        assert.match(entrypoint.errorLog(), /\[notice\]/, "the log is being written");
    });

    it("the authorization subrequest's location is internal: asked directly, even by an admin, it is not found and nothing is forwarded", async () => {
        for (const uri of [AUTHORIZE_LOCATION, `${AUTHORIZE_LOCATION}?x=1`]) {
            const reply = await entrypoint.send("GET", uri, { user: "admin", password: PASSWORD });
            assert.equal(reply.status, 404, `${uri}: ${reply.body}`);
            assert.equal(reply.forwarded, undefined);
        }
    });

    it("a denial says what was needed: the repository and the permission, as distribution's token auth words it", async () => {
        const cases: Array<[string, string, string, string, string]> = [
            ["deployer", "GET", "/v2/team-b/app/manifests/1", "team-b/app", "pull"],
            ["deployer", "PUT", "/v2/team-a/app/manifests/1", "team-a/app", "push"],
            ["dev", "DELETE", `/v2/team-a/app/manifests/${DIGEST}`, "team-a/app", "delete"],
        ];
        for (const [user, method, uri, repository, permission] of cases) {
            const reply = await entrypoint.send(method, uri, { user, password: PASSWORD });
            assert.equal(reply.status, 403, `${user} ${method} ${uri}`);
            assert.deepEqual(JSON.parse(reply.body).errors[0].detail, [{ Type: "repository", Name: repository, Action: permission }]);
        }
    });

    it("tells the registry who the client is and how it came, and answers with one nosniff and no nginx version", async () => {
        const reply = await entrypoint.send("GET", "/v2/", { user: "reader", password: PASSWORD });
        assert.equal(reply.status, 202);
        const [realIp, forwardedFor, proto, host] = String(reply.headers["x-forwarded-client"]).split("|");
        assert.deepEqual([realIp, forwardedFor, proto], ["127.0.0.1", "127.0.0.1", "https"]);
        assert.match(host, /^127\.0\.0\.1:\d+$/);
        // The registry's own nosniff is hidden: a header given twice is one a strict client may refuse.
        assert.equal(reply.headers["x-content-type-options"], "nosniff");
        assert.equal(reply.headers.server, "nginx");
    });

    it("refuses docker clients older than 1.6 (404, as in docker's nginx recipe), and takes newer ones", async () => {
        const agents: Array<[string, number]> = [
            ["docker/1.5.0 go/go1.4.1 git-commit/a8a31ef kernel/3.13 os/linux arch/amd64", 404],
            ["Go 1.1 package http", 404],
            ["docker/1.5.0-dev go/go1.4.1", 202],
            ["docker/1.6.0 go/go1.4.2", 202],
            ["docker/27.5.1 go/go1.22.11 git-commit/4c9b3b0 kernel/6.1.0 os/linux arch/amd64", 202],
        ];
        for (const [agent, status] of agents) {
            const reply = await entrypoint.send("GET", "/v2/", { user: "reader", password: PASSWORD, headers: { "User-Agent": agent } });
            assert.equal(reply.status, status, agent);
            assert.equal(reply.forwarded !== undefined, status === 202, agent);
        }
    });

    it("answers a missing password exactly like a wrong one, for existing and unknown users alike", async () => {
        const replies = await Promise.all([
            entrypoint.send("GET", "/v2/"),
            entrypoint.send("GET", "/v2/", { user: "admin", password: "wrong-password-000000" }),
            entrypoint.send("GET", "/v2/", { user: "nobody-here", password: "wrong-password-000000" }),
            entrypoint.send("DELETE", `/v2/x/manifests/${DIGEST}`, { user: "reader", password: "wrong-password-000000" }),
        ]);
        const shape = (r: { status: number; body: string; headers: Record<string, unknown> }) =>
            JSON.stringify([r.status, r.body, r.headers["www-authenticate"], r.headers["content-type"], r.headers["content-length"]]);
        assert.equal(new Set(replies.map(shape)).size, 1, replies.map(shape).join("\n"));
    });

    it("during a garbage-collection window: authorized writes get a retriable 503, reads go on, and a wrong password is still 401", async () => {
        // The job's lease: this minute's file and the next one's, as it renews them.
        const leases = [0, 60_000].map((ahead) => join(entrypoint.maintenanceDir, `writes-paused.${leaseMinute(Date.now() + ahead)}`));
        for (const lease of leases) writeFileSync(lease, "");
        try {
            const logged = entrypoint.accessLog().length;
            const paused = await entrypoint.send("POST", "/v2/team-a/new/blobs/uploads/", { user: "dev", password: PASSWORD });
            assert.equal(paused.status, 503);
            assert.equal(paused.forwarded, undefined);
            assert.deepEqual(JSON.parse(paused.body), { errors: [{ code: "UNAVAILABLE", message: "writes are paused while garbage collection runs; retry shortly", detail: { retryAfterSeconds: 10 } }] });
            assert.equal(paused.headers["content-type"], "application/json");
            // Answered by the entrypoint's own writes-paused server, which logs nothing: one line, the client's request.
            const lines = entrypoint.accessLog().slice(logged).trimEnd().split("\n");
            assert.equal(lines.length, 1, lines.join("\n"));
            assert.match(lines[0], /"POST \/v2\/team-a\/new\/blobs\/uploads\/ HTTP\/1\.1" 503 /);
            assert.equal(paused.headers["retry-after"], "10");
            assert.equal(paused.headers["docker-distribution-api-version"], "registry/2.0");
            assert.match(String(paused.headers["strict-transport-security"]), /max-age=/);
            for (const method of ["PUT", "PATCH", "DELETE"]) {
                assert.equal((await entrypoint.send(method, "/v2/team-a/new/blobs/uploads/0c1d-uuid", { user: "dev", password: PASSWORD })).status, 503, method);
            }
            assert.equal((await entrypoint.send("GET", "/v2/team-a/app/manifests/1", { user: "dev", password: PASSWORD })).forwarded, "GET /v2/team-a/app/manifests/1");
            assert.equal((await entrypoint.send("POST", "/v2/team-a/new/blobs/uploads/", { user: "dev", password: "wrong-password-000000" })).status, 401);
            assert.equal((await entrypoint.send("POST", "/v2/team-a/new/blobs/uploads/")).status, 401);
            assert.equal((await entrypoint.send("PUT", "/v2/team-a/app/manifests/1", { user: "deployer", password: PASSWORD })).status, 403);
        } finally {
            for (const lease of leases) rmSync(lease, { force: true });
        }
        assert.equal((await entrypoint.send("POST", "/v2/team-a/new/blobs/uploads/", { user: "dev", password: PASSWORD })).forwarded, "POST /v2/team-a/new/blobs/uploads/");
    });

    it("a lease the job stopped renewing pauses nothing: a dead job's pause ends by itself", async () => {
        const stale = [-120_000, -60_000].map((ago) => join(entrypoint.maintenanceDir, `writes-paused.${leaseMinute(Date.now() + ago)}`));
        for (const lease of stale) writeFileSync(lease, "");
        try {
            assert.equal((await entrypoint.send("POST", "/v2/team-a/new/blobs/uploads/", { user: "dev", password: PASSWORD })).forwarded, "POST /v2/team-a/new/blobs/uploads/");
        } finally {
            for (const lease of stale) rmSync(lease, { force: true });
        }
    });

    it("takes a reinstall at once, without a reload: a rotated password, a changed role, a removed user", async () => {
        const rotated = "the-rotated-password-of-dev";
        const next: UserAccess[] = [
            users[0],
            { name: "dev", access: "push", repositories: ["team-a/*", "tools/base"] },
            { name: "deployer", access: "push", repositories: ["team-a/app"] },
        ];
        const passwords: Record<string, string> = { admin: PASSWORD, dev: rotated, deployer: PASSWORD };
        entrypoint.installUsers(renderHtpasswd(next.map((u) => ({ name: u.name, password: passwords[u.name] })), 4, SEED), renderGrants(next));
        try {
            assert.equal((await entrypoint.send("GET", "/v2/", { user: "dev", password: PASSWORD })).status, 401, "the old password still works");
            assert.equal((await entrypoint.send("GET", "/v2/", { user: "dev", password: rotated })).status, 202);
            assert.equal((await entrypoint.send("PUT", "/v2/team-a/app/manifests/1", { user: "deployer", password: PASSWORD })).status, 202, "the new role is not in force");
            assert.equal((await entrypoint.send("GET", "/v2/", { user: "reader", password: PASSWORD })).status, 401, "a removed user can still log in");
        } finally {
            entrypoint.installUsers(renderHtpasswd(users.map((u) => ({ name: u.name, password: PASSWORD })), 4, SEED), renderGrants(users));
        }
    });
});

/** A lease file's minute, as the job names it: `date -u +%Y-%m-%dT%H:%M`. */
function leaseMinute(at: number): string {
    return new Date(at).toISOString().slice(0, 16);
}
