/**
 * The entrypoint's end of a swarm's link to the registry, on the real nginx: the rendered
 * site reaches a registry that demands the link's client certificate (a stub with nginx's
 * `ssl_verify_client on`, as the registry's clientcas), and refuses one whose certificate
 * the link's CA did not issue. test/registry/linkTls.test.ts holds the registry's end.
 */
import { strict as assert } from "node:assert";
import { renderGrants } from "../../components/users/access";
import { renderHtpasswd } from "../../components/users/htpasswd";
import { entrypointPorts, LocalEntrypoint, requireLocalEntrypointTools, startLocalEntrypoint } from "../../testkit/localEntrypoint";
import { makeLink } from "../../testkit/selfSignedCertificate";
import { REGISTRY_ALIAS } from "../../components/common/paths";

const PASSWORD = "a-registry-admin-password";

describe("the entrypoint's end of a swarm's link: mutual TLS (real nginx)", function () {
    this.timeout(60_000);
    let entrypoint: LocalEntrypoint;

    before(async function () {
        requireLocalEntrypointTools(this);
        entrypoint = startLocalEntrypoint({
            topology: { kind: "one-origin", host: "localhost" }, registryTransport: "tcp", httpsPort: 443, realm: "test registry",
        }, await entrypointPorts());
        entrypoint.installUsers(
            renderHtpasswd([{ name: "admin", password: PASSWORD }], 4, "a-stable-seed-of-enough-characters"),
            renderGrants([{ name: "admin", access: "admin", repositories: ["*"] }]),
        );
    });
    after(() => entrypoint?.stop());

    it("forwards an authorized request to the registry over the link, with its client certificate", async () => {
        const reply = await entrypoint.send("GET", "/v2/team/app/tags/list", { user: "admin", password: PASSWORD });
        assert.equal(reply.status, 202, reply.body);
        assert.equal(reply.forwarded, "GET /v2/team/app/tags/list");
    });

    it("refuses a registry whose certificate the link's CA did not issue: 502, nothing forwarded", async () => {
        // The stub registry shows a certificate for the alias, of another CA's link.
        entrypoint.presentAsRegistry(makeLink(REGISTRY_ALIAS).server);
        try {
            const reply = await entrypoint.send("GET", "/v2/team/app/tags/list", { user: "admin", password: PASSWORD });
            assert.equal(reply.status, 502);
            assert.equal(reply.forwarded, undefined);
            assert.match(entrypoint.errorLog(), /upstream SSL certificate verify error/);
        } finally {
            entrypoint.presentAsRegistry();
        }
        const again = await entrypoint.send("GET", "/v2/team/app/tags/list", { user: "admin", password: PASSWORD });
        assert.equal(again.status, 202, "the link's own certificate is taken again");
    });
});
