/**
 * How long the program takes to evaluate under the mock runtime (what `pulumi preview`
 * spends in our code), for 1, 10 and 100 users: each user costs one bcrypt hash.
 */
import { runProgram } from "../testkit/mockProgram";

export async function evaluationSeconds(users: number, repeats = 3): Promise<number[]> {
    const config = {
        host: "localhost",
        users: JSON.stringify(Array.from({ length: users }, (_, i) => ({ name: `user-${i}` }))),
    };
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) {
        const start = process.hrtime.bigint();
        const run = await runProgram(config, { stack: "bench" });
        times.push(Number(process.hrtime.bigint() - start) / 1e9);
        if (run.resources.length < users) throw new Error("the program did not register every user");
    }
    return times;
}
