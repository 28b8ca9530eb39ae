/**
 * Target docker's replicas listen on unix sockets in the stack's upstreams volume, which
 * only the replicas and the entrypoint mount. The engine's host root can reach them where
 * the engine keeps the volume (the trust boundary: docs/access-control.md); the live suite
 * does, as that root, to ask one replica directly, past the entrypoint.
 */
import { request } from "node:http";
import { join } from "node:path";
import { dockerCli, LiveDeployment } from "./liveDeployment";

/** Where the engine keeps the stack's upstreams volume on the host. */
export async function upstreamsMountpoint(live: LiveDeployment): Promise<string> {
    const volume = `${live.namePrefix}-upstreams`;
    return (await dockerCli(["volume", "inspect", "-f", "{{.Mountpoint}}", volume])).trim();
}

/** Replica i's socket, on the host. */
export async function replicaSocket(live: LiveDeployment, replica: number): Promise<string> {
    return join(await upstreamsMountpoint(live), `replica-${replica}.sock`);
}

/** One GET straight to a replica's socket: its status and body. */
export function getFromSocket(socket: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
        const req = request({ socketPath: socket, path, headers: { Host: "registry", ...headers } }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
            res.on("error", reject);
        });
        req.on("error", reject);
        req.end();
    });
}
