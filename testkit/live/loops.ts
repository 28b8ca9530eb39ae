/**
 * Client traffic while something changes the deployment: each named step runs in a loop
 * until `during` has finished (or failed); every failure is kept with its loop and turn.
 */
import { randomBytes } from "node:crypto";
import { RegistryClient } from "./registryClient";

export type LoopStep = (turn: number) => Promise<unknown>;

/** Returns the failures, `name #turn: error`, in the order they happened. */
export async function loopWhile(steps: Record<string, LoopStep>, during: () => Promise<void>): Promise<string[]> {
    const failures: string[] = [];
    let running = true;
    const loop = async (name: string, step: LoopStep) => {
        for (let turn = 0; running; turn++) {
            try {
                await step(turn);
            } catch (e) {
                failures.push(`${name} #${turn}: ${String(e)}`);
            }
        }
    };
    const loops = Object.entries(steps).map(([name, step]) => loop(name, step));
    try {
        await during();
    } finally {
        running = false;
        await Promise.all(loops);
    }
    return failures;
}

export interface PullPushLoadOptions {
    /** The image every pull fetches and verifies: repository and tag. */
    pull: [string, string];
    /** Pushes go to `<pushPrefix>push-a` and `<pushPrefix>push-b`, a fresh 64 KiB layer each. */
    pushPrefix: string;
    pushes: boolean;
    /** How often a failed pull is tried again, a second later, as docker does (counted in `retried`). */
    retries: number;
}

/**
 * Two pull loops (and, with `pushes`, two push loops) run while `during` does; every pull
 * is verified.
 */
export async function pullPushLoad(
    client: RegistryClient, options: PullPushLoadOptions, during: () => Promise<void>,
): Promise<{ failures: string[]; counts: { pulls: number; pushes: number; retried: number } }> {
    const counts = { pulls: 0, pushes: 0, retried: 0 };
    const push = (name: string) => async (i: number) => {
        await client.pushImage(`${options.pushPrefix}${name}`, `t${i}`, randomBytes(64 * 1024));
        counts.pushes++;
    };
    const pull = async () => {
        for (let attempt = 0; ; attempt++) {
            try {
                await client.pullAndVerify(...options.pull);
                counts.pulls++;
                return;
            } catch (e) {
                if (attempt >= options.retries) throw e;
                counts.retried++;
                // As docker does: a pause before the retry (its back-off starts at 1 s).
                await new Promise((r) => setTimeout(r, 1000));
            }
        }
    };
    const steps = { "pull a": pull, "pull b": pull, ...(options.pushes ? { "push-a": push("push-a"), "push-b": push("push-b") } : {}) };
    return { failures: await loopWhile(steps, during), counts };
}
