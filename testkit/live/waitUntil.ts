/**
 * Polling for a state that real systems reach in their own time (a task rescheduled, an
 * object written after the client got its answer): the one loop every such wait uses.
 */
import { sleep } from "../harness/docker";

/**
 * Calls `probe` every `everyMs` until `done` holds for what it returned, or `withinMs` has
 * passed; returns the last value either way, so the caller's assertion shows what was seen.
 */
export async function waitUntil<T>(probe: () => Promise<T> | T, done: (value: T) => boolean, withinMs: number, everyMs = 1000): Promise<T> {
    const deadline = Date.now() + withinMs;
    let value = await probe();
    while (!done(value) && Date.now() < deadline) {
        await sleep(everyMs);
        value = await probe();
    }
    return value;
}
