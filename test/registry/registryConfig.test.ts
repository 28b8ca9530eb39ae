import { strict as assert } from "node:assert";
import { parse } from "yaml";
import { renderRegistryConfig } from "../../components/registry/registryConfig";

describe("registry config renderer", () => {
    const text = renderRegistryConfig({ logLevel: "warn" });
    const config = parse(text);

    it("parses as YAML with distribution's schema version", () => {
        assert.equal(config.version, "0.1");
    });

    it("enables delete and filesystem storage on the volume path, and leaves authentication to the entrypoint", () => {
        assert.equal(config.storage.delete.enabled, true);
        assert.equal(config.storage.filesystem.rootdirectory, "/var/lib/registry");
        assert.equal(config.auth, undefined);
    });

    it("listens on :5000 only, sends nosniff, and has no debug listener to publish", () => {
        assert.equal(config.http.addr, ":5000");
        assert.deepEqual(config.http.headers["X-Content-Type-Options"], ["nosniff"]);
        assert.equal(config.http.debug, undefined);
    });

    it("with metrics, serves Prometheus metrics on the debug listener (never published: it also serves pprof)", () => {
        const withMetrics = parse(renderRegistryConfig({ logLevel: "warn", metrics: true }));
        assert.deepEqual(withMetrics.http.debug, { addr: ":5001", prometheus: { enabled: true, path: "/metrics" } });
        assert.equal(parse(renderRegistryConfig({ logLevel: "warn", metrics: false })).http.debug, undefined);
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
