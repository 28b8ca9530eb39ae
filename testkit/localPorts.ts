import { createServer, Server } from "node:net";

/**
 * Ports on 127.0.0.1 that nothing listens on now, one per name, all different: the kernel
 * picks each (port 0) while all are held, then they are let go for the caller's nginx.
 * Fixed ports failed whenever anything else held one: an nginx left by a killed test process
 * (StrykerJS kills a worker whose mutant times out), or a second test run on the machine.
 */
export async function freeLocalPorts<K extends string>(...names: K[]): Promise<Record<K, number>> {
    const servers = await Promise.all(names.map(() => listenOnAnyPort()));
    try {
        return Object.fromEntries(names.map((name, i) => [name, portOf(servers[i])])) as Record<K, number>;
    } finally {
        await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    }
}

function listenOnAnyPort(): Promise<Server> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve(server));
    });
}

function portOf(server: Server): number {
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("a TCP listener without a port");
    return address.port;
}
