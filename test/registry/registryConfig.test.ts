import { replicaUpstreamFiles } from "../../components/common/paths";
import { strict as assert } from "node:assert";
import { parse } from "yaml";
import { RegistryTransport, renderRegistryConfig, renderStorageConfig } from "../../components/registry/registryConfig";
import { RegistrySeries } from "../../components/registry/release";
import { S3Storage, StorageSettings } from "../../components/storage/config";

for (const series of Object.values(RegistrySeries)) describe(`registry config renderer (${series})`, () => {
    const filesystem: StorageSettings = { driver: "filesystem" };
    const s3: S3Storage = {
        driver: "s3", bucket: "acme-registry", region: "eu-central-1", endpoint: "http://10.0.0.7:7480", rootDirectory: "/registry",
        chunkSizeBytes: 32 * 1024 * 1024, redirect: false, credentials: { accessKey: "AKIAEXAMPLEACCESSKEY", secretKey: "example-secret-key-never-in-the-file" },
    };
    // Target docker's: replica 2's own socket.
    const transport: RegistryTransport = { kind: "unix", files: replicaUpstreamFiles(2) };
    const swarm: RegistryTransport = { kind: "tcp" };
    const text = renderRegistryConfig({ series, logLevel: "warn", storage: filesystem, transport });
    const config = parse(text);

    it("parses as YAML with distribution's schema version", () => {
        assert.equal(config.version, "0.1");
    });

    it("enables delete and filesystem storage on the volume path, and leaves authentication to the entrypoint", () => {
        assert.equal(config.storage.delete.enabled, true);
        assert.equal(config.storage.filesystem.rootdirectory, "/var/lib/registry");
        assert.equal(config.auth, undefined);
    });

    it("listens on its replica's unix socket only, sends nosniff, and keeps the debug listener on loopback", () => {
        assert.deepEqual({ net: config.http.net, addr: config.http.addr }, { net: "unix", addr: "/run/registry-upstreams/replica-2.sock" });
        assert.deepEqual(config.http.headers["X-Content-Type-Options"], ["nosniff"]);
        assert.deepEqual(config.http.debug, { addr: "127.0.0.1:5001" });
    });

    it("with metrics, serves them on the loopback debug listener (the replica relays them; pprof stays in the container)", () => {
        const withMetrics = parse(renderRegistryConfig({ series, logLevel: "warn", storage: filesystem, metrics: true, transport }));
        assert.deepEqual(withMetrics.http.debug, { addr: "127.0.0.1:5001", prometheus: { enabled: true, path: "/metrics" } });
        assert.deepEqual(parse(renderRegistryConfig({ series, logLevel: "warn", storage: filesystem, metrics: false, transport })).http.debug, { addr: "127.0.0.1:5001" });
    });

    it("on a swarm, listens on TCP :5000 on the private network with mutual TLS; the debug listener stays on loopback, metrics or not", () => {
        const tcp = parse(renderRegistryConfig({ series, logLevel: "warn", storage: filesystem, transport: swarm }));
        assert.deepEqual({ net: tcp.http.net, addr: tcp.http.addr, debug: tcp.http.debug }, { net: undefined, addr: ":5000", debug: { addr: "127.0.0.1:5001" } });
        // clientcas, without clientauth: both series then require a client certificate and verify it (test/registry/linkTls.test.ts).
        assert.deepEqual(tcp.http.tls, { certificate: "/etc/registry-link/server.crt", key: "/etc/registry-link/server.key", clientcas: ["/etc/registry-link/clients-ca.crt"] });
        assert.equal(config.http.tls, undefined, "target docker's socket: no TLS");
        const withMetrics = parse(renderRegistryConfig({ series, logLevel: "warn", storage: filesystem, metrics: true, transport: swarm }));
        assert.deepEqual(withMetrics.http.debug, { addr: "127.0.0.1:5001", prometheus: { enabled: true, path: "/metrics" } }, "relayed by the task (relayScript.ts); pprof never leaves it");
    });

    it("with s3, renders distribution's s3 parameters (path-style under the endpoint, TLS from the scheme) and no filesystem", () => {
        const withS3 = parse(renderRegistryConfig({ series, logLevel: "warn", storage: s3, transport }));
        assert.deepEqual(withS3.storage.s3, {
            bucket: "acme-registry", region: "eu-central-1", regionendpoint: "http://10.0.0.7:7480", secure: false, rootdirectory: "/registry", chunksize: 33554432,
            // 2.8 addresses a regionendpoint path-style by itself; 3.x virtual-host style unless told.
            ...(series === RegistrySeries.V2_8 ? {} : { forcepathstyle: true }),
        });
        assert.equal(withS3.storage.filesystem, undefined);
        // Layers flow through the registry unless asked: clients may not reach a private store.
        assert.deepEqual(withS3.storage.redirect, { disable: true });
        assert.deepEqual(parse(renderRegistryConfig({ series, logLevel: "warn", storage: { ...s3, redirect: true }, transport })).storage.redirect, { disable: false });
        assert.equal(config.storage.redirect, undefined);
        assert.equal(withS3.storage.delete.enabled, true);
        const aws = parse(renderRegistryConfig({ series, logLevel: "warn", storage: { ...s3, endpoint: undefined, rootDirectory: undefined }, transport }));
        assert.deepEqual(aws.storage.s3, { bucket: "acme-registry", region: "eu-central-1", secure: true, chunksize: 33554432 });
        assert.equal(parse(renderRegistryConfig({ series, logLevel: "warn", storage: { ...s3, endpoint: "https://s3.example.com" }, transport })).storage.s3.secure, true);
    });

    it("uses no blob-descriptor cache, or the shared Redis one, never the in-memory one", () => {
        assert.deepEqual(config.storage.cache, {});
        assert.equal(config.redis, undefined);
        const withRedis = parse(renderRegistryConfig({ series, logLevel: "warn", storage: s3, cache: "redis", transport }));
        assert.deepEqual(withRedis.storage.cache, { blobdescriptor: "redis" });
        // 2.8: redigo's pool; 3.x: go-redis's UniversalOptions (a 2.8-style section stops it at start).
        assert.deepEqual(withRedis.redis, series === RegistrySeries.V2_8
            ? { addr: "redis:6379", db: 0, dialtimeout: "1s", readtimeout: "500ms", writetimeout: "500ms", pool: { maxidle: 16, maxactive: 64, idletimeout: "300s" } }
            : { addrs: ["redis:6379"], db: 0, dialtimeout: "1s", readtimeout: "500ms", writetimeout: "500ms", poolsize: 64, maxidleconns: 16, connmaxidletime: "300s" });
        // The collector needs no cache: a cache change does not touch it.
        assert.deepEqual(parse(renderStorageConfig(s3, series)).storage.cache, {});
    });

    it("keeps the S3 keys out of the registry's and the collector's files (they come as secret environment)", () => {
        for (const rendered of [renderRegistryConfig({ series, logLevel: "warn", storage: s3, transport }), renderStorageConfig(s3, series)]) {
            assert.doesNotMatch(rendered, /AKIAEXAMPLEACCESSKEY|example-secret-key|accesskey|secretkey/i);
        }
        assert.deepEqual(parse(renderStorageConfig(s3, series)).storage.s3.bucket, "acme-registry");
    });

    it("keeps the http secret out of the file (it is a Pulumi secret, the file is not)", () => {
        assert.equal(config.http.secret, undefined);
        assert.doesNotMatch(text, /secret/i);
    });

    it("sets the log level and storage health check", () => {
        assert.equal(config.log.level, "warn");
        assert.equal(config.health.storagedriver.enabled, true);
        // Unhealthy within 2 s: before the engine's first probe, so no broken replica counts as healthy.
        assert.equal(config.health.storagedriver.interval, "1s");
        assert.equal(config.health.storagedriver.threshold, 2);
    });
});
