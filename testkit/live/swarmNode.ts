/**
 * The swarm the Swarm resources need (docker:index/service:Service, Secret, ServiceConfig).
 * A swarm the tests initialize carries the label TEST_SWARM_LABEL, so a later run knows one
 * that an interrupted run left (and clears it, or takes it over); a swarm without the label
 * is someone else's, which is used as it is and never left.
 */
import type Docker from "dockerode";

/** The label (key=value) in the spec of every swarm the tests initialize. */
export const TEST_SWARM_LABEL = "private-registry.test=swarm";
const [LABEL_KEY, LABEL_VALUE] = TEST_SWARM_LABEL.split("=");

export interface SwarmState {
    /** True when the tests own the swarm (this process made it or took it over), and so leave it. */
    readonly initialized: boolean;
}

interface SwarmInfo {
    LocalNodeState?: string;
    ControlAvailable?: boolean;
    NodeAddr?: string;
}

async function swarmInfo(docker: Docker): Promise<SwarmInfo> {
    return ((await docker.info()) as { Swarm?: SwarmInfo }).Swarm ?? {};
}

/** True when the engine manages a swarm that the tests initialized (it carries TEST_SWARM_LABEL). */
export async function isTestSwarm(docker: Docker): Promise<boolean> {
    const spec = ((await docker.swarmInspect()) as { Spec?: { Labels?: Record<string, string> } }).Spec;
    return spec?.Labels?.[LABEL_KEY] === LABEL_VALUE;
}

/**
 * Makes the engine a swarm manager that advertises `advertise` (127.0.0.1 unless given; other
 * nodes join there). With no swarm: `docker swarm init` with TEST_SWARM_LABEL. A swarm
 * the tests initialized, which an interrupted run left: taken over, or left and initialized
 * again when it advertises another address. Someone else's manager: used as it is when it
 * advertises `advertise` (or `advertise` is not given). Anything else (someone else's swarm
 * on another address, pending, error, locked, a worker) is an error, and nothing is changed.
 */
export async function ensureSwarm(docker: Docker, advertise?: string): Promise<SwarmState> {
    const address = advertise ?? "127.0.0.1";
    const init = async (): Promise<SwarmState> => {
        await docker.swarmInit({ ListenAddr: "0.0.0.0:2377", AdvertiseAddr: address, Spec: { Labels: { [LABEL_KEY]: LABEL_VALUE } } });
        return { initialized: true };
    };
    const info = await swarmInfo(docker);
    const state = info.LocalNodeState ?? "inactive";
    if (state === "inactive") return init();
    const manager = state === "active" && info.ControlAvailable === true;
    const addressFits = advertise === undefined || info.NodeAddr === advertise;
    if (manager && (await isTestSwarm(docker))) {
        if (addressFits) return { initialized: true };
        await docker.swarmLeave({ force: true });
        return init();
    }
    if (manager && addressFits) return { initialized: false };
    const why = state !== "active" ? "" : !manager ? " but this node is not a manager" : ` on ${info.NodeAddr}, where no other node can join`;
    throw new Error(
        `the Docker engine's swarm is "${state}"${why}: ` +
            `Swarm services need a manager node (docker swarm init --advertise-addr ${address} on an engine without a swarm)`,
    );
}

/** `docker swarm leave --force`, only if the tests own the swarm (`ensureSwarm` made it or took it over). */
export async function leaveSwarmIfInitialized(docker: Docker, state: SwarmState): Promise<void> {
    if (!state.initialized) return;
    await docker.swarmLeave({ force: true });
}
