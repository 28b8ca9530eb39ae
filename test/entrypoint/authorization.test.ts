/**
 * Roles and repository scopes as the real nginx enforces them: the rendered site and the
 * real install script on Debian's nginx and busybox, one request per row, against a stub
 * registry that says what it received. The live suite repeats the matrix with docker,
 * skopeo and the real registry.
 */
import { strict as assert } from "node:assert";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderGrants, UserAccess } from "../../components/users/access";
import { renderHtpasswd } from "../../components/users/htpasswd";
import { LocalEntrypoint, startLocalEntrypoint } from "../../testkit/localEntrypoint";
import { requireTool } from "../../testkit/requireTool";

const PASSWORD = "a-long-enough-test-password";
const users: UserAccess[] = [
    { name: "admin", access: "admin", repositories: ["*"] },
    { name: "dev", access: "push", repositories: ["team-a/*", "tools/base"] },
    { name: "deployer", access: "pull", repositories: ["team-a/app"] },
    { name: "reader", access: "pull", repositories: ["*"] },
    // Prefixes as deep as validation allows (4 components before /*), and two deep.
    { name: "deep", access: "pull", repositories: ["a/b/c/d/*", "x/y/*"] },
];
const SEED = "a-stable-seed-of-enough-characters";
const DIGEST = `sha256:${"ab".repeat(32)}`;

type Expect = "forwarded" | "denied" | "unauthorized";
interface Row {
    user: string;
    method: string;
    uri: string;
    expect: Expect;
    /** When forwarded: what the registry must receive, if not the request as sent. */
    registryGets?: string;
    headers?: Record<string, string>;
    body?: string;
    password?: string;
}

const rows: Row[] = [
    // Any valid user: the API root and the catalog (which lists every name: the registry cannot filter it).
    ...users.map((u): Row => ({ user: u.name, method: "GET", uri: "/v2/", expect: "forwarded" })),
    { user: "deployer", method: "GET", uri: "/v2/_catalog?n=100", expect: "forwarded" },
    // Pulls, in and out of scope.
    { user: "deployer", method: "GET", uri: "/v2/team-a/app/manifests/latest", expect: "forwarded" },
    { user: "deployer", method: "HEAD", uri: `/v2/team-a/app/blobs/${DIGEST}`, expect: "forwarded" },
    { user: "deployer", method: "GET", uri: "/v2/team-a/app/tags/list", expect: "forwarded" },
    { user: "deployer", method: "GET", uri: "/v2/team-a/other/manifests/latest", expect: "denied" },
    { user: "deployer", method: "GET", uri: "/v2/team-b/app/tags/list", expect: "denied" },
    { user: "reader", method: "GET", uri: "/v2/team-b/app/manifests/latest", expect: "forwarded" },
    { user: "dev", method: "GET", uri: "/v2/tools/base/manifests/1.0", expect: "forwarded" },
    { user: "dev", method: "GET", uri: "/v2/tools/base2/manifests/1.0", expect: "denied" },
    { user: "dev", method: "GET", uri: "/v2/tools/base/sub/manifests/1.0", expect: "denied" },
    { user: "dev", method: "GET", uri: "/v2/team-a/x/y/z/manifests/1.0", expect: "forwarded" },
    { user: "dev", method: "GET", uri: "/v2/team-a/manifests/1.0", expect: "denied" },
    // Pushes: POST, PATCH, PUT, and cancelling one's upload; PATCH is a write like the others.
    { user: "dev", method: "POST", uri: "/v2/team-a/new/blobs/uploads/", expect: "forwarded" },
    { user: "dev", method: "PATCH", uri: "/v2/team-a/new/blobs/uploads/0c1d-uuid?_state=abc", expect: "forwarded" },
    { user: "dev", method: "PUT", uri: `/v2/team-a/new/blobs/uploads/0c1d-uuid?_state=abc&digest=${DIGEST}`, expect: "forwarded" },
    { user: "dev", method: "PUT", uri: "/v2/team-a/app/manifests/latest", expect: "forwarded" },
    { user: "dev", method: "DELETE", uri: "/v2/team-a/new/blobs/uploads/0c1d-uuid", expect: "forwarded" },
    { user: "dev", method: "PATCH", uri: "/v2/team-b/app/blobs/uploads/0c1d-uuid", expect: "denied" },
    { user: "dev", method: "POST", uri: "/v2/team-b/app/blobs/uploads/", expect: "denied" },
    { user: "reader", method: "POST", uri: "/v2/team-b/app/blobs/uploads/", expect: "denied" },
    { user: "reader", method: "PATCH", uri: "/v2/team-b/app/blobs/uploads/0c1d-uuid", expect: "denied" },
    { user: "reader", method: "PUT", uri: "/v2/team-b/app/manifests/latest", expect: "denied" },
    { user: "deployer", method: "PUT", uri: "/v2/team-a/app/manifests/latest", expect: "denied" },
    { user: "deployer", method: "DELETE", uri: "/v2/team-a/app/blobs/uploads/0c1d-uuid", expect: "denied" },
    // Deletes: admins only.
    { user: "admin", method: "DELETE", uri: `/v2/team-b/app/manifests/${DIGEST}`, expect: "forwarded" },
    { user: "admin", method: "DELETE", uri: `/v2/team-b/app/blobs/${DIGEST}`, expect: "forwarded" },
    { user: "dev", method: "DELETE", uri: `/v2/team-a/app/manifests/${DIGEST}`, expect: "denied" },
    { user: "reader", method: "DELETE", uri: `/v2/team-a/app/blobs/${DIGEST}`, expect: "denied" },
    // Mounts: a source the user may pull is mounted; any other becomes a plain upload (no query).
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&from=tools%2Fbase`, expect: "forwarded" },
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?from=team-a%2Fold%2Fimage&mount=${DIGEST}`, expect: "forwarded" },
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&from=team-b%2Fsecret`, expect: "forwarded", registryGets: "POST /v2/team-a/new/blobs/uploads/" },
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&from=team-b/secret`, expect: "forwarded", registryGets: "POST /v2/team-a/new/blobs/uploads/" },
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&from=tools%2fbase%2Fsub`, expect: "forwarded", registryGets: "POST /v2/team-a/new/blobs/uploads/" },
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&from=te%61m-b%2Fsecret`, expect: "forwarded", registryGets: "POST /v2/team-a/new/blobs/uploads/" },
    // The registry reads the first `from`, as nginx does.
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&from=team-b%2Fsecret&from=tools%2Fbase`, expect: "forwarded", registryGets: "POST /v2/team-a/new/blobs/uploads/" },
    { user: "admin", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&from=te%61m-b%2Fsecret`, expect: "forwarded" },
    // A `from=` inside another key's value is not the registry's `from` (it splits keys on '&' only).
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?x=?from=tools%2Fbase&from=team-b%2Fsecret&mount=${DIGEST}`, expect: "forwarded", registryGets: "POST /v2/team-a/new/blobs/uploads/" },
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?x=1&from=tools%2Fbase&mount=${DIGEST}`, expect: "forwarded" },
    { user: "deployer", method: "POST", uri: `/v2/team-a/app/blobs/uploads/?mount=${DIGEST}&from=team-a%2Fapp`, expect: "denied" },
    // Other ways to hand the registry a `from` that nginx would not see: refused.
    {
        user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}`, expect: "denied",
        headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "from=team-b%2Fsecret",
    },
    {
        user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}`, expect: "denied",
        headers: { "Content-Type": "Multipart/Form-Data; boundary=x" }, body: '--x\r\nContent-Disposition: form-data; name="from"\r\n\r\nteam-b/secret\r\n--x--\r\n',
    },
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&fr%6Fm=team-b%2Fsecret`, expect: "denied" },
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&x=1;from=team-b%2Fsecret`, expect: "denied" },
    // The registry routes on the decoded path: an encoded '/' in a tag, digest or upload id would move the request.
    { user: "deployer", method: "GET", uri: "/v2/team-a/app/manifests/x%2Fmanifests%2Flatest", expect: "denied" },
    { user: "dev", method: "PUT", uri: "/v2/tools/base/manifests/x%2Fmanifests%2Flatest", expect: "denied" },
    { user: "dev", method: "DELETE", uri: `/v2/tools/base/blobs/uploads/x%2Fmanifests%2F${DIGEST}`, expect: "denied" },
    // Prefix grants of every depth validation accepts: below the prefix only, at any depth.
    { user: "deep", method: "GET", uri: "/v2/a/b/c/d/e/manifests/1.0", expect: "forwarded" },
    { user: "deep", method: "GET", uri: `/v2/a/b/c/d/e/f/blobs/${DIGEST}`, expect: "forwarded" },
    { user: "deep", method: "GET", uri: "/v2/a/b/c/d/manifests/1.0", expect: "denied" },
    { user: "deep", method: "GET", uri: "/v2/a/b/c/e/manifests/1.0", expect: "denied" },
    { user: "deep", method: "GET", uri: "/v2/x/y/z/tags/list", expect: "forwarded" },
    { user: "deep", method: "GET", uri: "/v2/x/yy/z/tags/list", expect: "denied" },
    // Spellings the rules do not know are denied, whatever the role.
    { user: "admin", method: "PUT", uri: "/v2/team-a//app/manifests/latest", expect: "denied" },
    { user: "dev", method: "PUT", uri: "/v2/team-b/../team-a/app/manifests/latest", expect: "denied" },
    { user: "dev", method: "PUT", uri: "/v2/team-a%2Fapp/manifests/latest", expect: "denied" },
    { user: "admin", method: "GET", uri: "/v2/Team-A/app/manifests/latest", expect: "denied" },
    { user: "admin", method: "PROPFIND", uri: "/v2/team-a/app/manifests/latest", expect: "denied" },
    { user: "admin", method: "OPTIONS", uri: "/v2/", expect: "denied" },
    // A wrong or missing password is 401 for everyone, allowed or not, existing or not.
    { user: "admin", method: "GET", uri: "/v2/", expect: "unauthorized", password: "wrong-password-000000" },
    { user: "deployer", method: "DELETE", uri: `/v2/team-b/app/manifests/${DIGEST}`, expect: "unauthorized", password: "wrong-password-000000" },
    { user: "nobody-here", method: "DELETE", uri: `/v2/team-b/app/manifests/${DIGEST}`, expect: "unauthorized" },
    { user: "nobody-here", method: "GET", uri: "/v2/", expect: "unauthorized", password: "" },
];

/** Refusals are HTTPS answers too: HSTS and nosniff on 401 and 403 as on everything else. */
function assertSecurityHeaders(headers: Record<string, unknown>): void {
    assert.equal(headers["strict-transport-security"], "max-age=63072000");
    assert.equal(headers["x-content-type-options"], "nosniff");
}

describe("access control in the entrypoint's nginx (real nginx, real install script)", function () {
    this.timeout(60_000);
    let entrypoint: LocalEntrypoint;

    before(function () {
        requireTool(this, "nginx", "nginx");
        requireTool(this, "busybox", "busybox-static");
        requireTool(this, "openssl", "openssl");
        entrypoint = startLocalEntrypoint(
            { topology: { kind: "one-origin", host: "localhost" }, httpsPort: 443, realm: "test registry" },
            { https: 18743, http: 18780, upstream: 18781 },
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
                assert.equal(reply.headers["docker-distribution-api-version"], "registry/2.0");
                assertSecurityHeaders(reply.headers);
            } else {
                assert.equal(reply.status, 401, reply.body);
                assert.equal(reply.forwarded, undefined);
                assert.deepEqual(JSON.parse(reply.body), { errors: [{ code: "UNAUTHORIZED", message: "authentication required", detail: null }] });
                assert.equal(reply.headers["www-authenticate"], 'Basic realm="test registry"');
                assertSecurityHeaders(reply.headers);
            }
        });
    }

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
            const paused = await entrypoint.send("POST", "/v2/team-a/new/blobs/uploads/", { user: "dev", password: PASSWORD });
            assert.equal(paused.status, 503);
            assert.equal(paused.forwarded, undefined);
            assert.equal(JSON.parse(paused.body).errors[0].code, "UNAVAILABLE");
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
