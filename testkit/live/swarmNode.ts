/**
 * The one-node swarm the Swarm resources need (docker:index/service:Service, Secret,
 * ServiceConfig): joined only when the engine is in none, and left only by the process
 * that joined it, so a swarm someone else initialized (or another test run uses) stays.
 */
import type Docker from "dockerode";

export interface SwarmState {
    /** True when this process initialized the swarm (and so may leave it). */
    readonly initialized: boolean;
}

/**
 * Makes the engine a swarm manager: `docker swarm init --advertise-addr <address>` when its
 * swarm state is inactive (127.0.0.1 unless `advertise` names an address); an active
 * manager is used as it is, if it advertises that address when `advertise` is given (other
 * nodes join there). Any other state (pending, error, locked, a worker) is an error:
 * nothing is changed.
 */
export async function ensureSwarm(docker: Docker, advertise?: string): Promise<SwarmState> {
    const info = (await docker.info()) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean; NodeAddr?: string } };
    const state = info.Swarm?.LocalNodeState ?? "inactive";
    const address = advertise ?? "127.0.0.1";
    if (state === "inactive") {
        await docker.swarmInit({ ListenAddr: "0.0.0.0:2377", AdvertiseAddr: address });
        return { initialized: true };
    }
    if (state === "active" && info.Swarm?.ControlAvailable && (advertise === undefined || info.Swarm.NodeAddr === advertise)) return { initialized: false };
    const why = state !== "active" ? "" : !info.Swarm?.ControlAvailable ? " but this node is not a manager" : ` on ${info.Swarm.NodeAddr}, where no other node can join`;
    throw new Error(
        `the Docker engine's swarm is "${state}"${why}: ` +
            `Swarm services need a manager node (docker swarm init --advertise-addr ${address} on an engine without a swarm)`,
    );
}

/** `docker swarm leave --force`, only if `ensureSwarm` initialized the swarm in this process. */
export async function leaveSwarmIfInitialized(docker: Docker, state: SwarmState): Promise<void> {
    if (!state.initialized) return;
    await docker.swarmLeave({ force: true });
}
