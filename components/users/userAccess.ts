/**
 * How the users reach nginx: a small container (from the registry's image, no network,
 * no capabilities) installs the htpasswd and the grants (and Prometheus's htpasswd, with
 * metrics.password) into a volume the entrypoint mounts read-only. A user change replaces
 * only this container; the files it leaves in the volume keep serving until the new one
 * switches them, so no request fails.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { LabelSets } from "../common/labels";
import { paths } from "../common/paths";
import { Runtime } from "../common/runtime";
import { renderGrants, UserAccess } from "./access";
import {
    INSTALL_SCRIPT, renderInstallScript, SOURCE_GRANTS, SOURCE_HTPASSWD, SOURCE_METRICS_HTPASSWD,
} from "./installScript";

export interface UserAccessInputs {
    users: readonly UserAccess[];
    /** Secret. */
    htpasswd: pulumi.Output<string>;
    /** Secret: Prometheus's htpasswd for the metrics port, with metrics.password. */
    metricsHtpasswd?: pulumi.Output<string>;
    /** Any image with a POSIX shell and busybox tools: the registry's. */
    image: pulumi.Input<string>;
    runtime: Runtime;
    labels: LabelSets;
}

export interface UserAccessResources {
    /** Mount read-only at `paths.accessDir`. */
    volume: docker.Volume;
    /** Healthy once its users are in force. */
    container: pulumi.Resource;
}

export function createUserAccess(name: string, inputs: UserAccessInputs, parent: pulumi.Resource): UserAccessResources {
    // Not kept on destroy: the next up writes it again. No user labels: fixed name (see LabelSets).
    const volume = new docker.Volume(`${name}-access`, { name: `${name}-access`, labels: inputs.labels.fixedName("access") }, { parent, ignoreChanges: ["labels"] });
    const container = inputs.runtime.run({
        name: `${name}-users`,
        image: inputs.image,
        labels: inputs.labels.container("users"),
        command: ["sh", INSTALL_SCRIPT],
        // Stops at once on SIGTERM (the shell's exec'd sleep as PID 1 would ignore it).
        init: true,
        volumes: [{ volumeName: volume.name, containerPath: paths.accessDir }],
        uploads: [
            { file: INSTALL_SCRIPT, content: renderInstallScript(), permissions: "0755" },
            { file: SOURCE_HTPASSWD, content: inputs.htpasswd, permissions: "0400", secret: true },
            // Not secret: names and scopes only, so a preview shows who gains or loses what.
            { file: SOURCE_GRANTS, content: renderGrants(inputs.users) },
            ...(inputs.metricsHtpasswd
                ? [{ file: SOURCE_METRICS_HTPASSWD, content: inputs.metricsHtpasswd, permissions: "0400" as const, secret: true }] : []),
        ],
        healthCheck: ["CMD", "sh", INSTALL_SCRIPT, "check"],
        startPeriod: "5s",
        stopSignal: "SIGTERM",
        // Root writing root's own files needs no capability.
    }, parent);
    return { volume, container };
}
