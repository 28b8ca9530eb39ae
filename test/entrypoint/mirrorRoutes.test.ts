/**
 * The routes to the mirrors, on the real nginx with the rendered site and the real install
 * script: `/v2/<name>/...` reaches mirror <name>'s socket without its prefix, after the
 * same authentication and authorization as any request; pushes and deletes there get
 * nginx's own 405; the tag pages' Link header gets the prefix back; the replicas' upstream
 * never takes a mirror's line.
 */
import { strict as assert } from "node:assert";
import { containerPorts } from "../../components/common/paths";
import { renderGrants, UserAccess } from "../../components/users/access";
import { renderHtpasswd } from "../../components/users/htpasswd";
import { entrypointPorts, EntrypointReply, LocalEntrypoint, requireLocalEntrypointTools, startLocalEntrypoint } from "../../testkit/localEntrypoint";

const PASSWORD = "a-password-long-enough-for-the-rules";
const SEED = "a-stable-seed-of-enough-characters";
const users: UserAccess[] = [
    { name: "admin", access: "admin", repositories: ["*"] },
    { name: "hub-puller", access: "pull", repositories: ["hub/*"] },
    { name: "library-puller", access: "pull", repositories: ["hub/library/*"] },
    { name: "team-pusher", access: "push", repositories: ["team-a/*"] },
];
const MANIFEST = "/v2/hub/library/alpine/manifests/3.20";

function assertRegistryAnswerHeaders(reply: EntrypointReply): void {
    assert.equal(reply.headers["strict-transport-security"], "max-age=63072000");
    assert.equal(reply.headers["x-content-type-options"], "nosniff");
    assert.equal(reply.headers["docker-distribution-api-version"], "registry/2.0");
}

describe("routes to the mirrors in the entrypoint's nginx (real nginx, real install script)", function () {
    this.timeout(60_000);
    let entrypoint: LocalEntrypoint;
    const send = (user: string, method: string, uri: string, password = PASSWORD) => entrypoint.send(method, uri, { user, password });

    before(async function () {
        requireLocalEntrypointTools(this);
        entrypoint = startLocalEntrypoint(
            { topology: { kind: "one-origin", host: "localhost" }, registryTransport: "unix", httpsPort: 443, realm: "test registry", mirrors: ["hub", "vendor-2"] },
            await entrypointPorts(),
        );
        entrypoint.installUsers(renderHtpasswd(users.map((u) => ({ name: u.name, password: PASSWORD })), 4, SEED), renderGrants(users));
    });
    after(() => entrypoint?.stop());

    it("sends a pull under a mirror's prefix to that mirror, without the prefix, query and all", async () => {
        for (const [user, uri, mirror, gets] of [
            ["admin", MANIFEST, "mirror-hub", "GET /v2/library/alpine/manifests/3.20"],
            ["hub-puller", "/v2/hub/library/alpine/blobs/sha256:" + "a".repeat(64), "mirror-hub", `GET /v2/library/alpine/blobs/sha256:${"a".repeat(64)}`],
            ["library-puller", "/v2/hub/library/alpine/tags/list?n=10&last=3.1", "mirror-hub", "GET /v2/library/alpine/tags/list?n=10&last=3.1"],
            ["admin", "/v2/vendor-2/tools/base/manifests/1.0", "mirror-vendor-2", "GET /v2/tools/base/manifests/1.0"],
        ]) {
            const reply = await send(user, "GET", uri);
            assert.equal(reply.status, 202, `${user} ${uri}: ${reply.body}`);
            assert.equal(reply.forwardedTo, mirror);
            assert.equal(reply.forwarded, gets);
            assert.equal(reply.headers["x-forwarded-authorization"], undefined, "the user's password stays with nginx");
            assertRegistryAnswerHeaders(reply);
        }
    });

    it("authorizes the prefixed name as any repository's: scopes on hub/* and hub/library/* work, others get 403, no password 401", async () => {
        assert.equal((await send("library-puller", "GET", "/v2/hub/bitnami/redis/manifests/7")).status, 403);
        const denied = await send("team-pusher", "GET", MANIFEST);
        assert.equal(denied.status, 403);
        assert.deepEqual(JSON.parse(denied.body).errors[0].detail, [{ Type: "repository", Name: "hub/library/alpine", Action: "pull" }]);
        assert.equal((await send("admin", "GET", MANIFEST, "a-wrong-password-of-some-length")).status, 401);
        assert.equal((await entrypoint.send("GET", MANIFEST)).status, 401);
    });

    it("denies other spellings of a mirror's path, which the rules do not recognize", async () => {
        for (const uri of ["/v2/%68ub/library/alpine/manifests/3.20", "/v2/hub//library/alpine/manifests/3.20", "/v2/hub/../library/alpine/manifests/3.20", "/v2/hub/"]) {
            const reply = await send("admin", "GET", uri);
            assert.equal(reply.status, 403, uri);
            assert.equal(reply.forwarded, undefined, uri);
        }
    });

    it("answers an authorized push or delete under a mirror's prefix itself: 405 UNSUPPORTED, saying why; the mirror gets nothing", async () => {
        for (const [method, uri] of [
            ["POST", "/v2/hub/library/alpine/blobs/uploads/"],
            ["PUT", MANIFEST],
            ["DELETE", `/v2/hub/library/alpine/manifests/sha256:${"b".repeat(64)}`],
            ["DELETE", `/v2/hub/library/alpine/blobs/sha256:${"b".repeat(64)}`],
        ]) {
            const reply = await send("admin", method, uri);
            assert.equal(reply.status, 405, `${method} ${uri}: ${reply.body}`);
            assert.equal(reply.forwarded, undefined);
            assert.deepEqual(JSON.parse(reply.body), {
                errors: [{ code: "UNSUPPORTED", message: "hub/ is a read-only pull-through mirror: push to and delete from repositories outside hub/", detail: null }],
            });
            assert.equal(reply.headers["content-type"], "application/json");
            assertRegistryAnswerHeaders(reply);
        }
    });

    it("refuses a push by a user who may not push there with 403, before saying the mirror is read-only", async () => {
        const reply = await send("hub-puller", "POST", "/v2/hub/library/alpine/blobs/uploads/");
        assert.equal(reply.status, 403);
        assert.equal(JSON.parse(reply.body).errors[0].code, "DENIED");
    });

    it("puts the prefix back into the Link to the next page of tags", async () => {
        const reply = await send("admin", "GET", "/v2/hub/library/alpine/tags/list?n=1");
        assert.equal(reply.headers.link, '</v2/hub/library/alpine/tags/list?last=3.19&n=1>; rel="next"');
    });

    it("leaves the registry's own repositories to the replicas, which never take a mirror's line", async () => {
        const own = await send("admin", "GET", "/v2/library/alpine/manifests/3.20");
        assert.equal(own.forwardedTo, "replica-1");
        assert.equal(own.forwarded, "GET /v2/library/alpine/manifests/3.20");
        assert.equal(own.headers.link, undefined);
        entrypoint.publish([]);
        try {
            const none = await send("admin", "GET", "/v2/library/alpine/manifests/3.20");
            assert.equal(none.status, 502, "no replica published: the mirrors' sockets are not the replicas'");
            assert.equal((await send("admin", "GET", MANIFEST)).forwardedTo, "mirror-hub");
        } finally {
            entrypoint.publish([1]);
        }
    });
});

describe("a daemon mirror in the entrypoint's nginx (real nginx): a mirror at a port's root, pulls only, no login", function () {
    this.timeout(60_000);
    let entrypoint: LocalEntrypoint;

    before(async function () {
        requireLocalEntrypointTools(this);
        entrypoint = startLocalEntrypoint({
            topology: { kind: "one-origin", host: "localhost" }, registryTransport: "unix", httpsPort: 443, realm: "test registry",
            mirrors: ["hub", "vendor-2"], daemonMirrors: [{ name: "hub", port: containerPorts.uiDaemonMirrors }],
        }, await entrypointPorts());
        entrypoint.installUsers(renderHtpasswd(users.map((u) => ({ name: u.name, password: PASSWORD })), 4, SEED), renderGrants(users));
    });
    after(() => entrypoint?.stop());

    it("sends pulls and the API check, without credentials, to the mirror as they came (Docker Hub's names: no prefix)", async () => {
        for (const uri of ["/v2/", "/v2/library/alpine/manifests/3.20", `/v2/library/alpine/blobs/sha256:${"c".repeat(64)}`, "/v2/library/alpine/tags/list?n=5"]) {
            for (const method of ["GET", "HEAD"]) {
                const reply = await entrypoint.sendToDaemonMirror(method, uri, { user: "admin", password: PASSWORD });
                assert.equal(reply.status, 202, `${method} ${uri}: ${reply.body}`);
                assert.equal(reply.headers["x-forwarded-authorization"], undefined, "credentials sent anyway stay with nginx");
                assert.equal(reply.forwardedTo, "mirror-hub");
                assert.equal(reply.forwarded, `${method} ${uri}`);
                assertRegistryAnswerHeaders(reply);
            }
        }
    });

    it("refuses anything but a pull with 405, and forwards none of it: writes, deletes, the catalog, other spellings", async () => {
        for (const [method, uri] of [
            ["POST", "/v2/library/alpine/blobs/uploads/"],
            ["PUT", "/v2/library/alpine/manifests/3.20"],
            ["DELETE", `/v2/library/alpine/manifests/sha256:${"c".repeat(64)}`],
            ["GET", "/v2/_catalog"],
            ["GET", "/v2/library/%61lpine/manifests/3.20"],
            ["GET", "/v2/library/../alpine/manifests/3.20"],
        ]) {
            const reply = await entrypoint.sendToDaemonMirror(method, uri);
            assert.equal(reply.status, 405, `${method} ${uri}`);
            assert.equal(reply.forwarded, undefined, `${method} ${uri}`);
            assert.deepEqual(JSON.parse(reply.body).errors[0], { code: "UNSUPPORTED", message: "this port serves pulls through mirror hub only", detail: null });
            assert.equal(reply.headers["content-type"], "application/json");
            assertRegistryAnswerHeaders(reply);
        }
        const root = await entrypoint.sendToDaemonMirror("GET", "/");
        assert.equal(root.status, 404);
        assert.equal(root.forwarded, undefined);
    });

    it("never reaches the registry's own repositories or another mirror; the HTTPS port still asks for a login", async () => {
        const reply = await entrypoint.sendToDaemonMirror("GET", "/v2/vendor-2/tools/base/manifests/1.0");
        assert.equal(reply.forwardedTo, "mirror-hub", "a repository named vendor-2/tools/base, of the hub mirror");
        assert.equal((await entrypoint.send("GET", MANIFEST)).status, 401);
    });
});
