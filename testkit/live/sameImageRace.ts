/**
 * Pulls of an image racing pushes of the same image under new tags, through the entrypoint:
 * each push rewrites the manifest's revision link, which each pull reads. Registry 2.8.2
 * rewrites it in place (truncate, then write), so a pull can read it empty and get a 500;
 * 3.x renames a new file into place. What the replicas answered comes from their logs.
 */
import { randomBytes } from "node:crypto";
import { LiveDeployment } from "./liveDeployment";
import { loopWhile } from "./loops";
import { MANIFEST_V2, RegistryClient } from "./registryClient";
import { loggedAnswers } from "./replicaLogs";

export interface SameImageRace {
    pushes: number;
    pulls: number;
    /** Pulls the client saw fail: `puller #turn: error`. */
    failedPulls: string[];
    /** Answers the replicas logged during the race (one line each, errors included). */
    registryAnswers: number;
    /** Of those, answers of 500 (the entrypoint may have asked again). */
    registry500s: number;
}

const PUSHERS = 2;
const PULLERS = 3;
/** The pushes cycle through this many tags, so the repository stays small. */
const TAGS = 20;

export async function raceSameImage(live: LiveDeployment, client: RegistryClient, repository: string, seconds: number): Promise<SameImageRace> {
    const image = await client.pushImage(repository, "pulled", randomBytes(4096));
    const manifest = await client.request("GET", `/v2/${repository}/manifests/pulled`, { Accept: MANIFEST_V2 });
    if (manifest.status !== 200) throw new Error(`GET the manifest: ${manifest.status}`);
    const since = new Date().toISOString();
    let pushes = 0;
    let pulls = 0;
    const pusher = async (turn: number) => {
        const put = await client.request("PUT", `/v2/${repository}/manifests/t${turn % TAGS}`, { "Content-Type": MANIFEST_V2 }, manifest.body);
        if (put.status !== 201) throw new Error(`PUT: ${put.status} ${put.body.toString()}`);
        pushes++;
    };
    const puller = async () => {
        const get = await client.request("GET", `/v2/${repository}/manifests/pulled`, { Accept: MANIFEST_V2 });
        if (get.status !== 200 || get.headers["docker-content-digest"] !== image.manifestDigest) {
            throw new Error(`GET: ${get.status} ${get.body.toString().slice(0, 200)}`);
        }
        pulls++;
    };
    const steps = Object.fromEntries([
        ...Array.from({ length: PUSHERS }, (_, i) => [`pusher ${i}`, pusher]),
        ...Array.from({ length: PULLERS }, (_, i) => [`puller ${i}`, puller]),
    ]);
    const failures = await loopWhile(steps, () => new Promise((resolve) => setTimeout(resolve, seconds * 1000)));
    const failedPushes = failures.filter((f) => f.startsWith("pusher"));
    if (failedPushes.length > 0) throw new Error(`pushes failed: ${failedPushes.slice(0, 3).join("; ")}`);
    const answers = await answersSince(live, since);
    return { pushes, pulls, failedPulls: failures, registryAnswers: answers.length, registry500s: answers.filter((a) => a.includes("http.response.status=500")).length };
}

/** Every replica's answers since `since`. */
async function answersSince(live: LiveDeployment, since: string): Promise<string[]> {
    const answers: string[] = [];
    for (const container of live.replicaContainerNames()) answers.push(...await loggedAnswers(container, since));
    return answers;
}
