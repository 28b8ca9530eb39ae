/**
 * A private Docker registry behind an nginx entrypoint that also serves the web UI.
 *
 *   clients (https://HOST[:PORT]) -> entrypoint (UI container): nginx, TLS, users and their
 *                                    access (htpasswd + grants from the access volume),
 *                                    / -> UI, /v2/ -> registry
 *                                 -> registry replicas (delete on): each on its own unix socket in
 *                                    a volume only they and the entrypoint mount (a swarm: TCP
 *                                    on the private network, mutual TLS)
 *                                 -> named volume /var/lib/registry (kept on destroy), or an S3 bucket
 *   redis container: the replicas' shared blob-descriptor cache (cache.driver redis)
 *   users container: installs the htpasswd and grants into the access volume
 *   maintenance container: garbage collection and retention on a schedule
 *
 * Each runs as containers on one engine, or as services of a swarm (./swarm): the parts
 * say what runs, the runtime makes the resources. This file only wires the parts; each part
 * (./entrypoint, ./registry, ./tls, ./users, ./maintenance) holds its config section, its
 * pure renderers and the resources it creates.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { PrivateRegistryArgs } from "./args";
import { hostWithPort, httpsOrigin } from "./common/hosts";
import { dockerLabels, LabelSets } from "./common/labels";
import { dockerRuntime, Runtime } from "./common/runtime";
import { swarmRuntime } from "./swarm/runtime";
import { formatProblems } from "./validation/problems";
import { Deployment, validateArgs } from "./config/validateArgs";
import { createMetricsHtpasswd } from "./metrics/metricsAccess";
import { createEntrypoint } from "./entrypoint/entrypoint";
import { hostNames, registryHostName, uiHostName } from "./entrypoint/topology";
import { createRedisCache } from "./cache/redisCache";
import { createMaintenance } from "./maintenance/maintenance";
import { createMirrors } from "./mirrors/mirror";
import { createRegistry } from "./registry/registry";
import { identityOptions } from "./identity/config";
import { createMutualTls } from "./tls/mutualTls";
import { createServerTls } from "./tls/serverTls";
import { createRegistryUsers } from "./users/registryUsers";
import { createUserAccess } from "./users/userAccess";

export type { PrivateRegistryArgs } from "./args";

// eslint-disable-next-line max-len -- this JSDoc is the package schema's description: a line break would change it
/** A private Docker registry with a web UI, TLS, and users with roles and repository scopes, on one Docker host or a swarm. */
export class PrivateRegistry extends pulumi.ComponentResource {
    /** `https://host[:port]`: the registry API base. */
    public readonly registryUrl: pulumi.Output<string>;
    /** Where browsers open the UI. */
    public readonly uiUrl: pulumi.Output<string>;
    /** `host[:port]` as `docker login`, `docker push` and `/etc/docker/certs.d/` spell it. */
    public readonly registryAddress: pulumi.Output<string>;
    /** PEM of the CA to trust; empty when the certificate is provided by the user. */
    public readonly caCertificate: pulumi.Output<string>;
    /** The configured users, in order. */
    public readonly userNames: pulumi.Output<string[]>;
    /** Secret: user -> generated password, for users without a chosen one. */
    public readonly generatedPasswords: pulumi.Output<Record<string, string>>;
    /** A `docker login` command for the first user. */
    public readonly dockerLoginCommand: pulumi.Output<string>;
    /** The Docker volume that holds the images (kept on destroy); empty with S3 storage. */
    public readonly volumeName: pulumi.Output<string>;
    /** Runs garbage collection (with retention) now and prints its report. */
    public readonly gcCommand: pulumi.Output<string>;

    constructor(name: string, args: PrivateRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validated before the component registers itself: bad args leave nothing behind.
        const deployment = validated(args, name);
        super("private-registry:index:PrivateRegistry", name, {}, opts);
        const { tls, users, registry, maintenance } = createParts(name, deployment, this);

        const { topology, httpsPort } = deployment.entrypoint;
        const address = hostWithPort(registryHostName(topology), httpsPort);
        this.registryUrl = pulumi.output(httpsOrigin(registryHostName(topology), httpsPort));
        this.uiUrl = pulumi.output(`${httpsOrigin(uiHostName(topology), httpsPort)}/`);
        this.registryAddress = pulumi.output(address);
        this.caCertificate = tls.caCertificatePem ?? pulumi.output("");
        this.userNames = pulumi.output(users.names);
        this.generatedPasswords = users.generatedPasswords;
        this.dockerLoginCommand = pulumi.output(loginCommand(address, deployment));
        this.volumeName = registry.volume?.name ?? pulumi.output("");
        this.gcCommand = pulumi.output(maintenance.runNowCommand);
        this.registerOutputs({
            registryUrl: this.registryUrl, uiUrl: this.uiUrl, registryAddress: this.registryAddress,
            caCertificate: this.caCertificate, userNames: this.userNames, generatedPasswords: this.generatedPasswords,
            dockerLoginCommand: this.dockerLoginCommand, volumeName: this.volumeName, gcCommand: this.gcCommand,
        });
    }
}

/** The parts, wired as the diagram above draws them; the ones the outputs come from are returned. */
function createParts(name: string, deployment: Deployment, parent: pulumi.Resource) {
    const { entrypoint } = deployment;
    const labels = dockerLabels(deployment.labels, name);
    const runtime = createRuntime(name, deployment.target, labels, parent);

    const identity = identityOptions(deployment.identity, parent);
    const tls = createServerTls(name, hostNames(entrypoint.topology), deployment.tls, parent, identity);
    const users = createRegistryUsers(name, deployment.users.list, deployment.users.bcryptCost, identity);
    const redis = createRedisCache(name, { settings: deployment.cache, runtime, labels }, parent);
    // A swarm's registry listens where other processes may reach it: only the entrypoint's certificate gets in.
    const link = runtime.kind === "swarm" ? createMutualTls(name, parent) : undefined;
    // A swarm's tasks hand their metrics to the entrypoint over the overlay, with a token only they and it know.
    const metricsRelayToken = runtime.kind === "swarm" && deployment.metrics.enabled
        ? new random.RandomPassword(`${name}-metrics-relay-token`, { length: 48, special: false }, { parent }).result : undefined;
    const registry = createRegistry(name, {
        settings: deployment.registry, storage: deployment.storage, cache: deployment.cache.driver, redis,
        metrics: deployment.metrics.enabled, runtime, labels, identity, link, metricsRelayToken,
    }, parent);
    // Target docker (a swarm refuses mirrors): each publishes its socket beside the replicas'.
    const mirrors = registry.upstreams ? createMirrors(name, {
        mirrors: deployment.mirrors, image: registry.image, logLevel: deployment.registry.logLevel,
        storage: deployment.storage, metrics: deployment.metrics.enabled, upstreams: registry.upstreams,
        runtime, labels,
    }, parent) : [];
    const metricsPassword = deployment.metrics.password;
    const access = createUserAccess(name, {
        users: deployment.users.list, htpasswd: users.htpasswd, image: registry.image, runtime, labels,
        metricsHtpasswd: metricsPassword === undefined
            ? undefined : createMetricsHtpasswd(name, metricsPassword, deployment.users.bcryptCost, parent),
    }, parent);
    const maintenance = createMaintenance(name, {
        settings: deployment.maintenance, storage: deployment.storage, runtime, image: registry.image,
        registrySeries: deployment.registry.series, redisPassword: redis?.password,
        dataVolume: registry.volume, labels,
    }, parent);
    createEntrypoint(name, {
        settings: entrypoint, metrics: deployment.metrics, runtime, tls, labels, realm: `${name} registry`,
        registryReplicas: registry.replicas, upstreams: registry.upstreams,
        mirrors: { settings: deployment.mirrors, workloads: mirrors },
        access, maintenanceVolume: maintenance.volume, link, metricsRelayToken,
    }, parent);
    return { tls, users, registry, maintenance };
}

/** Containers on one engine or services of a swarm, on the stack's own network. */
function createRuntime(name: string, target: Deployment["target"], labels: LabelSets, parent: pulumi.Resource): Runtime {
    // On a swarm, an overlay network across its nodes, attachable: a Prometheus container
    // (or `docker run --network`) can join it.
    const driver = target.kind === "swarm" ? { driver: "overlay", attachable: true } : { driver: "bridge" };
    const network = new docker.Network(`${name}-network`, {
        name: `${name}-network`, ...driver, labels: labels.fixedName("network"),
    }, {
        // Stacks made before user labels left the network keep theirs, without a diff.
        parent, ignoreChanges: ["labels"],
    });
    return target.kind === "swarm" ? swarmRuntime(network, labels, target.entrypointConstraints) : dockerRuntime(network);
}

/** The args, validated with the stack config's rules; a bad one stops the program before any resource. */
function validated(args: PrivateRegistryArgs, componentName: string): Deployment {
    const stack = pulumi.getStack();
    const result = validateArgs(args as unknown as Record<string, unknown>, { stack, componentName });
    // RunError: Pulumi prints the message alone, without a stack trace.
    if (!result.ok) throw new pulumi.RunError(formatProblems(result.problems, stack));
    for (const warning of result.warnings) void pulumi.log.warn(`${warning.key} ${warning.message}. To avoid it: ${warning.fix}`);
    return result.deployment;
}

function loginCommand(address: string, deployment: Deployment): string {
    const first = deployment.users.list[0];
    return first.password === undefined
        ? `pulumi stack output generatedPasswords --show-secrets --json | jq -r '.["${first.name}"]' | docker login ${address} --username ${first.name} --password-stdin`
        : `docker login ${address} --username ${first.name}`;
}
