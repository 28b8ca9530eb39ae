/**
 * The hooks most live scenarios share: a stack deployed fresh (after clearing what an
 * interrupted run left behind), and torn down after the scenario with what it set up.
 */
import { ensureTestImage, LiveDeployment, requireDocker } from "./liveDeployment";
import { RegistryClient } from "./registryClient";

export interface FreshStackOptions {
    /** The scenario runs the docker CLI: the image it pushes must exist first. */
    dockerClients?: boolean;
}

/**
 * Clears leftovers, then deploys `name` with `config`; skips (or fails in CI) without
 * Docker. An up that fails is torn down before the error goes on: the scenario's own
 * teardown never gets the stack.
 */
export async function deployFresh(ctx: Mocha.Context, name: string, config: Record<string, string>, options: FreshStackOptions = {}): Promise<LiveDeployment> {
    requireDocker(ctx);
    await LiveDeployment.clearLeftovers();
    const live = new LiveDeployment(name, config);
    if (options.dockerClients) await ensureTestImage(live.docker);
    try {
        await live.up();
    } catch (error) {
        await tearDown(live);
        throw error;
    }
    return live;
}

/** Runs the scenario's cleanups in order, then destroys the stack for good and clears anything left with the live label. */
export async function tearDown(live: LiveDeployment | undefined, cleanups: readonly (() => unknown)[] = []): Promise<void> {
    for (const cleanup of cleanups) await cleanup();
    if (!live) return;
    await live.destroyForGood().catch((e) => console.error(e));
    await LiveDeployment.clearLeftovers();
}

/** The stack's admin, through its entrypoint on 127.0.0.1, trusting only its CA. */
export function adminClient(live: LiveDeployment, host = "localhost"): RegistryClient {
    return new RegistryClient({ host, port: live.httpsPort, ca: live.outputs.caCertificate, user: "admin", password: live.adminPassword });
}
