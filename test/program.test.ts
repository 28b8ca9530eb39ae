/**
 * The whole program (index.ts) under the Pulumi mock runtime: the resource graph for each
 * topology and TLS mode, every security-relevant input, secrets, and determinism.
 */
import { strict as assert } from "node:assert";
import bcrypt from "bcryptjs";
import { parse } from "yaml";
import { makeCertificate, TestCertificate } from "../testkit/selfSignedCertificate";
import { ProgramRun, RecordedResource, runProgram, secretPaths, StackConfigValues } from "../testkit/mockProgram";
import { waitForRegistrations } from "../testkit/program";
import { requireTool } from "../testkit/requireTool";

const T = {
    stack: "pulumi:pulumi:Stack",
    component: "private-registry:index:PrivateRegistry",
    network: "docker:index/network:Network",
    volume: "docker:index/volume:Volume",
    image: "docker:index/remoteImage:RemoteImage",
    container: "docker:index/container:Container",
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSigned: "tls:index/selfSignedCert:SelfSignedCert",
    certRequest: "tls:index/certRequest:CertRequest",
    locallySigned: "tls:index/locallySignedCert:LocallySignedCert",
    password: "random:index/randomPassword:RandomPassword",
    bytes: "random:index/randomBytes:RandomBytes",
};

const chosenPassword = "ci-bot-chosen-password-0001";
const oneOriginConfig: StackConfigValues = {
    host: "localhost",
    httpsPort: "8443",
    httpPort: "8080",
    bindAddress: "127.0.0.1",
    users: JSON.stringify([{ name: "admin" }, { name: "ci-bot", password: chosenPassword }]),
};
const splitConfig: StackConfigValues = {
    topology: "split-domains",
    registryHost: "registry.example.com",
    uiHost: "ui.example.com",
    users: JSON.stringify([{ name: "admin" }]),
    cors: JSON.stringify({ allowedOrigins: ["https://tools.example.com"] }),
};

const name = "private-registry-test";
const container = (run: ProgramRun, role: "registry" | "ui" | "ui-nginx" | "users" | "maintenance") => run.byName(`${name}-${role}`);
type Upload = { file: string; content: string; permissions?: string };
const upload = (resource: RecordedResource, file: string): Upload => {
    const found = (resource.inputs.uploads as Upload[]).find((u) => u.file === file);
    assert.ok(found, `${resource.name} uploads no ${file}`);
    return found;
};

function typeNames(run: ProgramRun): string[] {
    return run.resources.map((r) => `${r.type} ${r.name}`).sort();
}

describe("program under the mock runtime", () => {
    let providedCert: TestCertificate;
    before(function () {
        requireTool(this, "openssl", "openssl");
        providedCert = makeCertificate({ dnsNames: ["localhost"] });
    });

    describe("one origin, self-signed TLS", () => {
        let run: ProgramRun;
        before(async () => {
            run = await runProgram(oneOriginConfig);
        });

        it("creates exactly the expected resources, all children of one component", () => {
            assert.deepEqual(typeNames(run), [
                `${T.component} ${name}`,
                `${T.container} ${name}-maintenance`,
                `${T.container} ${name}-registry`,
                `${T.container} ${name}-ui`,
                `${T.container} ${name}-ui-nginx`,
                `${T.container} ${name}-users`,
                `${T.image} ${name}-registry-image`,
                `${T.image} ${name}-ui-image`,
                `${T.network} ${name}-network`,
                `${T.volume} ${name}-access`,
                `${T.volume} ${name}-data`,
                `${T.volume} ${name}-front`,
                `${T.volume} ${name}-maintenance-state`,
                `${T.volume} ${name}-upstreams`,
                `${T.stack} ${name}`,
                `${T.bytes} ${name}-htpasswd-salt`,
                `${T.password} ${name}-http-secret`,
                `${T.password} ${name}-password-admin`,
                `${T.certRequest} ${name}-server-csr`,
                `${T.locallySigned} ${name}-server-cert`,
                `${T.privateKey} ${name}-ca-key`,
                `${T.privateKey} ${name}-server-key`,
                `${T.selfSigned} ${name}-ca`,
            ].sort());
            for (const r of run.resources) {
                if (r.type === T.stack || r.type === T.component) continue;
                // By type too: the stack and the component share the name.
                assert.deepEqual([r.options.parent, r.options.parentType], [name, T.component], `${r.name} must be a child of the component`);
            }
            // No explicit parent: the SDK makes the stack its parent.
            assert.equal(run.ofType(T.component)[0].options.parentType, T.stack);
        });

        it("runs garbage collection from the registry's image in a maintenance container: no network, no Docker socket, the data volume and a state volume the entrypoint reads", () => {
            const maintenance = run.byName(`${name}-maintenance`);
            assert.equal(maintenance.inputs.image, container(run, "registry").inputs.image);
            assert.equal(maintenance.inputs.networkMode, "none");
            assert.deepEqual(maintenance.inputs.command, ["sh", "-c", "/maintenance/gc.sh recover; exec crond -f -c /maintenance/crontabs"]);
            assert.equal(maintenance.inputs.init, true);
            // Healthy while crond runs, the job's only runner: what `up` waits for, and what `docker ps` shows.
            assert.deepEqual(maintenance.inputs.healthcheck, { tests: ["CMD", "pidof", "crond"], interval: "10s", timeout: "5s", retries: 3, startPeriod: "5s" });
            assert.deepEqual(maintenance.inputs.volumes, [
                { volumeName: `${name}-data`, containerPath: "/var/lib/registry" },
                { volumeName: `${name}-maintenance-state`, containerPath: "/run/registry-maintenance" },
            ]);
            assert.ok(!JSON.stringify(maintenance.inputs).includes("docker.sock"));
            assert.deepEqual((maintenance.inputs.capabilities as { adds: string[] }).adds, ["SETGID", "SETUID"]);
            assert.match(upload(maintenance, "/maintenance/crontabs/root").content, /^30 3 \* \* \* GC_TRIGGER=schedule \/maintenance\/gc\.sh run/m);
            assert.equal(upload(maintenance, "/maintenance/gc.sh").permissions, "0755");
            // The collector reads the registry's storage settings, and only those.
            const registryConfig = parse(upload(container(run, "registry"), "/etc/distribution/config.yml").content);
            assert.deepEqual(parse(upload(maintenance, "/etc/distribution/config.yml").content), { version: registryConfig.version, storage: registryConfig.storage });
            assert.deepEqual(container(run, "ui-nginx").inputs.volumes, [
                { volumeName: `${name}-access`, containerPath: "/run/registry-access", readOnly: true },
                { volumeName: `${name}-front`, containerPath: "/run/registry-front" },
                { volumeName: `${name}-maintenance-state`, containerPath: "/run/registry-maintenance", readOnly: true },
                { volumeName: `${name}-upstreams`, containerPath: "/run/registry-upstreams", readOnly: true },
            ]);
            assert.equal(run.outputs.gcCommand, `docker exec ${name}-maintenance /maintenance/gc.sh run`);
        });

        it("keeps the data volume on destroy, by its fixed name", () => {
            const volume = run.byName(`${name}-data`);
            assert.equal(volume.options.retainOnDelete, true);
            assert.equal(volume.inputs.name, `${name}-data`);
            assert.deepEqual(container(run, "registry").inputs.volumes, [
                { volumeName: `${name}-upstreams`, containerPath: "/run/registry-upstreams" },
                { volumeName: `${name}-data`, containerPath: "/var/lib/registry" },
            ]);
            assert.equal(run.outputs.volumeName, `${name}-data`);
            // The sockets' volume holds nothing to keep, and is not kept.
            assert.equal(run.byName(`${name}-upstreams`).options.retainOnDelete, undefined);
        });

        it("pins images, keeps them locally, and runs containers from their image ids", () => {
            const registryImage = run.byName(`${name}-registry-image`);
            const uiImage = run.byName(`${name}-ui-image`);
            assert.deepEqual(registryImage.inputs, { name: "registry:3.1.1", keepLocally: true });
            assert.deepEqual(uiImage.inputs, { name: "joxit/docker-registry-ui:2.6.0", keepLocally: true });
            assert.match(String(container(run, "registry").inputs.image), /^sha256:[0-9a-f]{64}$/);
            assert.notEqual(container(run, "registry").inputs.image, container(run, "ui-nginx").inputs.image);
        });

        it("publishes only the UI container, on the bind address, HTTPS and the HTTP redirect", () => {
            assert.equal(container(run, "registry").inputs.ports, undefined);
            assert.deepEqual(container(run, "ui").inputs.ports, [
                { internal: 80, external: 8080, ip: "127.0.0.1", protocol: "tcp" },
                { internal: 443, external: 8443, ip: "127.0.0.1", protocol: "tcp" },
            ]);
        });

        it("puts nginx behind a front: the ui container holds the ports and forwards each to nginx's socket; nginx has no network, is replaced create-first, named by the provider", async () => {
            const front = container(run, "ui");
            const nginx = container(run, "ui-nginx");
            assert.deepEqual([front.inputs.entrypoints, front.inputs.command], [["nginx"], ["-c", "/etc/nginx/front.conf", "-g", "daemon off;"]]);
            const frontConfig = upload(front, "/etc/nginx/front.conf").content;
            // Plain HTTP (its health check) and HTTPS; no metrics port without metrics.port.
            assert.deepEqual([...frontConfig.matchAll(/server \{ listen (\d+); proxy_pass (\S+); \}/g)].map((m) => [m[1], m[2]]), [
                ["80", "unix:/run/registry-front/80.sock"], ["443", "unix:/run/registry-front/443.sock"],
            ]);
            assert.match(frontConfig, /^\s*proxy_protocol on;$/m);
            assert.deepEqual(front.inputs.volumes, [{ volumeName: `${name}-front`, containerPath: "/run/registry-front", readOnly: true }]);
            assert.deepEqual((front.inputs.capabilities as { adds: string[] }).adds, ["NET_BIND_SERVICE", "SETGID", "SETUID"]);
            assert.equal(front.inputs.envs, undefined);
            // Its image does not matter: an upgrade of the UI's must not replace it.
            assert.equal(front.inputs.image, nginx.inputs.image);
            assert.deepEqual(front.options.ignoreChanges, ["image"]);
            assert.deepEqual(front.options.dependsOn, [`${name}-ui-nginx`]);
            // nginx: sockets only, in a folder of its own in the front's volume.
            assert.deepEqual([nginx.inputs.ports, nginx.inputs.networksAdvanced, nginx.inputs.networkMode], [undefined, undefined, "none"]);
            const site = upload(nginx, "/etc/nginx/conf.d/default.conf").content;
            assert.match(site, /listen unix:\/run\/registry-front-listen\/443\.sock ssl proxy_protocol default_server;/);
            assert.match(site, /listen unix:\/run\/registry-front-listen\/80\.sock proxy_protocol default_server;/);
            assert.match(site, /listen 127\.0\.0\.1:80 default_server;/);
            assert.match(site, /^set_real_ip_from unix:;$/m);
            assert.deepEqual(nginx.inputs.healthcheck && (nginx.inputs.healthcheck as { tests: string[] }).tests,
                ["CMD", "/bin/sh", "/usr/local/bin/entrypoint-upstreams", "--health"]);
            assert.equal(nginx.options.deleteBeforeReplace, false);
            assert.deepEqual(nginx.options.ignoreChanges ?? [], []);
            // No name of its own: the provider's (`<name>-<7 hex>`), new at each replacement, so the
            // next one can start beside it; the front's is fixed.
            assert.ok(!("name" in nginx.inputs), `nginx is named ${String(nginx.inputs.name)}`);
            assert.equal(front.inputs.name, `${name}-ui`);
            // A change to nginx's inputs leaves the front unchanged.
            const retitledRun = await runProgram({ ...oneOriginConfig, ui: JSON.stringify({ title: "Other" }) });
            const retitled = container(retitledRun, "ui-nginx");
            assert.notDeepEqual(retitled.inputs.envs, nginx.inputs.envs);
            assert.deepEqual(container(retitledRun, "ui").inputs, front.inputs);
        });

        it("puts both containers on the private network without a name to reach the registry by: it listens on its socket only", () => {
            const network = run.byName(`${name}-network`);
            assert.equal(network.inputs.driver, "bridge");
            assert.deepEqual(container(run, "registry").inputs.networksAdvanced, [{ name: `${name}-network` }]);
            assert.deepEqual(container(run, "ui").inputs.networksAdvanced, [{ name: `${name}-network` }]);
            const config = parse(upload(container(run, "registry"), "/etc/distribution/config.yml").content);
            assert.deepEqual([config.http.net, config.http.addr], ["unix", "/run/registry-upstreams/replica-1.sock"]);
        });

        it("runs the registry under its supervisor, and nginx under the upstreams watcher, each with the image's own command", () => {
            const registry = container(run, "registry");
            assert.deepEqual(registry.inputs.entrypoints, ["/bin/sh", "/usr/local/bin/registry-serve"]);
            assert.deepEqual(registry.inputs.command, ["registry", "serve", "/etc/distribution/config.yml"]);
            assert.equal(upload(registry, "/usr/local/bin/registry-serve").permissions, "0755");
            assert.match(upload(registry, "/usr/local/bin/registry-serve").content, /^SOCKET=\/run\/registry-upstreams\/replica-1\.sock$/m);
            const ui = container(run, "ui-nginx");
            assert.deepEqual(ui.inputs.entrypoints, ["/bin/sh", "/usr/local/bin/entrypoint-upstreams"]);
            assert.deepEqual(ui.inputs.command, ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]);
            assert.equal(upload(ui, "/usr/local/bin/entrypoint-upstreams").permissions, "0755");
            const nginx = upload(ui, "/etc/nginx/conf.d/default.conf").content;
            assert.match(nginx, /^ {4}include \/run\/registry-upstreams\/replica-\*\.conf;$/m);
        });

        it("configures the registry: no auth of its own (the entrypoint's), delete on, nosniff, secret from env", () => {
            const registry = container(run, "registry");
            const config = parse(upload(registry, "/etc/distribution/config.yml").content);
            assert.equal(config.auth, undefined);
            assert.deepEqual((registry.inputs.uploads as Upload[]).map((u) => u.file), ["/etc/distribution/config.yml", "/usr/local/bin/registry-health", "/usr/local/bin/registry-serve"]);
            assert.equal(config.storage.delete.enabled, true);
            assert.deepEqual(config.http.headers["X-Content-Type-Options"], ["nosniff"]);
            const envs = registry.inputs.envs as string[];
            assert.equal(envs.length, 2);
            assert.match(envs[0], /^REGISTRY_HTTP_SECRET=[A-Za-z0-9]{64}$/);
            // 3.x would export traces to an OTLP collector that is not there.
            assert.equal(envs[1], "OTEL_TRACES_EXPORTER=none");
        });

        it("installs the users for nginx from a users container: no network, no capabilities, the access volume the entrypoint reads", () => {
            const users = container(run, "users");
            assert.equal(users.inputs.image, container(run, "registry").inputs.image);
            assert.equal(users.inputs.networkMode, "none");
            assert.equal((users.inputs.capabilities as { adds?: string[] }).adds, undefined);
            assert.deepEqual(users.inputs.volumes, [{ volumeName: `${name}-access`, containerPath: "/run/registry-access" }]);
            assert.deepEqual(users.inputs.command, ["sh", "/access-source/install.sh"]);
            assert.deepEqual((users.inputs.healthcheck as { tests: string[] }).tests, ["CMD", "sh", "/access-source/install.sh", "check"]);
            assert.equal((users.inputs.healthcheck as { startPeriod: string }).startPeriod, "5s");
            // The script's sleep as PID 1 would ignore SIGTERM: docker's init stops it at once.
            assert.equal(users.inputs.init, true);
            assert.equal(users.inputs.stopSignal, "SIGTERM");
            // Generated passwords: letters and digits only (they go into shell commands and URLs), 32 of them.
            assert.deepEqual(run.byName(`${name}-password-admin`).inputs, { length: 32, special: false, minUpper: 1, minLower: 1, minNumeric: 1 });
            const htpasswd = upload(users, "/access-source/htpasswd");
            assert.equal(htpasswd.permissions, "0400");
            assert.deepEqual(htpasswd.content.trimEnd().split("\n").map((l) => l.split(":")[0]), ["admin", "ci-bot"]);
            assert.match(htpasswd.content, /^admin:\$2y\$05\$/);
            // No access set: both are admins of every repository, as before roles existed.
            assert.equal(upload(users, "/access-source/grants").content, [
                "admin/delete/*", "admin/pull/*", "admin/push/*", "ci-bot/delete/*", "ci-bot/pull/*", "ci-bot/push/*", "",
            ].join("\n"));
            const nginx = upload(container(run, "ui-nginx"), "/etc/nginx/conf.d/default.conf").content;
            assert.match(nginx, /auth_basic_user_file \/run\/registry-access\/current\/htpasswd;/);
            assert.match(nginx, /auth_basic "private-registry-test registry";/);
            assert.deepEqual(container(run, "ui-nginx").options.dependsOn, [`${name}-registry`, `${name}-users`]);
        });

        it("uploads our nginx config (TLS 1.2/1.3, /v2/ proxy) and the certificate chain to the UI container", () => {
            const ui = container(run, "ui-nginx");
            const nginx = upload(ui, "/etc/nginx/conf.d/default.conf").content;
            assert.match(nginx, /ssl_protocols TLSv1\.2 TLSv1\.3;/);
            assert.match(nginx, /server_name localhost;/);
            assert.match(nginx, /return 301 https:\/\/localhost:8443\$request_uri;/);
            assert.match(nginx, /proxy_pass \$registry_or_paused\$registry_proxied_uri;/);
            const chain = upload(ui, "/etc/nginx/certs/server.crt").content;
            assert.equal(chain.match(/BEGIN CERTIFICATE/g)?.length, 2, "leaf and CA");
            assert.equal(upload(ui, "/etc/nginx/certs/server.key").permissions, "0400");
            const env = ui.inputs.envs as string[];
            assert.ok(env.includes("REGISTRY_URL="));
            assert.ok(env.includes("DELETE_IMAGES=true"));
            assert.ok(!env.some((e) => e.startsWith("NGINX_")));
        });

        it("hardens every container", () => {
            for (const role of ["registry", "ui", "ui-nginx", "users", "maintenance"] as const) {
                const c = container(run, role);
                assert.equal(c.inputs.restart, "unless-stopped");
                assert.deepEqual(c.inputs.securityOpts, ["no-new-privileges:true"]);
                assert.equal(c.inputs.logDriver, "json-file");
                assert.deepEqual(c.inputs.logOpts, { "max-size": "10m", "max-file": "3" });
                assert.deepEqual((c.inputs.capabilities as { drops: string[] }).drops, ["ALL"]);
                const healthcheck = c.inputs.healthcheck as { tests: string[]; interval: string; timeout: string; retries: number };
                assert.equal(healthcheck.tests[0], "CMD");
                // Unhealthy after 3 failed checks of 5 s each, 10 s apart: what `wait` and the replacement drain wait for.
                assert.deepEqual([healthcheck.interval, healthcheck.timeout, healthcheck.retries], ["10s", "5s", 3]);
                assert.equal(c.inputs.wait, true);
                if (role !== "ui-nginx") assert.equal(c.options.deleteBeforeReplace, true, `${role}: fixed name and ports need delete-before-replace`);
                assert.deepEqual(c.options.replaceOnChanges, ["healthcheck"], `${role}: the provider ignores healthcheck updates`);
                assert.equal((c.inputs.labels as { label: string; value: string }[]).find((l) => l.label === "private-registry.role")?.value, role);
            }
            assert.equal((container(run, "registry").inputs.capabilities as { adds?: string[] }).adds, undefined);
            assert.deepEqual((container(run, "ui-nginx").inputs.capabilities as { adds: string[] }).adds, ["CHOWN", "DAC_OVERRIDE", "NET_BIND_SERVICE", "SETGID", "SETUID"]);
        });

        it("issues a CA and a server certificate for the host", () => {
            assert.equal(run.byName(`${name}-ca`).inputs.isCaCertificate, true);
            assert.deepEqual(run.byName(`${name}-server-csr`).inputs.dnsNames, ["localhost"]);
            assert.deepEqual(run.byName(`${name}-server-cert`).inputs.allowedUses, ["digital_signature", "key_encipherment", "server_auth"]);
            assert.equal(run.byName(`${name}-server-cert`).inputs.validityPeriodHours, 365 * 24);
            assert.match(String(run.outputs.caCertificate), /BEGIN CERTIFICATE/);
        });

        it("exports URLs, the certs.d path, users, a login command and the volume", () => {
            assert.equal(run.outputs.registryUrl, "https://localhost:8443");
            assert.equal(run.outputs.uiUrl, "https://localhost:8443/");
            assert.equal(run.outputs.registryAddress, "localhost:8443");
            assert.equal(run.outputs.caCertificatePath, "/etc/docker/certs.d/localhost:8443/ca.crt");
            assert.deepEqual(run.outputs.userNames, ["admin", "ci-bot"]);
            assert.deepEqual(Object.keys(run.outputs.generatedPasswords as object), ["admin"]);
            assert.match(String(run.outputs.dockerLoginCommand), /docker login localhost:8443 --username admin --password-stdin$/);
        });

        it("keeps every password, key, htpasswd and the http secret secret", () => {
            assert.deepEqual([...run.secretOutputs], ["generatedPasswords"]);
            const registry = container(run, "registry");
            assert.ok(secretPaths(registry.rawInputs).includes("envs"), "http secret env");
            assert.ok(secretPaths(container(run, "users").rawInputs).some((p) => p.startsWith("uploads")), "htpasswd upload");
            assert.ok(secretPaths(container(run, "ui-nginx").rawInputs).some((p) => p.startsWith("uploads")), "private key upload");
            assert.ok(secretPaths(run.byName(`${name}-server-cert`).rawInputs).includes("caPrivateKeyPem"));
            assert.ok(secretPaths(run.byName(`${name}-server-csr`).rawInputs).includes("privateKeyPem"));
        });

        it("never sends a secret value in plaintext: not in any non-secret input, not in any output", () => {
            const generated = (run.outputs.generatedPasswords as Record<string, string>).admin;
            const httpSecret = (container(run, "registry").inputs.envs as string[])[0].split("=")[1];
            const serverKey = String(run.byName(`${name}-server-csr`).inputs.privateKeyPem);
            const secrets = [chosenPassword, generated, httpSecret, serverKey.split("\n")[1]];
            for (const resource of run.resources) {
                const plain = JSON.stringify(withoutSecretValues(resource.rawInputs));
                for (const secret of secrets) assert.ok(!plain.includes(secret), `${resource.name} carries a secret in plaintext`);
            }
            const publicOutputs = Object.entries(run.outputs).filter(([key]) => !run.secretOutputs.has(key));
            for (const secret of secrets) assert.ok(!JSON.stringify(publicOutputs).includes(secret));
        });
    });

    describe("split domains", () => {
        let run: ProgramRun;
        before(async () => {
            run = await runProgram(splitConfig);
        });

        it("issues one certificate for both host names", () => {
            assert.deepEqual(run.byName(`${name}-server-csr`).inputs.dnsNames, ["registry.example.com", "ui.example.com"]);
        });

        it("renders two server blocks on one port with CORS for the UI origin and the allow-list", () => {
            const nginx = upload(container(run, "ui-nginx"), "/etc/nginx/conf.d/default.conf").content;
            assert.match(nginx, /server_name registry\.example\.com;/);
            assert.match(nginx, /server_name ui\.example\.com;/);
            assert.match(nginx, /"https:\/\/ui\.example\.com" \$http_origin;/);
            assert.match(nginx, /"https:\/\/tools\.example\.com" \$http_origin;/);
            assert.match(nginx, /return 204;/);
            assert.deepEqual(container(run, "ui").inputs.ports, [
                { internal: 80, external: 80, ip: "0.0.0.0", protocol: "tcp" },
                { internal: 443, external: 443, ip: "0.0.0.0", protocol: "tcp" },
            ]);
        });

        it("points the UI at the registry origin and exports both URLs", () => {
            assert.ok((container(run, "ui-nginx").inputs.envs as string[]).includes("REGISTRY_URL=https://registry.example.com"));
            assert.equal(run.outputs.registryUrl, "https://registry.example.com");
            assert.equal(run.outputs.uiUrl, "https://ui.example.com/");
            assert.equal(run.outputs.caCertificatePath, "/etc/docker/certs.d/registry.example.com/ca.crt");
        });
    });

    describe("provided certificate", () => {
        let run: ProgramRun;
        before(async () => {
            run = await runProgram({
                ...oneOriginConfig,
                httpPort: "0",
                tls: JSON.stringify({ mode: "provided", certificate: providedCert.certificatePem, privateKey: providedCert.privateKeyPem }),
            });
        });

        it("creates no TLS resources and uploads the given certificate and key", () => {
            assert.equal(run.resources.filter((r) => r.type.startsWith("tls:")).length, 0);
            const ui = container(run, "ui-nginx");
            assert.equal(upload(ui, "/etc/nginx/certs/server.crt").content, providedCert.certificatePem);
            assert.equal(upload(ui, "/etc/nginx/certs/server.key").content, providedCert.privateKeyPem);
            assert.equal(run.outputs.caCertificate, "");
        });

        it("keeps the provided key secret and publishes no HTTP port when httpPort is 0", () => {
            const ui = container(run, "ui-nginx");
            assert.ok(secretPaths(ui.rawInputs).some((p) => p.startsWith("uploads")));
            const keyBody = providedCert.privateKeyPem.split("\n")[1];
            for (const resource of run.resources) {
                assert.ok(!JSON.stringify(withoutSecretValues(resource.rawInputs)).includes(keyBody), resource.name);
            }
            assert.deepEqual((container(run, "ui").inputs.ports as unknown[]).length, 1);
        });
    });

    it("is deterministic: two evaluations with the same config and state give identical inputs", async () => {
        for (const config of [oneOriginConfig, splitConfig]) {
            const first = await runProgram(config);
            const second = await runProgram(config);
            assert.deepEqual(typeNames(second), typeNames(first));
            for (const resource of first.resources) {
                assert.equal(JSON.stringify(second.byName(resource.name).rawInputs), JSON.stringify(resource.rawInputs), `${resource.name} inputs differ`);
            }
        }
    });

    it("the same users and CORS origins in another order change no resource input", async () => {
        const reordered = {
            ...splitConfig,
            users: JSON.stringify([{ name: "ci-bot", password: chosenPassword }, { name: "admin" }]),
            cors: JSON.stringify({ allowedOrigins: ["https://b.example.com", "https://a.example.com"] }),
        };
        const before = await runProgram({ ...reordered, users: JSON.stringify([{ name: "admin" }, { name: "ci-bot", password: chosenPassword }]), cors: JSON.stringify({ allowedOrigins: ["https://a.example.com", "https://b.example.com"] }) });
        const after = await runProgram(reordered);
        for (const resource of before.resources.filter((r) => r.type === T.container)) {
            assert.equal(JSON.stringify(after.byName(resource.name).rawInputs), JSON.stringify(resource.rawInputs), `${resource.name} would be replaced`);
        }
    });

    it("publishes ports sorted by internal port, as the provider reads them back (any other order is a diff on every up)", async () => {
        const run = await runProgram(oneOriginConfig);
        const internal = (container(run, "ui").inputs.ports as { internal: number }[]).map((p) => p.internal);
        assert.deepEqual(internal, [...internal].sort((a, b) => a - b));
    });

    it("the seed's releases (registry 2.8.2, UI 2.5.2): their config path, no tracing switch, and none of 2.6's UI variables", async () => {
        const run = await runProgram({ ...oneOriginConfig, images: JSON.stringify({ registry: "registry:2.8.2", ui: "joxit/docker-registry-ui:2.5.2" }) });
        const registry = container(run, "registry");
        assert.deepEqual((registry.inputs.uploads as Upload[]).map((u) => u.file), ["/etc/docker/registry/config.yml", "/usr/local/bin/registry-health", "/usr/local/bin/registry-serve"]);
        assert.deepEqual(registry.inputs.command, ["registry", "serve", "/etc/docker/registry/config.yml"]);
        assert.deepEqual((registry.inputs.envs as string[]).map((line) => line.split("=")[0]), ["REGISTRY_HTTP_SECRET"]);
        const maintenance = container(run, "maintenance");
        assert.ok((maintenance.inputs.uploads as Upload[]).some((u) => u.file === "/etc/docker/registry/config.yml"));
        // A filesystem collector of 2.8 gets no environment at all: unchanged inputs for stacks pinned to 2.8.
        assert.equal(maintenance.inputs.envs, undefined);
        assert.equal(container(run, "users").inputs.envs, undefined);
        const uiEnvs = container(run, "ui-nginx").inputs.envs as string[];
        assert.ok(!uiEnvs.some((line) => /^(SHOW_TAG_HISTORY|ENABLE_VERSION_NOTIFICATION)=/.test(line)));
        const current = await runProgram(oneOriginConfig);
        assert.deepEqual(container(current, "maintenance").inputs.envs, ["OTEL_TRACES_EXPORTER=none"]);
        assert.ok((container(current, "ui-nginx").inputs.envs as string[]).includes("ENABLE_VERSION_NOTIFICATION=false"));
    });

    it("stops both containers gracefully: their draining signal and a grace period; the registry drains in flight requests", async () => {
        const run = await runProgram(oneOriginConfig);
        assert.equal(container(run, "registry").inputs.stopSignal, "SIGTERM");
        assert.equal(container(run, "ui-nginx").inputs.stopSignal, "SIGQUIT");
        for (const role of ["registry", "ui"] as const) assert.equal(container(run, role).inputs.destroyGraceSeconds, 70);
        assert.equal(parse(upload(container(run, "registry"), "/etc/distribution/config.yml").content).http.draintimeout, "60s");
    });

    it("labels the fixed-name network and volume with the project's labels only, and ignores label changes on them", async () => {
        const run = await runProgram({ ...oneOriginConfig, labels: JSON.stringify({ "com.example.team": "platform" }) });
        const fixedNames = [...run.ofType(T.network), ...run.ofType(T.volume)];
        assert.deepEqual(fixedNames.map((r) => r.name).sort(), [`${name}-access`, `${name}-data`, `${name}-front`, `${name}-maintenance-state`, `${name}-network`, `${name}-upstreams`]);
        for (const resource of fixedNames) {
            // Found again by `clean up` and the live suite's sweep: its stack and what it is.
            assert.deepEqual(resource.inputs.labels, [
                { label: "private-registry.name", value: name },
                { label: "private-registry.role", value: resource.name.slice(name.length + 1) },
            ], resource.name);
            assert.deepEqual(resource.options.ignoreChanges, ["labels"]);
        }
        for (const role of ["registry", "ui"] as const) {
            assert.ok((container(run, role).inputs.labels as { label: string }[]).some((l) => l.label === "com.example.team"), `${role} has the user's label`);
        }
    });

    it("metrics: the registry's debug listener on its loopback, relayed into the upstreams volume, and the entrypoint's metrics port on its own bind address", async () => {
        const off = await runProgram(oneOriginConfig);
        assert.deepEqual(parse(upload(container(off, "registry"), "/etc/distribution/config.yml").content).http.debug, { addr: "127.0.0.1:5001" });
        assert.match(upload(container(off, "registry"), "/usr/local/bin/registry-serve").content, /^METRICS_FILE=$/m);
        assert.doesNotMatch(upload(container(off, "ui-nginx"), "/etc/nginx/conf.d/default.conf").content, /listen 9091/);
        const run = await runProgram({ ...oneOriginConfig, metrics: JSON.stringify({ enabled: true, port: 9091, bindAddress: "10.0.0.5" }) });
        assert.deepEqual(parse(upload(container(run, "registry"), "/etc/distribution/config.yml").content).http.debug,
            { addr: "127.0.0.1:5001", prometheus: { enabled: true, path: "/metrics" } });
        assert.match(upload(container(run, "registry"), "/usr/local/bin/registry-serve").content, /^METRICS_FILE=\/run\/registry-upstreams\/replica-1\.prom$/m);
        assert.equal(container(run, "registry").inputs.ports, undefined, "the debug listener is published");
        assert.deepEqual(container(run, "ui").inputs.ports, [
            { internal: 80, external: 8080, ip: "127.0.0.1", protocol: "tcp" },
            { internal: 443, external: 8443, ip: "127.0.0.1", protocol: "tcp" },
            { internal: 9091, external: 9091, ip: "10.0.0.5", protocol: "tcp" },
        ]);
        assert.match(upload(container(run, "ui-nginx"), "/etc/nginx/conf.d/default.conf").content, /listen unix:\/run\/registry-front-listen\/9091\.sock proxy_protocol;/);
        const privateOnly = await runProgram({ ...oneOriginConfig, metrics: JSON.stringify({ enabled: true }) });
        assert.equal(container(privateOnly, "ui").inputs.ports && (container(privateOnly, "ui").inputs.ports as unknown[]).length, 2);
        assert.doesNotMatch(upload(container(privateOnly, "ui-nginx"), "/etc/nginx/conf.d/default.conf").content, /listen 9091/);
    });

    it("metrics.password: the metrics server asks for basic auth, checked against an htpasswd the users container installs (a secret upload); the password is nowhere in plaintext; a new one replaces only the users container", async () => {
        const password = "a-long-enough-metrics-password";
        const metrics = { enabled: true, port: 9091 };
        const asSecret = { secretKeys: ["users", "metrics"] };
        const open = await runProgram({ ...oneOriginConfig, metrics: JSON.stringify(metrics) });
        assert.doesNotMatch(upload(container(open, "ui-nginx"), "/etc/nginx/conf.d/default.conf").content, /auth_basic "metrics"/);
        assert.ok(!(container(open, "users").inputs.uploads as { file: string }[]).some((u) => u.file === "/access-source/metrics.htpasswd"));
        const run = await runProgram({ ...oneOriginConfig, metrics: JSON.stringify({ ...metrics, password }) }, asSecret);
        assert.match(upload(container(run, "ui-nginx"), "/etc/nginx/conf.d/default.conf").content,
            /auth_basic "metrics";\n\s*auth_basic_user_file \/run\/registry-access\/current\/metrics\.htpasswd;/);
        const users = container(run, "users");
        assert.equal(upload(users, "/access-source/metrics.htpasswd").permissions, "0400");
        const htpasswd = upload(users, "/access-source/metrics.htpasswd").content;
        assert.match(htpasswd, /^prometheus:\$2[aby]\$05\$[^\n]+\n$/);
        assert.ok(await bcrypt.compare(password, htpasswd.trim().split(":")[1]), "the hash is not the password's");
        assert.ok(!upload(users, "/access-source/htpasswd").content.includes("prometheus:"), "Prometheus is a registry user");
        assert.ok(secretPaths(users.rawInputs).some((p) => p.startsWith("uploads")), "the htpasswd upload is not secret");
        for (const resource of run.resources) {
            const plain = JSON.stringify(withoutSecretValues(resource.rawInputs));
            assert.ok(!plain.includes(password) && !plain.includes(htpasswd.trim()), `${resource.name} carries the metrics password or its hash in plaintext`);
        }
        assert.ok(!JSON.stringify(run.outputs).includes(password));
        // The same password and state: the same file (the salt comes from a seed kept in state).
        const again = await runProgram({ ...oneOriginConfig, metrics: JSON.stringify({ ...metrics, password }) }, asSecret);
        assert.equal(upload(container(again, "users"), "/access-source/metrics.htpasswd").content, htpasswd);
        // A new password: the users container installs it; the entrypoint and the registry stay.
        const rotated = await runProgram({ ...oneOriginConfig, metrics: JSON.stringify({ ...metrics, password: `${password}-rotated` }) }, asSecret);
        const changed = run.resources
            .filter((r) => JSON.stringify(rotated.byName(r.name).rawInputs) !== JSON.stringify(r.rawInputs))
            .map((r) => r.name);
        assert.deepEqual(changed, [`${name}-users`]);
    });

    it("replicas: each its own container, socket and published line, one http secret, replaced one after another", async () => {
        const run = await runProgram({ ...oneOriginConfig, replicas: "3", metrics: JSON.stringify({ enabled: true, port: 9091 }) });
        const replicas = [`${name}-registry`, `${name}-registry-2`, `${name}-registry-3`].map((n) => run.byName(n));
        assert.equal(run.resources.filter((r) => r.type === "docker:index/container:Container" && r.name.startsWith(`${name}-registry`)).length, 3);
        replicas.forEach((replica, i) => {
            assert.deepEqual(replica.inputs.networksAdvanced, [{ name: `${name}-network` }]);
            assert.deepEqual(replica.inputs.volumes, [
                { volumeName: `${name}-upstreams`, containerPath: "/run/registry-upstreams" },
                { volumeName: `${name}-data`, containerPath: "/var/lib/registry" },
            ]);
            // The same files but for the replica's own socket and lines.
            const own = (text: string) => text.replaceAll(`replica-${i + 1}.`, "replica-N.");
            assert.deepEqual((replica.inputs.uploads as Upload[]).map((u) => ({ ...u, content: own(u.content) })),
                (replicas[0].inputs.uploads as Upload[]).map((u) => ({ ...u, content: u.content.replaceAll("replica-1.", "replica-N.") })));
            assert.match(upload(replica, "/usr/local/bin/registry-serve").content, new RegExp(`^UPSTREAM=/run/registry-upstreams/replica-${i + 1}\\.conf$`, "m"));
            assert.deepEqual(replica.inputs.envs, replicas[0].inputs.envs, "one http secret: an upload may continue on another replica");
            assert.ok(secretPaths(replica.rawInputs).includes("envs"));
            // Each waits for the one before: an up that replaces them all replaces one at a time.
            assert.deepEqual(replica.options.dependsOn, i === 0 ? [] : [replicas[i - 1].name]);
            assert.equal(replica.options.deleteBeforeReplace, true);
        });
        assert.deepEqual(container(run, "ui-nginx").options.dependsOn, [...replicas.map((r) => r.name), `${name}-users`]);
        const site = upload(container(run, "ui-nginx"), "/etc/nginx/conf.d/default.conf").content;
        assert.match(site, /location ~ \^\/metrics\/replicas\/\(1\|2\|3\|4\|5\|6\|7\|8\)\$/);
    });

    it("scaling replicas up or down adds or removes only the replicas past the first; the first and the rest stay as they are", async () => {
        // With the metrics port too: its per-replica locations must not depend on the count.
        const metrics = JSON.stringify({ enabled: true, port: 9091 });
        const three = await runProgram({ ...oneOriginConfig, metrics, replicas: "3" });
        const one = await runProgram({ ...oneOriginConfig, metrics });
        const names = (run: ProgramRun) => run.resources.filter((r) => r.name.startsWith(`${name}-registry`) && r.type === "docker:index/container:Container").map((r) => r.name);
        assert.deepEqual(names(three), [`${name}-registry`, `${name}-registry-2`, `${name}-registry-3`]);
        assert.deepEqual(names(one), [`${name}-registry`]);
        const changed = one.resources
            .filter((r) => three.resources.some((t) => t.name === r.name) && JSON.stringify(three.byName(r.name).rawInputs) !== JSON.stringify(r.rawInputs))
            .map((r) => r.name);
        // Only the entrypoint's dependsOn differs, which updates nothing in a container.
        assert.deepEqual(changed, []);
        assert.notDeepEqual(container(three, "ui-nginx").options.dependsOn, container(one, "ui-nginx").options.dependsOn);
    });

    describe("mirrors", () => {
        const hubToken = "dckr_pat_a-token-nobody-may-read";
        let run: ProgramRun;
        let vendorCa: string;
        before(async () => {
            vendorCa = providedCert.certificatePem;
            run = await runProgram({
                ...oneOriginConfig,
                mirrors: JSON.stringify([
                    { name: "hub", upstream: "https://registry-1.docker.io", username: "me", password: hubToken },
                    { name: "vendor", upstream: "https://registry.vendor.example:5000", ttl: "24h", caCertificate: vendorCa },
                ]),
            });
        });

        it("runs each mirror as a registry container from the registry's image, under the supervisor, on its own socket and kept volume", () => {
            const registry = container(run, "registry");
            for (const mirror of ["hub", "vendor"]) {
                const resource = run.byName(`${name}-mirror-${mirror}`);
                assert.equal(resource.type, T.container);
                assert.equal(resource.inputs.image, registry.inputs.image);
                assert.deepEqual(resource.inputs.networksAdvanced, [{ name: `${name}-network` }]);
                assert.deepEqual(resource.inputs.volumes, [
                    { volumeName: `${name}-upstreams`, containerPath: "/run/registry-upstreams" },
                    { volumeName: `${name}-mirror-${mirror}`, containerPath: "/var/lib/registry" },
                ]);
                assert.deepEqual(resource.inputs.entrypoints, ["/bin/sh", "/usr/local/bin/registry-serve"]);
                assert.deepEqual(resource.inputs.command, ["registry", "serve", "/etc/distribution/config.yml"]);
                assert.match(upload(resource, "/usr/local/bin/registry-serve").content, new RegExp(`^SOCKET=/run/registry-upstreams/mirror-${mirror}\\.sock$`, "m"));
                const config = parse(upload(resource, "/etc/distribution/config.yml").content) as { proxy: { exec: { command: string } } };
                assert.equal(config.proxy.exec.command, "/usr/local/bin/mirror-credentials");
                assert.deepEqual(resource.inputs.capabilities, { drops: ["ALL"] });
                assert.equal(resource.options.deleteBeforeReplace, true, "never two processes on one mirror's storage");
                const volume = run.byName(`${name}-mirror-${mirror}-cache`);
                assert.equal(volume.inputs.name, `${name}-mirror-${mirror}`);
                assert.equal(volume.options.retainOnDelete, true);
            }
            const vendor = run.byName(`${name}-mirror-vendor`);
            assert.equal(upload(vendor, "/etc/registry-mirror/ca/upstream-ca.crt").content, vendorCa);
            assert.ok((vendor.inputs.envs as string[]).includes("SSL_CERT_DIR=/etc/ssl/certs:/etc/registry-mirror/ca"));
            assert.ok(!(run.byName(`${name}-mirror-hub`).inputs.envs as string[]).some((e) => e.startsWith("SSL_CERT_DIR=")));
        });

        it("hands the upstream's token to the credential helper only, as a secret file for root: in no other input, no output", () => {
            const hub = run.byName(`${name}-mirror-hub`);
            const credentials = upload(hub, "/etc/registry-mirror/credentials.json");
            assert.deepEqual(JSON.parse(credentials.content), { Username: "me", Secret: hubToken });
            assert.equal(credentials.permissions, "0400");
            assert.ok(secretPaths(hub.rawInputs).some((p) => p.startsWith("uploads")));
            assert.deepEqual(JSON.parse(upload(run.byName(`${name}-mirror-vendor`), "/etc/registry-mirror/credentials.json").content), { Username: "", Secret: "" });
            for (const resource of run.resources) {
                assert.ok(!JSON.stringify(withoutSecretValues(resource.rawInputs)).includes(hubToken), `${resource.name} carries the token in plaintext`);
            }
            assert.ok(!JSON.stringify(run.outputs).includes(hubToken));
        });

        it("routes /v2/<name>/ in the entrypoint, which starts after the mirrors", () => {
            const nginx = container(run, "ui-nginx");
            const site = upload(nginx, "/etc/nginx/conf.d/default.conf").content;
            assert.match(site, /location \/v2\/hub\/ \{/);
            assert.match(site, /location \/v2\/vendor\/ \{/);
            assert.deepEqual(nginx.options.dependsOn, [`${name}-registry`, `${name}-mirror-hub`, `${name}-mirror-vendor`, `${name}-users`]);
        });

        it("a daemon mirror: the front publishes its port on its bind address, and nginx serves the mirror there without a login; the mirrors without one move no port", async () => {
            const daemon = await runProgram({
                ...oneOriginConfig,
                mirrors: JSON.stringify([
                    { name: "vendor", upstream: "https://registry.vendor.example:5000" },
                    { name: "hub", upstream: "https://registry-1.docker.io", daemonMirror: { port: 5443, bindAddress: "10.0.0.5" } },
                ]),
            });
            const front = container(daemon, "ui");
            assert.deepEqual(front.inputs.ports, [
                { internal: 80, external: 8080, ip: "127.0.0.1", protocol: "tcp" },
                { internal: 443, external: 8443, ip: "127.0.0.1", protocol: "tcp" },
                { internal: 9100, external: 5443, ip: "10.0.0.5", protocol: "tcp" },
            ]);
            assert.match(upload(front, "/etc/nginx/front.conf").content, /listen 9100;/);
            const site = upload(container(daemon, "ui-nginx"), "/etc/nginx/conf.d/default.conf").content;
            assert.match(site, /listen unix:\/run\/registry-front-listen\/9100\.sock ssl proxy_protocol;\n {4}server_name _;/);
            assert.match(site, /proxy_pass http:\/\/mirror_hub;/);
            const moved = await runProgram({
                ...oneOriginConfig,
                mirrors: JSON.stringify([
                    { name: "hub", upstream: "https://registry-1.docker.io", daemonMirror: { port: 5443, bindAddress: "10.0.0.5" } },
                    { name: "other", upstream: "https://registry.other.example" },
                ]),
            });
            assert.deepEqual(container(moved, "ui").rawInputs, front.rawInputs, "the front stays as it is");
        });

        it("a mirror's change (its ttl) replaces that mirror alone", async () => {
            const changed = await runProgram({
                ...oneOriginConfig,
                mirrors: JSON.stringify([
                    { name: "hub", upstream: "https://registry-1.docker.io", username: "me", password: hubToken },
                    { name: "vendor", upstream: "https://registry.vendor.example:5000", ttl: "48h", caCertificate: vendorCa },
                ]),
            });
            const differs = changed.resources.filter((r) => JSON.stringify(run.byName(r.name).rawInputs) !== JSON.stringify(r.rawInputs)).map((r) => r.name);
            assert.deepEqual(differs, [`${name}-mirror-vendor`]);
        });

        it("with S3 storage: no volume; each mirror keeps its cache under <root>/mirrors/<name> of the bucket", async () => {
            const s3 = await runProgram({
                ...oneOriginConfig,
                storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", endpoint: "http://s3.internal:7480", rootDirectory: "/registry", accessKey: "AKIAMIRRORTEST", secretKey: "a-mirror-test-secret-key" } }),
                mirrors: JSON.stringify([{ name: "hub", upstream: "https://registry-1.docker.io" }]),
            });
            const hub = s3.byName(`${name}-mirror-hub`);
            assert.deepEqual(hub.inputs.volumes, [{ volumeName: `${name}-upstreams`, containerPath: "/run/registry-upstreams" }]);
            const config = parse(upload(hub, "/etc/distribution/config.yml").content) as { storage: { s3: { rootdirectory: string } } };
            assert.equal(config.storage.s3.rootdirectory, "/registry/mirrors/hub");
            assert.equal(s3.resources.filter((r) => r.type === T.volume && r.name.includes("mirror")).length, 0);
            // The bucket's keys as the replicas have them: in the environment, secret.
            const envs = hub.inputs.envs as string[];
            assert.deepEqual(envs.filter((e) => e.startsWith("REGISTRY_STORAGE_S3_")), ["REGISTRY_STORAGE_S3_ACCESSKEY=AKIAMIRRORTEST", "REGISTRY_STORAGE_S3_SECRETKEY=a-mirror-test-secret-key"]);
            assert.ok(envs.includes("OTEL_TRACES_EXPORTER=none"));
            assert.ok(secretPaths(hub.rawInputs).includes("envs"));
            assert.ok(!JSON.stringify(withoutSecretValues(hub.rawInputs)).includes("a-mirror-test-secret-key"));
        });
    });

    it("s3 storage: no data volume, the bucket in the registry's and the collector's config, the keys only as secret environment", async () => {
        const accessKey = "AKIAIOSFODNN7EXAMPLE";
        const secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        const run = await runProgram({
            ...oneOriginConfig, replicas: "2",
            storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme-registry", endpoint: "http://10.0.0.7:7480", accessKey, secretKey } }),
        });
        assert.equal(run.resources.find((r) => r.name === `${name}-data`), undefined);
        assert.deepEqual(container(run, "registry").inputs.volumes, [{ volumeName: `${name}-upstreams`, containerPath: "/run/registry-upstreams" }]);
        for (const role of ["registry", "maintenance"] as const) {
            const resource = container(run, role);
            assert.ok(!((resource.inputs.volumes ?? []) as { containerPath: string }[]).some((v) => v.containerPath === "/var/lib/registry"), `${role} mounts no data volume`);
            const config = parse(upload(resource, "/etc/distribution/config.yml").content);
            assert.equal(config.storage.s3.bucket, "acme-registry");
            assert.equal(config.storage.s3.regionendpoint, "http://10.0.0.7:7480");
            const envs = resource.inputs.envs as string[];
            assert.ok(envs.includes(`REGISTRY_STORAGE_S3_ACCESSKEY=${accessKey}`) && envs.includes(`REGISTRY_STORAGE_S3_SECRETKEY=${secretKey}`), role);
            assert.ok(secretPaths(resource.rawInputs).includes("envs"), `${role}: the keys are secret`);
        }
        assert.match(upload(container(run, "maintenance"), "/maintenance/gc.sh").content, /^STORAGE=s3$/m);
        // The collector reaches the store; with the filesystem it has no network at all.
        assert.deepEqual(container(run, "maintenance").inputs.networksAdvanced, [{ name: `${name}-network` }]);
        const filesystem = await runProgram(oneOriginConfig);
        assert.equal(container(filesystem, "maintenance").inputs.networkMode, "none");
        assert.equal(filesystem.resources.find((r) => r.name === `${name}-redis`), undefined);
        for (const resource of run.resources) {
            const plain = JSON.stringify(withoutSecretValues(resource.rawInputs));
            assert.ok(!plain.includes(secretKey) && !plain.includes(accessKey), `${resource.name} carries an S3 key in plaintext`);
        }
        assert.ok(!JSON.stringify(run.outputs).includes(secretKey));
        // S3 gets the shared cache by default: one Redis, started before the replicas, flushed by the collector.
        const redis = run.byName(`${name}-redis`);
        assert.deepEqual(redis.inputs.networksAdvanced, [{ name: `${name}-network`, aliases: ["redis"] }]);
        assert.equal(redis.inputs.user, "999:999");
        assert.ok((redis.inputs.command as string[]).includes("--protected-mode"));
        assert.equal(redis.inputs.ports, undefined);
        assert.deepEqual(container(run, "registry").options.dependsOn, [`${name}-redis`]);
        assert.deepEqual(parse(upload(container(run, "registry"), "/etc/distribution/config.yml").content).storage.cache, { blobdescriptor: "redis" });
        assert.match(upload(container(run, "maintenance"), "/maintenance/gc.sh").content, /^CACHE=redis$/m);
        // It requires a generated password, which only the replicas, the collector and its own redis-cli get.
        const passwordFile = upload(redis, "/usr/local/etc/redis/private-registry.conf").content;
        const password = /^requirepass ([A-Za-z0-9]{40})\n$/.exec(passwordFile)?.[1] as string;
        assert.ok(password, passwordFile);
        assert.equal((redis.inputs.command as string[])[1], "/usr/local/etc/redis/private-registry.conf");
        assert.ok(!(redis.inputs.command as string[]).includes(password), "the password in redis-server's command line");
        assert.ok((redis.inputs.envs as string[]).includes(`REDISCLI_AUTH=${password}`));
        assert.ok((container(run, "registry").inputs.envs as string[]).includes(`REGISTRY_REDIS_PASSWORD=${password}`));
        assert.ok((container(run, "maintenance").inputs.envs as string[]).includes(`REDIS_PASSWORD=${password}`));
        assert.ok(secretPaths(redis.rawInputs).includes("envs") && secretPaths(redis.rawInputs).some((p) => p.startsWith("uploads")));
        for (const resource of run.resources) {
            assert.ok(!JSON.stringify(withoutSecretValues(resource.rawInputs)).includes(password), `${resource.name} carries the Redis password in plaintext`);
        }
        assert.ok(!JSON.stringify(run.outputs).includes(password));
        assert.equal(run.outputs.volumeName, "");
    });

    it("filesystem storage with the shared cache: the collector gets the cache's password and nothing else, as a secret", async () => {
        const run = await runProgram({ ...oneOriginConfig, cache: JSON.stringify({ driver: "redis" }) });
        const maintenance = container(run, "maintenance");
        const envs = maintenance.inputs.envs as string[];
        // The secret (one password line, no storage keys), then the image's own setting.
        assert.deepEqual(envs.map((e) => e.split("=")[0]), ["REDIS_PASSWORD", "OTEL_TRACES_EXPORTER"]);
        assert.match(envs[0], /^REDIS_PASSWORD=[A-Za-z0-9]{40}$/);
        assert.ok(secretPaths(maintenance.rawInputs).includes("envs"));
        // It flushes the cache after collecting: the network, where the filesystem alone needs none.
        assert.deepEqual(maintenance.inputs.networksAdvanced, [{ name: `${name}-network` }]);
        assert.equal(maintenance.inputs.networkMode, undefined);
    });

    it("gc.schedule off: crond gets a crontab with no job, and says why", async () => {
        const run = await runProgram({ ...oneOriginConfig, gc: JSON.stringify({ schedule: "off" }) });
        const crontab = upload(container(run, "maintenance"), "/maintenance/crontabs/root").content;
        assert.deepEqual(crontab.split("\n").filter((line) => line && !line.startsWith("#")), []);
        assert.match(crontab, /^# scheduled collection is off \(gc\.schedule: off\)$/m);
    });

    it("target swarm: services on an attachable overlay network, files as content-named configs and secrets, secrets never in plaintext", async () => {
        const secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        const swarmConfig: StackConfigValues = {
            ...oneOriginConfig, bindAddress: "0.0.0.0", replicas: "3", target: "swarm",
            storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme-registry", endpoint: "http://10.0.0.7:7480", accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey } }),
        };
        const run = await runProgram(swarmConfig);
        assert.deepEqual(run.ofType("docker:index/container:Container"), [], "no container");
        assert.deepEqual(run.ofType("docker:index/remoteImage:RemoteImage"), [], "each node pulls the images itself");
        assert.deepEqual(run.byName(`${name}-network`).inputs, { name: `${name}-network`, driver: "overlay", attachable: true, labels: run.byName(`${name}-network`).inputs.labels });
        const service = (role: string) => run.byName(`${name}-${role}`);
        assert.deepEqual(run.ofType("docker:index/service:Service").map((r) => r.name).sort(), ["maintenance", "redis", "registry", "ui", "users"].map((r) => `${name}-${r}`));
        const registry = service("registry");
        assert.deepEqual(registry.inputs.mode, { replicated: { replicas: 3 } });
        assert.deepEqual(registry.inputs.endpointSpec, { mode: "dnsrr" }, "nginx sees every task through the alias, and retries another; no IPVS");
        const task = (r: RecordedResource) => r.inputs.taskSpec as { containerSpec: Record<string, unknown>; networksAdvanceds: unknown; placement?: unknown };
        assert.deepEqual(task(registry).networksAdvanceds, [{ id: `${name}-network-id`, aliases: ["registry-tls"] }], "the network by id, as the provider reads it back");
        assert.equal(task(registry).containerSpec.image, "registry:3.1.1", "the pinned reference");
        assert.equal(task(registry).placement, undefined, "stateless: any node");
        assert.equal(task(registry).containerSpec.stopGracePeriod, "1m10s");
        assert.deepEqual(registry.inputs.updateConfig, { parallelism: 1, delay: "0s", monitor: "10s", maxFailureRatio: "0.0", failureAction: "pause", order: "start-first" });
        assert.equal(registry.options.deleteBeforeReplace, true);
        assert.ok(secretPaths(registry.rawInputs).some((p) => p.startsWith("taskSpec")), "the env with the http secret and the S3 keys is secret");
        // Files: the registry's config as a Swarm config named after its content, the TLS key and the htpasswd as Swarm secrets.
        const configs = task(registry).containerSpec.configs as { configName: string; fileName: string; fileMode: number }[];
        assert.deepEqual(configs.map((c) => [c.fileName, c.fileMode]), [
            ["/etc/distribution/config.yml", 0o644], ["/usr/local/bin/registry-health", 0o755],
            // The link's mutual TLS: the registry's certificate, and the CA of the one client it accepts.
            ["/etc/registry-link/server.crt", 0o644], ["/etc/registry-link/clients-ca.crt", 0o644],
        ]);
        for (const c of configs) assert.match(c.configName, new RegExp(`^${name}-registry-[0-9a-f]{16}$`));
        const secrets = (role: string) => (task(service(role)).containerSpec.secrets ?? []) as { secretName: string; fileName: string; fileMode: number }[];
        assert.deepEqual(secrets("registry").map((x) => [x.fileName, x.fileMode]), [["/etc/registry-link/server.key", 0o400]]);
        assert.deepEqual(secrets("ui").map((x) => [x.fileName, x.fileMode]), [["/etc/nginx/certs/server.key", 0o400], ["/etc/nginx/certs/registry-link-client.key", 0o400]]);
        const uiConfigs = task(service("ui")).containerSpec.configs as { fileName: string }[];
        assert.deepEqual(uiConfigs.map((c) => c.fileName).filter((f) => f.includes("registry-link")), ["/etc/nginx/certs/registry-link-client.crt", "/etc/nginx/certs/registry-link-ca.crt"]);
        // One CA for the link, its own: the registry's certificate for the alias, the entrypoint's for client auth.
        const linkCertificates = run.ofType("tls:index/locallySignedCert:LocallySignedCert").filter((r) => r.name.includes("-link-"));
        assert.deepEqual(linkCertificates.map((r) => [r.name, r.inputs.allowedUses]), [
            [`${name}-registry-link-cert`, ["digital_signature", "key_encipherment", "server_auth"]],
            [`${name}-entrypoint-link-cert`, ["digital_signature", "key_encipherment", "client_auth"]],
        ]);
        assert.deepEqual(run.byName(`${name}-registry-link-csr`).inputs.dnsNames, ["registry-tls"]);
        assert.deepEqual(secrets("users").map((x) => x.fileMode), [0o400]);
        for (const secret of run.ofType("docker:index/secret:Secret")) assert.ok(secretPaths(secret.rawInputs).includes("data"), `${secret.name}: data is secret`);
        // The entrypoint publishes on its node (host mode: no routing mesh), and runs with the users and maintenance jobs on one manager (their shared volumes),
        // and with Redis (a single task: losing its node is losing the entrypoint's); the registry's tasks go to any node.
        assert.deepEqual(service("ui").inputs.endpointSpec, { mode: "dnsrr", ports: [80, 443].map((p, i) => ({ targetPort: p, publishedPort: [8080, 8443][i], protocol: "tcp", publishMode: "host" })) });
        for (const role of ["ui", "users", "maintenance", "redis"]) assert.deepEqual(task(service(role)).placement, { constraints: ["node.role==manager"] }, role);
        assert.equal(task(service("registry")).placement, undefined);
        assert.equal(run.outputs.gcCommand, `docker exec $(docker ps -q -l --filter status=running --filter label=com.docker.swarm.service.name=${name}-maintenance) /maintenance/gc.sh run`);
        for (const role of ["ui", "users", "maintenance"]) assert.equal((service(role).inputs.updateConfig as { order: string }).order, "stop-first", `${role}: a host port or a shared volume`);
        assert.equal((service("redis").inputs.updateConfig as { order: string }).order, "start-first");
        assert.deepEqual(registry.options.ignoreChanges, ["taskSpec.placement.platforms"]);
        for (const resource of run.resources) {
            const plain = JSON.stringify(withoutSecretValues(resource.rawInputs));
            assert.ok(!plain.includes(secretKey) && !plain.includes("PRIVATE KEY"), `${resource.name} carries a secret in plaintext`);
        }
        // A changed registry config makes a new config and updates the service; the entrypoint and its files stay.
        const debug = await runProgram({ ...swarmConfig, registryLogLevel: "debug" });
        const configName = (r: ProgramRun) => (task(r.byName(`${name}-registry`)).containerSpec.configs as { configName: string }[])[0].configName;
        assert.notEqual(configName(debug), configName(run));
        assert.deepEqual(debug.byName(`${name}-ui`).rawInputs, service("ui").rawInputs);
    });

    it("target swarm with metrics: each task's relay runs the registry and hands its metrics to the entrypoint under its slot; the entrypoint publishes them behind the password", async () => {
        const relayPassword = "a-prometheus-password-long-enough";
        const run = await runProgram({
            ...oneOriginConfig, bindAddress: "0.0.0.0", replicas: "2", target: "swarm",
            storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme-registry", endpoint: "http://10.0.0.7:7480", accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" } }),
            metrics: JSON.stringify({ enabled: true, port: 9091, password: relayPassword }),
        });
        const task = (role: string) => (run.byName(`${name}-${role}`).inputs.taskSpec as { containerSpec: Record<string, unknown>; networksAdvanceds: { aliases?: string[] }[] });
        const registry = task("registry").containerSpec;
        assert.deepEqual([registry.commands, registry.args], [["/bin/sh", "/usr/local/bin/registry-relay"], ["registry", "serve", "/etc/distribution/config.yml"]]);
        const env = registry.env as Record<string, string>;
        assert.equal(env.RELAY_TASK_SLOT, "{{.Task.Slot}}", "Swarm fills in each task's slot");
        assert.match(env.METRICS_RELAY_TOKEN, /^[A-Za-z0-9]{48}$/);
        for (const resource of run.resources) {
            assert.ok(!JSON.stringify(withoutSecretValues(resource.rawInputs)).includes(env.METRICS_RELAY_TOKEN), `${resource.name} carries the relay token in plaintext`);
        }
        // The entrypoint: reached by the tasks under its alias; the token's check a Swarm secret; the metrics port published on its node.
        assert.deepEqual(task("ui").networksAdvanceds.map((n) => n.aliases), [["entrypoint"]]);
        const uiSecrets = (task("ui").containerSpec.secrets as { fileName: string; secretName: string }[]);
        assert.ok(uiSecrets.some((x) => x.fileName === "/etc/nginx/metrics-relay-token.conf"));
        const tokenMap = run.ofType("docker:index/secret:Secret").find((r) => uiSecrets.some((x) => x.fileName === "/etc/nginx/metrics-relay-token.conf" && x.secretName === r.inputs.name));
        assert.ok(tokenMap, "the token's check is a Swarm secret of its own");
        assert.equal(Buffer.from(String(tokenMap.inputs.data), "base64").toString(), `if ($http_authorization != "Bearer ${env.METRICS_RELAY_TOKEN}") {\n    return 401;\n}\n`);
        const ports = (run.byName(`${name}-ui`).inputs.endpointSpec as { ports: { targetPort: number; publishedPort: number; publishMode: string }[] }).ports;
        assert.deepEqual(ports.find((p) => p.targetPort === 9091), { targetPort: 9091, publishedPort: 9091, protocol: "tcp", publishMode: "host" });
        // The registry's debug listener, pprof and all, on its loopback only.
        const configs = task("registry").containerSpec.configs as { configName: string; fileName: string }[];
        const registryConfig = run.ofType("docker:index/serviceConfig:ServiceConfig").find((r) => r.inputs.name === configs.find((c) => c.fileName === "/etc/distribution/config.yml")?.configName);
        assert.match(Buffer.from(String(registryConfig?.inputs.data), "base64").toString(), /\n {4}addr: 127\.0\.0\.1:5001\n/);
    });

    it("a changed password, role or scope, or a new user, changes only the users container: never the registry or the entrypoint", async () => {
        const before = await runProgram(oneOriginConfig);
        const changes = [
            [{ name: "admin" }, { name: "ci-bot", password: `${chosenPassword}-rotated` }],
            [{ name: "admin" }, { name: "ci-bot", password: chosenPassword, access: "pull" }],
            [{ name: "admin" }, { name: "ci-bot", password: chosenPassword, access: "push", repositories: ["ci/*"] }],
            [{ name: "admin" }, { name: "ci-bot", password: chosenPassword }, { name: "deployer", password: `${chosenPassword}-deployer`, access: "pull" }],
        ];
        for (const users of changes) {
            const after = await runProgram({ ...oneOriginConfig, users: JSON.stringify(users) });
            const changed = before.resources
                .filter((r) => after.resources.some((a) => a.name === r.name) && JSON.stringify(after.byName(r.name).rawInputs) !== JSON.stringify(r.rawInputs))
                .map((r) => r.name);
            assert.deepEqual(changed, [`${name}-users`], JSON.stringify(users));
        }
    });

    it("warns when a password or private key sits in plaintext in the stack file, and not when it was set with --secret", async () => {
        const warnings: string[] = [];
        const original = console.warn;
        console.warn = (message: string) => warnings.push(String(message));
        try {
            await runProgram(oneOriginConfig, { secretKeys: [] });
            assert.equal(warnings.length, 1, warnings.join("\n"));
            assert.match(warnings[0], /users\[1\]\.password \(ci-bot\) is stored in plaintext in Pulumi\.test\.yaml/);
            assert.match(warnings[0], /pulumi config set -s test --secret --path 'users\[1\]\.password'/);
            assert.ok(!warnings[0].includes(chosenPassword));
            warnings.length = 0;
            const tls = JSON.stringify({ mode: "provided", certificate: providedCert.certificatePem, privateKey: providedCert.privateKeyPem });
            await runProgram({ ...oneOriginConfig, tls }, { secretKeys: ["users"] });
            assert.equal(warnings.length, 1, warnings.join("\n"));
            assert.match(warnings[0], /tls\.privateKey is stored in plaintext/);
            warnings.length = 0;
            await runProgram({ ...oneOriginConfig, tls }, { secretKeys: ["users", "tls"] });
            assert.deepEqual(warnings, []);
            // S3 keys, told per key by the SDK (no stack file here): each named, neither shown.
            const secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
            const storage = JSON.stringify({ driver: "s3", s3: { bucket: "acme", endpoint: "http://s3.internal:7480", accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey } });
            await runProgram({ ...oneOriginConfig, storage }, { secretKeys: ["users"] });
            assert.deepEqual((warnings as string[]).map((w) => /(\S+) is stored in plaintext/.exec(w)?.[1]), ["storage.s3.accessKey", "storage.s3.secretKey"]);
            assert.ok((warnings as string[]).every((w) => !w.includes(secretKey) && !w.includes("AKIAIOSFODNN7EXAMPLE")));
            warnings.length = 0;
            await runProgram({ ...oneOriginConfig, storage }, { secretKeys: ["users", "storage"] });
            assert.deepEqual(warnings, []);
            const metrics = JSON.stringify({ enabled: true, port: 9091, password: "a-long-enough-metrics-password" });
            await runProgram({ ...oneOriginConfig, metrics }, { secretKeys: ["users"] });
            assert.deepEqual((warnings as string[]).map((w) => /(\S+) is stored in plaintext/.exec(w)?.[1]), ["metrics.password"]);
            assert.match((warnings as string[])[0], /pulumi config set -s test --secret --path 'metrics\.password' <password>/);
            assert.ok(!(warnings as string[])[0].includes("a-long-enough-metrics-password"));
            warnings.length = 0;
            await runProgram({ ...oneOriginConfig, metrics }, { secretKeys: ["users", "metrics"] });
            assert.deepEqual(warnings, []);
        } finally {
            console.warn = original;
        }
    });

    it("a deployment name too long for a swarm fails before anything is registered, the component included", async () => {
        const recorded: RecordedResource[] = [];
        const swarm = { ...oneOriginConfig, bindAddress: "0.0.0.0", target: "swarm", storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", endpoint: "http://s3.internal:7480" } }) };
        await assert.rejects(runProgram(swarm, { stack: "production-europe-1", recordInto: recorded }), (err: Error) => {
            assert.match(err.message, /Stack "production-europe-1" has 1 invalid config value; nothing was created\./);
            assert.match(err.message, /- target is swarm, but the deployment's name \(private-registry-production-europe-1/);
            return true;
        });
        // A registration sent before the error would reach the mock monitor by now.
        await waitForRegistrations().catch(() => undefined);
        assert.deepEqual(recorded.filter((r) => r.type !== "pulumi:pulumi:Stack").map((r) => r.type), []);
    });

    it("invalid config fails before any resource is registered, with one message naming key and fix", async () => {
        await assert.rejects(
            runProgram({ ...oneOriginConfig, httpsPort: "99999", users: JSON.stringify([{ name: "a:b" }]) }),
            (err: Error) => {
                assert.match(err.message, /Stack "test" has 2 invalid config values; nothing was created\./);
                assert.match(err.message, /- httpsPort \("99999"\) is not a port/);
                assert.match(err.message, /fix: pulumi config set -s test httpsPort 8443/);
                assert.match(err.message, /- users\[0\]\.name/);
                return true;
            },
        );
    });
});

/** The inputs with every secret-marked value removed: what would show in plaintext. */
function withoutSecretValues(value: unknown): unknown {
    if (secretPaths(value).includes("")) return "[secret]";
    if (Array.isArray(value)) return value.map(withoutSecretValues);
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutSecretValues(v)]));
    }
    return value;
}
