/**
 * Every container of the deployment gets the same treatment: no capabilities but those it
 * names, no privilege escalation, a restart policy, bounded logs, an HTTP health check the
 * provider waits for, and the replacement options its fixed name and ports need.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DRAIN_SECONDS } from "./drain";
import { DockerLabel } from "./labels";

/** Bounded json-file logs: a chatty registry must not fill the host's disk. */
const LOGGING = { logDriver: "json-file", logOpts: { "max-size": "10m", "max-file": "3" } };
const NO_NEW_PRIVILEGES = ["no-new-privileges:true"];
const RESTART_POLICY = "unless-stopped";
const WAIT_TIMEOUT_SECONDS = 120;
/** The stop grace: the drain, plus the process's own shutdown. */
const STOP_GRACE_SECONDS = DRAIN_SECONDS + 10;

/** A file put into the container before it starts. */
export interface ContainerFile {
    file: string;
    content: pulumi.Input<string>;
    /** Octal, as a string; default 0644. */
    permissions?: "0400" | "0600" | "0755";
    /** Holds a secret (a Swarm secret rather than a config on that target). */
    secret?: boolean;
}

export interface ContainerSpec {
    /** The resource name, and Docker's container name (with createBeforeDelete, its start: see there). */
    name: string;
    image: pulumi.Input<string>;
    labels: DockerLabel[];
    /** Absent: no network at all. */
    network?: { name: pulumi.Input<string>; aliases?: string[] };
    /**
     * Default false: the old container goes before the new one starts (a fixed name and
     * fixed host ports need that). True: the new one starts beside the old one, which goes
     * once the new one is healthy; Docker's name is then the provider's: `<name>-<7 random
     * hex digits>`, kept while the container is, and new at every replacement (whatever
     * causes it, `pulumi up --replace` too).
     */
    createBeforeDelete?: boolean;
    /** Default false: true keeps the image the container was made with (a container whose image does not matter). */
    keepImage?: boolean;
    /** The health check command (see `httpHealth`). */
    healthCheck: string[];
    /** How long the process may take to come up before failed probes count. */
    startPeriod: string;
    /** Added to an empty set: every container drops ALL first. */
    capabilities?: string[];
    /** The signal on which the process stops taking new work and finishes what it has. */
    stopSignal: "SIGTERM" | "SIGQUIT";
    ports?: docker.types.input.ContainerPort[];
    envs?: pulumi.Input<pulumi.Input<string>[]>;
    uploads?: ContainerFile[];
    volumes?: docker.types.input.ContainerVolume[];
    dependsOn?: pulumi.Resource[];
    /** Instead of the image's entrypoint (then `command` is its arguments). */
    entrypoint?: string[];
    /** Instead of the image's command. */
    command?: string[];
    /** The process's user, when not the image's (`uid:gid`). */
    user?: string;
    /** Docker's init as PID 1, for processes that do not handle signals as PID 1. */
    init?: boolean;
    /**
     * Kernel settings of the container's own network namespace (`net.*`). Default: none, so
     * the kernel's values for a new namespace (not the host's tuned ones).
     */
    sysctls?: Readonly<Record<string, string>>;
}

/** A health check that fetches a URL inside the container with busybox `wget`. */
export function httpHealth(url: string): string[] {
    return ["CMD", "wget", "-q", "-O", "/dev/null", url];
}

export function hardenedContainer(spec: ContainerSpec, parent: pulumi.Resource): docker.Container {
    return new docker.Container(spec.name, {
        // Else the provider names it (autonaming): a name no predecessor has.
        ...(spec.createBeforeDelete ? {} : { name: spec.name }),
        ...containerArgs(spec),
    }, {
        parent,
        dependsOn: spec.dependsOn,
        // A fixed name and fixed host ports: the old container must go before the new one starts.
        deleteBeforeReplace: !spec.createBeforeDelete,
        // The provider silently ignores health check changes (it updates nothing in place).
        replaceOnChanges: ["healthcheck"],
        ignoreChanges: spec.keepImage ? ["image"] : undefined,
    });
}

function containerArgs(spec: ContainerSpec): Omit<docker.ContainerArgs, "name"> {
    return {
        image: spec.image,
        restart: RESTART_POLICY,
        ...(spec.network ? { networksAdvanced: [spec.network] } : { networkMode: "none" }),
        entrypoints: spec.entrypoint,
        command: spec.command,
        user: spec.user,
        init: spec.init,
        sysctls: spec.sysctls,
        ports: spec.ports,
        envs: spec.envs,
        uploads: spec.uploads?.map(({ file, content, permissions }) => ({ file, content, permissions })),
        volumes: spec.volumes,
        healthcheck: {
            tests: spec.healthCheck,
            interval: "10s",
            timeout: "5s",
            retries: 3,
            startPeriod: spec.startPeriod,
        },
        wait: true,
        waitTimeout: WAIT_TIMEOUT_SECONDS,
        stopSignal: spec.stopSignal,
        destroyGraceSeconds: STOP_GRACE_SECONDS,
        capabilities: spec.capabilities ? { drops: ["ALL"], adds: spec.capabilities } : { drops: ["ALL"] },
        securityOpts: NO_NEW_PRIVILEGES,
        ...LOGGING,
        labels: spec.labels,
    };
}
