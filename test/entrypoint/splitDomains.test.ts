/**
 * The split-domains entrypoint on the real nginx (rendered site, Debian's nginx):
 * - redirects: plain HTTP goes to HTTPS on the published port, always to a configured host
 *   name whatever `Host` the client sent, and nginx's own redirects keep the host and port
 *   the client used;
 * - CORS: only an allowed origin is echoed (with credentials), on preflight, on the
 *   registry's answers and on the entrypoint's own refusals.
 */
import { strict as assert } from "node:assert";
import { request } from "node:http";
import { entrypointPorts, EntrypointPorts, LocalEntrypoint, requireLocalEntrypointTools, startLocalEntrypoint } from "../../testkit/localEntrypoint";

/** A plain-HTTP GET with this Host header: the status and the Location. */
function plainGet(port: number, path: string, host: string): Promise<{ status: number; location?: string; body: string; type?: string }> {
    return new Promise((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path, headers: { host }, agent: false }, (res) => {
            let body = "";
            res.on("data", (chunk: Buffer) => { body += chunk.toString(); });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body, type: res.headers["content-type"] }));
        });
        req.on("error", reject);
        req.end();
    });
}

describe("split-domains entrypoint: redirects and CORS (real nginx)", function () {
    this.timeout(60_000);
    let ports: EntrypointPorts;
    let split: LocalEntrypoint;

    before(async function () {
        requireLocalEntrypointTools(this);
        ports = await entrypointPorts();
        split = startLocalEntrypoint({
            topology: { kind: "split-domains", registryHost: "registry.example.com", uiHost: "ui.example.com" },
            registryTransport: "unix",
            httpsPort: 8443, realm: "test registry",
            cors: { allowedOrigins: ["https://ui.example.com:8443"], maxAgeSeconds: 600 },
        }, ports);
    });
    after(() => split?.stop());

    const rows: Array<[string, string, string]> = [
        ["the UI host", "ui.example.com", "https://ui.example.com:8443/v2/_catalog?n=5"],
        ["the registry host", "registry.example.com:80", "https://registry.example.com:8443/v2/_catalog?n=5"],
        ["a foreign host (never echoed)", "evil.example", "https://ui.example.com:8443/v2/_catalog?n=5"],
        ["an IP address", "10.0.0.5", "https://ui.example.com:8443/v2/_catalog?n=5"],
    ];
    for (const [name, host, location] of rows) {
        it(`plain HTTP with Host ${name} goes to HTTPS on a configured host and the published port`, async () => {
            const reply = await plainGet(ports.http, "/v2/_catalog?n=5", host);
            assert.deepEqual([reply.status, reply.location], [301, location]);
        });
    }

    it("the container's health check answers on plain HTTP, whichever server its Host picks (a host name may be 127.0.0.1)", async () => {
        const logged = split.accessLog().length;
        for (const host of ["127.0.0.1", "registry.example.com", "ui.example.com"]) {
            const reply = await plainGet(ports.http, "/healthz", host);
            assert.deepEqual([reply.status, reply.body, reply.type], [200, "ok\n", "text/plain"], host);
        }
        // Every 10 s, for the container's life: not one log line.
        assert.equal(split.accessLog().slice(logged), "");
    });

    it("nginx's own redirect (/v2 -> /v2/) is a path: the client keeps its host and port, and a foreign Host is not echoed", async () => {
        const reply = await split.send("GET", "/v2", { headers: { host: "evil.example" } });
        assert.equal(reply.status, 301);
        assert.equal(reply.headers.location, "/v2/");
    });

    const allowed = "https://ui.example.com:8443";
    for (const [name, method] of [["preflight", "OPTIONS"], ["a refused request (401)", "GET"]] as const) {
        it(`${name}: an allowed origin is echoed with credentials; any other gets no CORS header at all`, async () => {
            const headers = { "Origin": allowed, "Access-Control-Request-Method": "GET" };
            const ok = await split.send(method, "/v2/_catalog", { headers });
            assert.equal(ok.status, method === "OPTIONS" ? 204 : 401);
            assert.equal(ok.headers["access-control-allow-origin"], allowed);
            assert.equal(ok.headers["access-control-allow-credentials"], "true");
            assert.equal(ok.headers.vary, "Origin");
            if (method === "OPTIONS") {
                // The browser may reuse a preflight for 10 minutes (cors.maxAgeSeconds), and knows what it may send.
                assert.equal(ok.headers["access-control-max-age"], "600");
                assert.equal(ok.headers["access-control-allow-methods"], "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
            }
            for (const origin of ["https://evil.example", "https://ui.example.com", "null"]) {
                const other = await split.send(method, "/v2/_catalog", { headers: { ...headers, Origin: origin } });
                assert.equal(other.headers["access-control-allow-origin"], undefined, origin);
            }
        });
    }

    it("the registry host's root says where the API is, as text", async () => {
        const reply = await split.send("GET", "/", { headers: { host: "registry.example.com:8443" } });
        assert.deepEqual([reply.status, reply.body, reply.headers["content-type"]], [404, "This host serves the registry API at /v2/.\n", "text/plain"]);
        assert.equal(reply.headers["strict-transport-security"], "max-age=63072000");
    });

    it("the UI's page may not be framed, sends its origin only to itself, and may connect only to itself and the registry", async () => {
        const reply = await split.send("GET", "/", { headers: { host: "ui.example.com:8443" } });
        assert.equal(reply.headers["x-frame-options"], "DENY");
        assert.equal(reply.headers["referrer-policy"], "same-origin");
        assert.match(String(reply.headers["content-security-policy"]), /^connect-src 'self' https:\/\/registry\.example\.com:8443; frame-ancestors 'none';/);
        assert.equal(reply.headers["strict-transport-security"], "max-age=63072000");
    });
});
