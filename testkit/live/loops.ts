/**
 * Client traffic while something changes the deployment: each named step runs in a loop
 * until `during` has finished (or failed); every failure is kept with its loop and turn.
 */
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
