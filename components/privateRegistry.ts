/**
 * A private Docker registry behind an nginx entrypoint that also serves the web UI.
 *
 *   clients (https://HOST[:PORT]) -> UI container: nginx, TLS, / -> UI, /v2/ -> registry:5000
 *                                 -> registry container (htpasswd, delete on), private network
 *                                 -> named volume /var/lib/registry (kept on destroy)
 *
 * This file only wires resources; configs come from the pure renderers in ./render.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { createRegistryUsers, RegistryUser } from "./registryUsers";
import { renderNginxConfig } from "./render/nginxConfig";
import { renderRegistryConfig } from "./render/registryConfig";
import { renderUiEnvironment } from "./render/uiEnvironment";
import { createServerTls } from "./serverTls";
import {
    containerPorts,
    DeploymentSettings,
    hostNames,
    hostWithPort,
    httpsOrigin,
    paths,
    REGISTRY_ALIAS,
    registryHostName,
    TlsSettings,
    uiHostName,
} from "./settings";

export interface PrivateRegistryArgs {
    /** Validated, non-secret settings (they shape the resource graph). */
    settings: DeploymentSettings;
    /** At least one user. Passwords and the private key are made secrets here, however given. */
    users: RegistryUser[];
    tls: TlsSettings<pulumi.Input<string>>;
}

/** Bounded json-file logs: a chatty registry must not fill the host's disk. */
const LOGGING = { logDriver: "json-file", logOpts: { "max-size": "10m", "max-file": "3" } };
const NO_NEW_PRIVILEGES = ["no-new-privileges:true"];
const RESTART_POLICY = "unless-stopped";

export class PrivateRegistry extends pulumi.ComponentResource {
    /** `https://host[:port]`: the registry API base. */
    public readonly registryUrl: pulumi.Output<string>;
    /** Where browsers open the UI. */
    public readonly uiUrl: pulumi.Output<string>;
    /** `host[:port]` as `docker login`, `docker push` and `/etc/docker/certs.d/` spell it. */
    public readonly registryAddress: pulumi.Output<string>;
    /** PEM of the CA to trust; empty when the certificate is provided by the user. */
    public readonly caCertificate: pulumi.Output<string>;
    public readonly userNames: pulumi.Output<string[]>;
    /** Secret: user -> generated password. */
    public readonly generatedPasswords: pulumi.Output<Record<string, string>>;
    public readonly dockerLoginCommand: pulumi.Output<string>;
    public readonly volumeName: pulumi.Output<string>;

    constructor(name: string, args: PrivateRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("private-registry:index:PrivateRegistry", name, {}, opts);
        const { settings } = args;
        const child = { parent: this };
        const labels = dockerLabels(settings.labels, name);

        const network = new docker.Network(`${name}-network`, {
            name: `${name}-network`,
            driver: "bridge",
            labels: labels("network"),
        }, child);

        // retainOnDelete on the volume itself (it is not inherited from a component's
        // options): `pulumi destroy` keeps the images; the next `up` adopts the volume by name.
        const volume = new docker.Volume(`${name}-data`, {
            name: `${name}-data`,
            labels: labels("data"),
        }, { ...child, retainOnDelete: true });

        const registryImage = new docker.RemoteImage(`${name}-registry-image`, { name: settings.images.registry, keepLocally: true }, child);
        const uiImage = new docker.RemoteImage(`${name}-ui-image`, { name: settings.images.ui, keepLocally: true }, child);

        const serverTls = createServerTls(name, hostNames(settings.topology), args.tls, this);
        const users = createRegistryUsers(name, args.users, settings.bcryptCost, this);
        const httpSecret = new random.RandomPassword(`${name}-http-secret`, { length: 64, special: false }, child);

        const registry = new docker.Container(`${name}-registry`, {
            name: `${name}-registry`,
            image: registryImage.imageId,
            restart: RESTART_POLICY,
            networksAdvanced: [{ name: network.name, aliases: [REGISTRY_ALIAS] }],
            volumes: [{ volumeName: volume.name, containerPath: paths.registryData }],
            uploads: [
                {
                    file: paths.registryConfig,
                    content: renderRegistryConfig({ logLevel: settings.registryLogLevel, realm: `${name} registry` }),
                },
                { file: paths.htpasswd, content: users.htpasswd, permissions: "0400" },
            ],
            envs: pulumi.secret(pulumi.interpolate`REGISTRY_HTTP_SECRET=${httpSecret.result}`.apply((env) => [env])),
            healthcheck: {
                tests: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${containerPorts.registry}/`],
                interval: "10s",
                timeout: "5s",
                retries: 3,
                startPeriod: "10s",
            },
            wait: true,
            waitTimeout: 120,
            // The registry runs as root on its own files and an unprivileged port: it needs no capability.
            capabilities: { drops: ["ALL"] },
            securityOpts: NO_NEW_PRIVILEGES,
            ...LOGGING,
            labels: labels("registry"),
        }, { ...child, deleteBeforeReplace: true, replaceOnChanges: ["healthcheck"] });

        const publish = (internal: number, external: number) => ({ internal, external, ip: settings.bindAddress, protocol: "tcp" });
        new docker.Container(`${name}-ui`, {
            name: `${name}-ui`,
            image: uiImage.imageId,
            restart: RESTART_POLICY,
            networksAdvanced: [{ name: network.name }],
            ports: [
                publish(containerPorts.uiHttps, settings.httpsPort),
                ...(settings.httpPort === undefined ? [] : [publish(containerPorts.uiHttp, settings.httpPort)]),
            ],
            envs: renderUiEnvironment(settings.ui, settings.topology, settings.httpsPort),
            uploads: [
                {
                    file: paths.nginxSiteConfig,
                    content: renderNginxConfig({ topology: settings.topology, httpsPort: settings.httpsPort, cors: settings.cors }),
                },
                { file: paths.tlsCertificate, content: serverTls.certificatePem },
                { file: paths.tlsPrivateKey, content: serverTls.privateKeyPem, permissions: "0400" },
            ],
            healthcheck: {
                tests: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${containerPorts.uiHttp}/healthz`],
                interval: "10s",
                timeout: "5s",
                retries: 3,
                startPeriod: "5s",
            },
            wait: true,
            waitTimeout: 120,
            // nginx's master binds 80/443 as root, then switches its workers to an unprivileged
            // user. The UI image owns its html and nginx folders by that user, so the root
            // entrypoint that fills settings into index.html needs DAC_OVERRIDE to write there.
            capabilities: { drops: ["ALL"], adds: ["CHOWN", "DAC_OVERRIDE", "NET_BIND_SERVICE", "SETGID", "SETUID"] },
            securityOpts: NO_NEW_PRIVILEGES,
            ...LOGGING,
            labels: labels("ui"),
        }, { ...child, dependsOn: [registry], deleteBeforeReplace: true, replaceOnChanges: ["healthcheck"] });

        const address = hostWithPort(registryHostName(settings.topology), settings.httpsPort);
        const firstUser = users.names[0];
        this.registryUrl = pulumi.output(httpsOrigin(registryHostName(settings.topology), settings.httpsPort));
        this.uiUrl = pulumi.output(`${httpsOrigin(uiHostName(settings.topology), settings.httpsPort)}/`);
        this.registryAddress = pulumi.output(address);
        this.caCertificate = serverTls.caCertificatePem ?? pulumi.output("");
        this.userNames = pulumi.output(users.names);
        this.generatedPasswords = users.generatedPasswords;
        this.dockerLoginCommand = pulumi.output(
            args.users[0].password === undefined
                ? `pulumi stack output generatedPasswords --show-secrets --json | jq -r '.["${firstUser}"]' | docker login ${address} --username ${firstUser} --password-stdin`
                : `docker login ${address} --username ${firstUser}`,
        );
        this.volumeName = volume.name;

        this.registerOutputs({
            registryUrl: this.registryUrl,
            uiUrl: this.uiUrl,
            registryAddress: this.registryAddress,
            caCertificate: this.caCertificate,
            userNames: this.userNames,
            generatedPasswords: this.generatedPasswords,
            dockerLoginCommand: this.dockerLoginCommand,
            volumeName: this.volumeName,
        });
    }
}

/** Labels for one role: ours first (they identify the stack), then the user's. */
function dockerLabels(extra: Record<string, string>, stackName: string) {
    return (role: string): { label: string; value: string }[] => {
        const all: Record<string, string> = { ...extra, "private-registry.name": stackName, "private-registry.role": role };
        return Object.keys(all).sort().map((label) => ({ label, value: all[label] }));
    };
}
