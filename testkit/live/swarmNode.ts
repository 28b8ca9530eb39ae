/**
 * The swarm the Swarm resources need (docker:index/service:Service, Secret, ServiceConfig).
 * A swarm the tests initialize carries the label TEST_SWARM_LABEL, so a later run knows one
 * that an interrupted run left, and makes a new one in its place; a swarm without the label
 * is someone else's, which is used as it is and never left. Live runs do not share an
 * engine (each file clears every object with the live label), so a labelled swarm is
 * never another run's that is still in use.
 */
import type Docker from "dockerode";

/** The label (key=value) in the spec of every swarm the tests initialize. */
export const TEST_SWARM_LABEL = "private-registry.test=swarm";
const [LABEL_KEY, LABEL_VALUE] = TEST_SWARM_LABEL.split("=");

export interface SwarmState {
    /** True when `ensureSwarm` initialized the swarm (so the caller leaves it). */
    readonly initialized: boolean;
}

/** The engine's part in a swarm, as `docker info` reports it (empty fields when in none). */
export interface SwarmInfo {
    LocalNodeState?: string;
    ControlAvailable?: boolean;
    NodeID?: string;
    NodeAddr?: string;
}

export async function swarmInfo(docker: Docker): Promise<SwarmInfo> {
    return ((await docker.info()) as { Swarm?: SwarmInfo }).Swarm ?? {};
}

/** The labels in the spec of the swarm the engine manages (`docker swarm init`'s; a manager only). */
export async function swarmLabels(docker: Docker): Promise<Record<string, string>> {
    return ((await docker.swarmInspect()) as { Spec?: { Labels?: Record<string, string> } }).Spec?.Labels ?? {};
}

/** True when the engine manages a swarm that the tests initialized (it carries TEST_SWARM_LABEL). */
export async function isTestSwarm(docker: Docker): Promise<boolean> {
    return (await swarmLabels(docker))[LABEL_KEY] === LABEL_VALUE;
}

/**
 * Makes the engine a swarm manager that advertises `advertise` (127.0.0.1 unless given; other
 * nodes join there). With no swarm: `docker swarm init` with TEST_SWARM_LABEL. A swarm the
 * tests initialized, which an interrupted run left: left (with whatever it still ran and
 * whichever nodes it had), then initialized again. Someone else's manager: used as it is
 * when it advertises `advertise` (or `advertise` is not given). Anything else (someone
 * else's swarm on another address, pending, error, locked, a worker) is an error, and
 * nothing is changed.
 */
export async function ensureSwarm(docker: Docker, advertise?: string): Promise<SwarmState> {
    const address = advertise ?? "127.0.0.1";
    const info = await swarmInfo(docker);
    const state = info.LocalNodeState ?? "inactive";
    const manager = state === "active" && info.ControlAvailable === true;
    if (manager && (await isTestSwarm(docker))) await docker.swarmLeave({ force: true });
    else if (manager && (advertise === undefined || info.NodeAddr === advertise)) return { initialized: false };
    else if (state !== "inactive") {
        const why = state !== "active" ? "" : !manager ? " but this node is not a manager" : ` on ${info.NodeAddr}, where no other node can join`;
        throw new Error(
            `the Docker engine's swarm is "${state}"${why}: ` +
                `Swarm services need a manager node (docker swarm init --advertise-addr ${address} on an engine without a swarm)`,
        );
    }
    await docker.swarmInit({ ListenAddr: "0.0.0.0:2377", AdvertiseAddr: address, Spec: { Labels: { [LABEL_KEY]: LABEL_VALUE } } });
    return { initialized: true };
}

/** `docker swarm leave --force`, only if `ensureSwarm` initialized the swarm. */
export async function leaveSwarmIfInitialized(docker: Docker, state: SwarmState): Promise<void> {
    if (!state.initialized) return;
    await docker.swarmLeave({ force: true });
}
