/**
 * Split domains on a real Docker engine: the registry and the UI on two host names (which
 * /etc/hosts maps to 127.0.0.1, see test/live/env/provision.sh), one published port.
 * Chromium on the real UI proves the CORS behaviour that matters: the UI origin reads the
 * registry with credentials and deletes through it, another origin cannot read it.
 */
import { strict as assert } from "node:assert";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import {
    assertUpdateCheckRefused, catalogRepositories, deleteThroughDialog, launchChromium, newContext, openTagList, screenshotPath, servedKeyPin,
} from "../../testkit/live/browser";
import { basicAuthorization } from "../../testkit/basicAuth";
import { deployFresh, tearDown } from "../../testkit/live/freshStack";
import { dockerCli, LiveDeployment, liveConfig, PUSHABLE_IMAGE } from "../../testkit/live/liveDeployment";

const REGISTRY_HOST = "registry.private-registry.test";
const UI_HOST = "ui.private-registry.test";
const OTHER_HOST = "other.private-registry.test";
const PORT = 19443;
const UI_ORIGIN = `https://${UI_HOST}:${PORT}`;
const REGISTRY_ORIGIN = `https://${REGISTRY_HOST}:${PORT}`;
const MANIFEST_TYPES = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json";

describe("live: split domains", function () {
    let live: LiveDeployment;
    let untrust: (() => void) | undefined;
    let admin: { user: string; password: string };

    before(async function () {
        live = await deployFresh(this, "split", liveConfig({
            topology: "split-domains",
            registryHost: REGISTRY_HOST,
            uiHost: UI_HOST,
            httpsPort: PORT,
            httpPort: 19080,
            cors: { allowedOrigins: ["https://tools.private-registry.test"] },
        }), { dockerClients: true });
        admin = { user: "admin", password: live.adminPassword };
        untrust = live.trustCaForDocker();
    });

    after(() => tearDown(live, [
        () => untrust?.(),
        () => live?.outputs && dockerCli(["logout", live.outputs.registryAddress]).catch(() => undefined),
    ]));

    it("docker pushes through the registry host; the UI host serves the UI, not the API", async () => {
        assert.equal(live.outputs.registryAddress, `${REGISTRY_HOST}:${PORT}`);
        assert.equal(live.outputs.uiUrl, `${UI_ORIGIN}/`);
        await dockerCli(["login", live.outputs.registryAddress, "--username", "admin", "--password-stdin"], admin.password);
        const ref = `${live.outputs.registryAddress}/split/busybox:1`;
        await dockerCli(["tag", PUSHABLE_IMAGE, ref]);
        await dockerCli(["push", ref]);
        await dockerCli(["rmi", ref]);
        await dockerCli(["pull", ref]);
        const ui = await live.request("/", { host: UI_HOST });
        assert.equal(ui.status, 200);
        assert.match(ui.body.toString(), /<html/i);
        assert.equal((await live.request("/v2/_catalog", { host: UI_HOST, auth: admin })).headers["docker-distribution-api-version"], undefined);
    });

    it("nginx answers CORS preflight with 204, without credentials, for allowed origins only", async () => {
        const preflight = (origin: string) => live.request("/v2/split/busybox/manifests/sha256:" + "0".repeat(64), {
            method: "OPTIONS",
            headers: { Origin: origin, "Access-Control-Request-Method": "DELETE", "Access-Control-Request-Headers": "authorization, accept" },
        });
        for (const origin of [UI_ORIGIN, "https://tools.private-registry.test"]) {
            const allowed = await preflight(origin);
            assert.equal(allowed.status, 204, origin);
            assert.equal(allowed.headers["access-control-allow-origin"], origin);
            assert.equal(allowed.headers["access-control-allow-credentials"], "true");
            assert.match(String(allowed.headers["access-control-allow-methods"]), /DELETE/);
            assert.match(String(allowed.headers["access-control-allow-headers"]), /Authorization/);
            assert.match(String(allowed.headers["access-control-allow-headers"]), /Accept/);
        }
        const denied = await preflight(`https://${OTHER_HOST}`);
        assert.equal(denied.headers["access-control-allow-origin"], undefined);
        const get = await live.request("/v2/_catalog", { auth: admin, headers: { Origin: UI_ORIGIN } });
        assert.equal(get.status, 200);
        assert.equal(get.headers["access-control-allow-origin"], UI_ORIGIN);
        assert.match(String(get.headers["access-control-expose-headers"]), /Docker-Content-Digest/);
        const unauthorized = await live.request("/v2/_catalog", { headers: { Origin: UI_ORIGIN } });
        assert.equal(unauthorized.status, 401);
        assert.equal(unauthorized.headers["access-control-allow-origin"], UI_ORIGIN, "a 401 must carry CORS headers, or the UI cannot see it");
    });

    it("in Chromium the UI lists the catalog with credentials, shows the tag's digest, and deletes it through its dialog (then gone from the API); its update check refused; another origin is blocked", async () => {
        const browser = await launchChromium([await servedKeyPin(PORT, UI_HOST)]);
        const other = await servePage();
        const digest = String((await live.request("/v2/split/busybox/manifests/1", { method: "HEAD", auth: admin, headers: { Accept: MANIFEST_TYPES } })).headers["docker-content-digest"]);
        assert.match(digest, /^sha256:[0-9a-f]{64}$/);
        try {
            const context = await newContext(browser, { username: "admin", password: admin.password });
            const page = await context.newPage();
            const registryRequests: string[] = [];
            page.on("request", (request) => { if (request.url().includes("/v2/")) registryRequests.push(`${request.method()} ${request.url()}`); });
            await page.goto(live.outputs.uiUrl);
            assert.deepEqual(await catalogRepositories(page), ["split/busybox"]);
            // The page's CSP lets it reach the registry's origin, and refuses api.github.com.
            await assertUpdateCheckRefused(page);
            assert.deepEqual(context.external, []);
            await page.screenshot({ path: screenshotPath("ui-split-domains.png"), fullPage: true });

            assert.deepEqual(await openTagList(page, "split/busybox"), [{ tag: "1", digest }]);
            // The UI reads the digest (an exposed header), then DELETEs by digest with credentials
            // (a preflighted request), and says so.
            const deletion = await deleteThroughDialog(page, "1");
            // The UI lists the tags again: none left.
            await page.locator("tag-list .item-count", { hasText: /^\s*0 tags\s*$/ }).waitFor({ timeout: 30_000 });
            await page.screenshot({ path: screenshotPath("ui-split-domains-deleted.png"), fullPage: true });
            assert.deepEqual(deletion.dialog, ["split/busybox:1"]);
            assert.equal(deletion.status, 202, deletion.message);
            assert.match(deletion.message, /^Deleting split\/busybox:1 image/);
            assert.ok(deletion.shown, "the snackbar is on screen");
            assert.ok(registryRequests.includes(`DELETE ${REGISTRY_ORIGIN}/v2/split/busybox/manifests/${digest}`), registryRequests.join("\n"));
            assert.ok(registryRequests.every((r) => r.split(" ")[1].startsWith(`${REGISTRY_ORIGIN}/v2/`)), registryRequests.join("\n"));
            const gone = await live.request(`/v2/split/busybox/manifests/${digest}`, { method: "HEAD", auth: admin, headers: { Accept: MANIFEST_TYPES } });
            assert.equal(gone.status, 404, "the manifest is still there");
            const tags = await live.request("/v2/split/busybox/tags/list", { auth: admin });
            assert.ok(tags.status === 404 || [null, undefined].includes(JSON.parse(tags.body.toString()).tags), tags.body.toString());

            const authorization = basicAuthorization("admin", admin.password);
            const foreign = await context.newPage();
            await foreign.goto(`http://${OTHER_HOST}:${other.port}/`);
            // No named helpers inside evaluate: tsx would wrap them in a helper the page lacks.
            const attempts = await foreign.evaluate(async ({ registry, authorization }) => {
                const results: string[] = [];
                for (const init of [{ credentials: "include" }, { credentials: "include", headers: { Authorization: authorization } }] as RequestInit[]) {
                    try {
                        results.push(`read ${(await fetch(`${registry}/v2/_catalog`, init)).status}`);
                    } catch (error) {
                        results.push(`blocked: ${(error as Error).message}`);
                    }
                }
                return results;
            }, { registry: REGISTRY_ORIGIN, authorization });
            for (const attempt of attempts) assert.match(attempt, /^blocked: Failed to fetch/, attempt);
        } finally {
            await browser.close();
            other.server.close();
        }
    });
});

/** A page on an origin that is not on the allow-list (plain HTTP on 127.0.0.1). */
async function servePage(): Promise<{ server: http.Server; port: number }> {
    const server = http.createServer((_req, res) => {
        res.writeHead(200, { "Content-Type": "text/html" });
        res.end("<!doctype html><title>not allowed</title><p>another origin</p>");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { server, port: (server.address() as AddressInfo).port };
}
