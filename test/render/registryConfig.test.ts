import { strict as assert } from "node:assert";
import { parse } from "yaml";
import { renderRegistryConfig } from "../../components/render/registryConfig";
import { renderUiEnvironment } from "../../components/render/uiEnvironment";
import { defaults } from "../../components/config/stackConfig";

describe("registry config renderer", () => {
    const text = renderRegistryConfig({ logLevel: "warn", realm: "private-registry-dev registry" });
    const config = parse(text);

    it("parses as YAML with distribution's schema version", () => {
        assert.equal(config.version, "0.1");
    });

    it("enables delete, filesystem storage on the volume path and htpasswd auth", () => {
        assert.equal(config.storage.delete.enabled, true);
        assert.equal(config.storage.filesystem.rootdirectory, "/var/lib/registry");
        assert.deepEqual(config.auth, { htpasswd: { realm: "private-registry-dev registry", path: "/auth/htpasswd" } });
    });

    it("listens on :5000 only, sends nosniff, and has no debug listener to publish", () => {
        assert.equal(config.http.addr, ":5000");
        assert.deepEqual(config.http.headers["X-Content-Type-Options"], ["nosniff"]);
        assert.equal(config.http.debug, undefined);
    });

    it("keeps the http secret out of the file (it is a Pulumi secret, the file is not)", () => {
        assert.equal(config.http.secret, undefined);
        assert.doesNotMatch(text, /secret/i);
    });

    it("sets the log level and storage health check", () => {
        assert.equal(config.log.level, "warn");
        assert.equal(config.health.storagedriver.enabled, true);
    });
});

describe("UI environment renderer", () => {
    it("one origin: empty REGISTRY_URL, so the UI calls /v2/ on its own origin; no nginx-rewriting variables", () => {
        const env = renderUiEnvironment(defaults.ui, { kind: "one-origin", host: "localhost" }, 8443);
        assert.ok(env.includes("REGISTRY_URL="));
        assert.ok(env.includes("SINGLE_REGISTRY=true"));
        assert.ok(env.includes("DELETE_IMAGES=true"));
        assert.ok(env.includes("SHOW_CONTENT_DIGEST=true"));
        assert.ok(env.includes("CATALOG_ELEMENTS_LIMIT=1000"));
        assert.ok(!env.some((e) => e.startsWith("NGINX_")), "NGINX_* variables make joxit's entrypoint rewrite our config");
    });

    it("split domains: REGISTRY_URL is the registry origin with its port", () => {
        const env = renderUiEnvironment(defaults.ui, { kind: "split-domains", registryHost: "r.example.com", uiHost: "u.example.com" }, 8443);
        assert.ok(env.includes("REGISTRY_URL=https://r.example.com:8443"));
    });
});
