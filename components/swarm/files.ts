/**
 * A workload's files on a swarm: each one a Swarm config, or a Swarm secret when it holds
 * one. The engine cannot change either in place, so each is named after its content: a
 * change creates the next one, the service moves to it in a rolling update, and the old one
 * is deleted once no task uses it. A fixed name would make every change a replacement that
 * the engine refuses while the service still uses the old object.
 */
import { createHash } from "node:crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ContainerFile } from "../common/container";
import { DockerLabel } from "../common/labels";

export interface SwarmFile {
    config?: docker.ServiceConfig;
    secret?: docker.Secret;
    /** Absolute path inside the task's containers. */
    path: string;
    mode: number;
}

/** The resource name's suffix: the path, readable ("etc-docker-registry-config-yml"). */
function slug(path: string): string {
    return path.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

/**
 * The object's name in the swarm (at most 64 characters): the workload's, then a digest of
 * path and content. A digest, not the content: a secret's name is not secret, and 16 hex
 * digits of a SHA-256 tell nothing about a key or a bcrypt hash.
 */
function objectName(workload: string, path: string, content: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.unsecret(pulumi.output(content).apply((text) => `${workload}-${createHash("sha256").update(`${path}\0${text}`).digest("hex").slice(0, 16)}`));
}

export function swarmFiles(
    workload: string, files: readonly ContainerFile[], labels: DockerLabel[], parent: pulumi.Resource,
): SwarmFile[] {
    return files.map((file) => {
        const resourceName = `${workload}-${slug(file.file)}`;
        const args = {
            name: objectName(workload, file.file, file.content),
            data: pulumi.output(file.content).apply((text) => Buffer.from(text, "utf8").toString("base64")),
            labels,
        };
        const mode = parseInt(file.permissions ?? "0644", 8);
        if (file.secret) {
            const secret = new docker.Secret(resourceName, { ...args, data: pulumi.secret(args.data) }, { parent });
            return { secret, path: file.file, mode };
        }
        return { config: new docker.ServiceConfig(resourceName, args, { parent }), path: file.file, mode };
    });
}
