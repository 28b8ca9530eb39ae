/**
 * Every key of every config.yml the program renders is one the targeted registry release
 * reads: distribution ignores an unknown key silently, so a misspelt or wrong-release key
 * would pass every other test and change nothing. The keys each release reads are fixtures
 * generated from its source (scripts/registryConfigKeys.sh).
 */
import { strict as assert } from "node:assert";
import { parse, stringify } from "yaml";
import { CACHE_DRIVERS } from "../../components/cache/config";
import { replicaUpstreamFiles } from "../../components/common/paths";
import { LogLevel } from "../../components/registry/config";
import { RegistryConfigOptions, RegistryTransport, renderRegistryConfig, renderStorageConfig } from "../../components/registry/registryConfig";
import { RegistrySeries } from "../../components/registry/release";
import { S3Storage, StorageSettings } from "../../components/storage/config";
import { registryConfigKeys, RegistryKeysVersion, unknownKeys } from "../../testkit/registryConfigKeys";

const s3: S3Storage = {
    driver: "s3", bucket: "acme-registry", region: "eu-central-1", endpoint: "http://10.0.0.7:7480", rootDirectory: "/registry",
    chunkSizeBytes: 32 * 1024 * 1024, redirect: false, credentials: { accessKey: "AKIAEXAMPLEACCESSKEY", secretKey: "example-secret-key" },
};

/** Each way the storage section differs. */
const storages: Record<string, StorageSettings> = {
    "filesystem": { driver: "filesystem" },
    "s3 with endpoint and root directory": s3,
    "s3 on AWS, at the bucket's root": { ...s3, endpoint: undefined, rootDirectory: undefined },
    "s3 over https, redirecting": { ...s3, endpoint: "https://s3.example.com", redirect: true },
    "s3 without credentials": { ...s3, credentials: undefined },
};

type OtherOptions = Omit<RegistryConfigOptions, "series">;

/** Target docker's unix socket, and a swarm's TCP. */
const TRANSPORTS: RegistryTransport[] = [{ kind: "unix", files: replicaUpstreamFiles(1) }, { kind: "tcp" }];

/** Every combination of the other options, over one storage. */
function optionsOver(storage: StorageSettings): OtherOptions[] {
    return Object.values(LogLevel).flatMap((logLevel) => CACHE_DRIVERS.flatMap((cache) =>
        [false, true].flatMap((metrics) => TRANSPORTS.map((transport) => ({ logLevel, storage, cache, metrics, transport })))));
}

/** The registry's config.yml and the collector's storage-only one, for one series. */
function renderFor(series: RegistrySeries): (options: OtherOptions) => string[] {
    return (options) => [renderRegistryConfig({ ...options, series }), renderStorageConfig(options.storage, series)];
}

/** Each release there are keys for, and how the program renders for it. */
const targets: { version: RegistryKeysVersion; render: (options: OtherOptions) => string[] }[] = [
    { version: "2.8.2", render: renderFor(RegistrySeries.V2_8) },
    { version: "3.1.1", render: renderFor(RegistrySeries.V3_1) },
];

for (const { version, render } of targets) {
    describe(`registry config keys: every key rendered for distribution ${version} is one it reads`, () => {
        for (const [name, storage] of Object.entries(storages)) {
            it(`${name}, every log level, cache and metrics setting`, () => {
                const unknown = optionsOver(storage).flatMap((options) => render(options).flatMap((rendered) =>
                    unknownKeys(rendered, version).map((key) => `${key} (${options.logLevel}, cache ${options.cache}, metrics ${options.metrics})`)));
                assert.deepEqual(unknown, []);
            });
        }
    });
}

describe("registry config keys: the fixtures", () => {
    it("3.1.1 has its own keys (go-redis options, forcepathstyle) and not 2.8's redis ones", () => {
        const keys = registryConfigKeys("3.1.1").keys;
        for (const key of ["redis.addrs", "redis.poolsize", "redis.tls.certificate", "storage.s3.forcepathstyle", "http.draintimeout",
            "proxy.ttl", "storage.tag.concurrencylimit", "storage.maintenance.uploadpurging.age", "http.headers.*"]) {
            assert.ok(keys.includes(key), key);
        }
        for (const key of ["redis.addr", "redis.pool.maxidle", "reporting.bugsnag.apikey"]) assert.ok(!keys.includes(key), key);
        assert.match(registryConfigKeys("3.1.1").source.sha256, /^29fadf8db38f66b5/);
    });

    it("2.8.2 has 2.8's redis keys and no forcepathstyle, from Debian's source package", () => {
        const keys = registryConfigKeys("2.8.2").keys;
        for (const key of ["redis.addr", "redis.pool.maxidle", "storage.s3.regionendpoint", "http.draintimeout"]) assert.ok(keys.includes(key), key);
        for (const key of ["redis.addrs", "storage.s3.forcepathstyle", "proxy.ttl"]) assert.ok(!keys.includes(key), key);
        assert.match(registryConfigKeys("2.8.2").source.debianPackage, /^golang-github-docker-distribution-dev 2\.8\.2\+/);
    });

    it("are sorted and free of duplicates (the generator's output, unedited)", () => {
        for (const version of ["2.8.2", "3.1.1"] as const) {
            const keys = registryConfigKeys(version).keys;
            assert.deepEqual(keys, [...new Set(keys)].sort(), version);
        }
    });
});

describe("registry config keys: the check", () => {
    const rendered = renderRegistryConfig({ series: RegistrySeries.V2_8, logLevel: "info", storage: s3, cache: "redis", metrics: true, transport: { kind: "unix", files: replicaUpstreamFiles(1) } });

    it("reports a key in the wrong case (yaml.v2 matches keys exactly)", () => {
        const misspelt = rendered.replace("draintimeout:", "drainTimeout:");
        assert.notEqual(misspelt, rendered);
        assert.deepEqual(unknownKeys(misspelt, "2.8.2"), ["http.drainTimeout"]);
    });

    it("reports 2.8's redis section against 3.1.1, which reads go-redis options, and 3.1's against 2.8.2", () => {
        assert.deepEqual(unknownKeys(rendered, "3.1.1"), ["redis.addr", "redis.pool.maxidle", "redis.pool.maxactive", "redis.pool.idletimeout"]);
        const threeStyle = { ...parse(rendered), redis: { addrs: ["redis:6379"], db: 0, poolsize: 64, maxidleconns: 16, connmaxidletime: "300s" } };
        assert.deepEqual(unknownKeys(stringify(threeStyle), "3.1.1"), []);
        assert.deepEqual(unknownKeys(stringify(threeStyle), "2.8.2"), ["redis.addrs", "redis.poolsize", "redis.maxidleconns", "redis.connmaxidletime"]);
    });

    it("reports forcepathstyle against 2.8.2, and another driver's section", () => {
        const document = parse(rendered);
        document.storage.s3.forcepathstyle = true;
        assert.deepEqual(unknownKeys(stringify(document), "2.8.2"), ["storage.s3.forcepathstyle"]);
        assert.deepEqual(unknownKeys(stringify(document), "3.1.1").filter((key) => key.startsWith("storage.")), []);
        assert.deepEqual(unknownKeys(stringify({ version: "0.1", storage: { gcs: { bucket: "b" } } }), "2.8.2"), ["storage.gcs.bucket"]);
    });

    it("takes free-form maps and lists by their notation, and empty sections by name", () => {
        const free = {
            http: { headers: { "X-Anything": ["a", "b"] } },
            log: { fields: { service: "registry", nested: { deep: 1 } } },
            notifications: { endpoints: [{ name: "a", url: "http://x", headers: { Authorization: ["t"] } }] },
            storage: { cache: {}, delete: { enabled: true } },
            auth: { htpasswd: { realm: "r", path: "/p" } },
        };
        assert.deepEqual(unknownKeys(stringify(free), "2.8.2"), []);
        const wrong = { notifications: { endpoints: [{ nmae: "a" }] }, http: { headers: "nosniff", debug: { addr: { port: 1 } } }, storage: { cache: "redis" } };
        assert.deepEqual(unknownKeys(stringify(wrong), "2.8.2"),
            ["notifications.endpoints[].nmae", "http.headers", "http.debug.addr.port", "storage.cache"]);
    });
});
