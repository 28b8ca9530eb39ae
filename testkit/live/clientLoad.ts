/**
 * Real clients at work while something changes the deployment: docker pushes and pulls,
 * skopeo copies, and raw pushes and verified pulls, each in a loop until the change is done.
 * What the scenarios judge an `up` by: any failure of any of them fails the scenario.
 */
import { strict as assert } from "node:assert";
import { ClientResult, dockerLoggedIn, skopeo } from "./clients";
import { LiveDeployment, PUSHABLE_IMAGE } from "./liveDeployment";
import { loopWhile } from "./loops";
import { PushedImage, RegistryClient } from "./registryClient";

export interface ClientLoadCounts {
    docker: number;
    dockerPulls: number;
    skopeo: number;
    raw: number;
    rawPulls: number;
}

export interface ClientLoadOptions {
    /** The stack; its CA must be trusted by docker (LiveDeployment.trustCaForDocker). */
    live: LiveDeployment;
    /** Raw pushes and pulls go through it as admin. */
    client: RegistryClient;
    /** Raw pushes are added here; raw pulls verify its first image. */
    written: PushedImage[];
    /** Cleanups of the docker config directories this makes. */
    cleanups: (() => void)[];
}

/**
 * docker, skopeo and raw pushes and pulls under `<label>/` while `change` runs; fails if any
 * failed, and returns what each did.
 */
export async function underClientLoad(options: ClientLoadOptions, label: string, change: () => Promise<void>): Promise<ClientLoadCounts> {
    const { live, client, written } = options;
    const address = live.outputs.registryAddress;
    const { docker, cleanup } = await dockerLoggedIn(address, "admin", live.adminPassword);
    options.cleanups.push(cleanup);
    const must = (result: ClientResult, what: string) => { if (!result.ok) throw new Error(`${what}: ${result.output.slice(-800)}`); };
    // Pulls read a repository nobody pushes to meanwhile. Registry 2.8 on filesystem storage
    // can answer a pull 500 while a push of the same image rewrites its link in the same
    // repository (docs/operations.md, "the race it keeps"); that race is its own scenario
    // (test/live/seedReleases.test.ts), not something a change of the deployment causes.
    const source = `${address}/${label}/source:seed`;
    must(await docker(["tag", PUSHABLE_IMAGE, source]), "docker tag");
    must(await docker(["push", source]), "docker push (seed)");
    const creds = `admin:${live.adminPassword}`;
    const certDir = `/etc/docker/certs.d/${address}`;
    const counts: ClientLoadCounts = { docker: 0, dockerPulls: 0, skopeo: 0, raw: 0, rawPulls: 0 };
    const failures = await loopWhile({
        "docker push": async (i) => {
            const ref = `${address}/${label}/docker:d${i}`;
            must(await docker(["tag", PUSHABLE_IMAGE, ref]), "docker tag");
            must(await docker(["push", ref]), `docker push ${ref}`);
            counts.docker++;
        },
        "docker pull": async () => {
            must(await docker(["pull", source]), `docker pull ${source}`);
            counts.dockerPulls++;
        },
        "skopeo copy": async (i) => {
            must(await skopeo(["copy", "--src-cert-dir", certDir, "--dest-cert-dir", certDir, "--src-creds", creds, "--dest-creds", creds,
                `docker://${source}`, `docker://${address}/${label}/skopeo:c${i}`]), "skopeo copy");
            counts.skopeo++;
        },
        "raw push": async (i) => {
            written.push(await client.pushRandomImage(`${label}/raw`, `r${i}`, 64 * 1024));
            counts.raw++;
        },
        "raw pull": async () => {
            await client.pullAndVerify(written[0].repository, written[0].tag);
            counts.rawPulls++;
        },
    }, change);
    assert.deepEqual(failures, [], `failed during ${label}`);
    return counts;
}
