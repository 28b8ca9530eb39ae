// A neighbour's view of the stack: run by `node` as any user, in any network namespace
// (test/live/scaleOut.test.ts runs it as nobody, on the host and inside a container on the
// stack's network). Arguments, each one target:
//   tcp:<ip>          every TCP port 1-65535: which accept a connection
//   unix:<path>       a unix socket: "connected", or the error's code
//   redis:<ip>:<port> the first line Redis answers to PING
// Prints one JSON object, target -> result.
import net from "node:net";

const CONCURRENCY = 512;
const TIMEOUT_MS = 1500;

function attempt(options) {
    return new Promise((resolve) => {
        const socket = net.connect(options);
        const done = (result) => {
            socket.destroy();
            resolve(result);
        };
        socket.setTimeout(TIMEOUT_MS, () => done("timeout"));
        socket.once("connect", () => done("connected"));
        socket.once("error", (error) => done(error.code || String(error)));
    });
}

async function openPorts(host) {
    const open = [];
    let next = 1;
    async function worker() {
        while (next <= 65535) {
            const port = next++;
            if ((await attempt({ host, port })) === "connected") open.push(port);
        }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return open.sort((a, b) => a - b);
}

function redisAnswer(host, port) {
    return new Promise((resolve) => {
        const socket = net.connect({ host, port: Number(port) });
        let answer = "";
        socket.setTimeout(TIMEOUT_MS, () => {
            socket.destroy();
            resolve(answer || "timeout");
        });
        socket.once("connect", () => socket.write("PING\r\n"));
        socket.on("data", (data) => {
            answer += data.toString();
            if (answer.includes("\r\n")) {
                socket.destroy();
                resolve(answer.split("\r\n")[0]);
            }
        });
        socket.once("error", (error) => resolve(error.code || String(error)));
    });
}

async function main() {
    const results = {};
    for (const target of process.argv.slice(2)) {
        const [kind, ...rest] = target.split(":");
        if (kind === "tcp") results[target] = await openPorts(rest.join(":"));
        else if (kind === "unix") results[target] = await attempt({ path: rest.join(":") });
        else if (kind === "redis") results[target] = await redisAnswer(rest[0], rest[1]);
        else throw new Error(`unknown target ${target}`);
    }
    process.stdout.write(`${JSON.stringify(results)}\n`);
}

await main();
