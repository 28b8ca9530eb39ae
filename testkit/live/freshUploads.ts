/**
 * Uploads that a lost registry task can cut in the middle: docker pushes and skopeo copies
 * of local images with one fresh 8 MiB layer each, through a stack's entrypoint, as admin.
 * A step never throws for the client's failure: it counts it (with the end of what the
 * client printed) and says whether the upload went through, so that a scenario can judge
 * what failed and run the same command again. What the steps need (the CA's trust, a
 * logged-in docker) is set up once; `cleanup` undoes it.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClientResult, dockerLoggedIn, skopeo } from "./clients";
import { dockerCli, LiveDeployment } from "./liveDeployment";

export interface UploadsSeen {
    dockerPushes: number;
    /** docker's own retries of a layer upload, over all its pushes (each prints a countdown, "Retrying in 5 seconds", "4 seconds"...). */
    dockerRetries: number;
    dockerFailed: string[];
    skopeoCopies: number;
    skopeoFailed: string[];
}

/** One upload to `<repositoryPrefix>-<client>-<loop>:<turn>`: true when it went through. */
export type UploadStep = (turn: number) => Promise<boolean>;

export interface FreshUploads {
    seen: UploadsSeen;
    dockerPush(loop: string): UploadStep;
    skopeoCopy(loop: string): UploadStep;
    /** The docker CLI, logged in as admin (for pulls beside the uploads). */
    docker(args: string[]): Promise<ClientResult>;
    cleanup(): void;
}

/** The countdowns in a docker push's output: a layer's line "Retrying in N" that does not follow its own "N + 1". */
function retriesIn(output: string): number {
    const last = new Map<string, number>();
    let retries = 0;
    for (const [, layer, seconds] of output.matchAll(/^(\w+): Retrying in (\d+) seconds?/gm)) {
        if (last.get(layer) !== Number(seconds) + 1) retries++;
        last.set(layer, Number(seconds));
    }
    return retries;
}

export async function freshUploads(live: LiveDeployment, repositoryPrefix: string): Promise<FreshUploads> {
    const address = live.outputs.registryAddress;
    const untrust = live.trustCaForDocker();
    const { docker, cleanup: logout } = await dockerLoggedIn(address, "admin", live.adminPassword);
    const work = mkdtempSync(join(tmpdir(), "pr-fresh-uploads-"));
    const seen: UploadsSeen = { dockerPushes: 0, dockerRetries: 0, dockerFailed: [], skopeoCopies: 0, skopeoFailed: [] };
    /** A local image with one fresh 8 MiB layer: an upload a lost task can cut in the middle. */
    const freshImage = async (ref: string) => {
        const dir = mkdtempSync(join(work, "layer-"));
        writeFileSync(join(dir, "blob"), randomBytes(8 * 1024 * 1024));
        execFileSync("tar", ["-cf", `${dir}.tar`, "-C", dir, "blob"]);
        await dockerCli(["import", `${dir}.tar`, ref]);
        rmSync(dir, { recursive: true, force: true });
        rmSync(`${dir}.tar`, { force: true });
    };
    const creds = `admin:${live.adminPassword}`;
    const certDir = `/etc/docker/certs.d/${address}`;
    return {
        seen,
        docker,
        dockerPush: (loop) => async (turn) => {
            const ref = `${address}/${repositoryPrefix}-docker-${loop}:${turn}`;
            await freshImage(ref);
            const pushed = await docker(["push", ref]);
            seen.dockerRetries += retriesIn(pushed.output);
            if (pushed.ok) seen.dockerPushes++;
            else seen.dockerFailed.push(pushed.output.slice(-400));
            await dockerCli(["rmi", ref]);
            return pushed.ok;
        },
        skopeoCopy: (loop) => async (turn) => {
            const local = `private-registry-fresh-upload/${loop}:${turn}`;
            await freshImage(local);
            const copied = await skopeo(["copy", "--dest-cert-dir", certDir, "--dest-creds", creds,
                `docker-daemon:${local}`, `docker://${address}/${repositoryPrefix}-skopeo-${loop}:${turn}`]);
            if (copied.ok) seen.skopeoCopies++;
            else seen.skopeoFailed.push(copied.output.split("\n").filter((l) => /level=(error|fatal)|FATA|Error/.test(l)).join(" | ").slice(-400));
            await dockerCli(["rmi", local]);
            return copied.ok;
        },
        cleanup: () => {
            logout();
            untrust();
            rmSync(work, { recursive: true, force: true });
        },
    };
}
