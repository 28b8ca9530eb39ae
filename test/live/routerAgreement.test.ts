/**
 * The access-control table against the routers of both real registries (2.8.2 and 3.1.1).
 * nginx decides on the URI it sees; the registry acts on the repository and the route its
 * own router finds in that URI. For every request the table says nginx forwards, this
 * sends what the registry receives straight to each release and reads, from its log, the
 * repository (`vars.name`) and the route (which of `vars.reference`, `vars.digest`,
 * `vars.uuid` it parsed) it acted on: the user's grants must cover that repository, and
 * the user's role that route and method. A router that read a URI otherwise than the
 * rules do (a name cut elsewhere, an upload taken for a blob) fails its row.
 */
import { strict as assert } from "node:assert";
import { request as httpRequest } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { UserAccess } from "../../components/users/access";
import { dockerCli, LIVE_LABEL, LiveDeployment, requireDocker, TEST_IMAGES, TEST_IMAGES_SEED } from "../../testkit/live/liveDeployment";
import { Row, rows, users } from "../entrypoint/authorizationTable";

const RELEASES = [
    { version: "2.8.2", image: TEST_IMAGES_SEED.registry, port: 19243 },
    { version: "3.1.1", image: TEST_IMAGES.registry, port: 19244 },
];

/** What the registry logged for one request. */
interface RegistryEntry {
    status: number;
    name?: string;
    reference?: string;
    digest?: string;
    uuid?: string;
}

type Route = "base" | "catalog" | "tags" | "manifest" | "blob" | "upload";

const forwarded = rows
    .map((row, index) => ({ row, index }))
    .filter(({ row }) => row.expect === "forwarded");

describe("live: the access-control table agrees with the routers of registry 2.8.2 and 3.1.1", function () {
    let started = false;

    before(async function () {
        requireDocker(this);
        started = true;
        await LiveDeployment.clearLeftovers();
        for (const release of RELEASES) {
            await dockerCli([
                "run", "-d", "--name", containerName(release.version), "--label", LIVE_LABEL, "--pull", "never",
                "-p", `127.0.0.1:${release.port}:5000`,
                "-e", "REGISTRY_LOG_FORMATTER=json", "-e", "REGISTRY_STORAGE_DELETE_ENABLED=true", "-e", "OTEL_TRACES_EXPORTER=none",
                release.image,
            ]);
        }
        await Promise.all(RELEASES.map((release) => waitServing(release.port)));
    });

    after(async () => {
        if (started) await LiveDeployment.clearLeftovers();
    });

    for (const release of RELEASES) {
        it(`${release.version}: each of the ${forwarded.length} forwarded requests acts on a repository the user's grants cover, by a route the user's role allows`, async () => {
            const locations = new Map<string, string | undefined>();
            for (const { row, index } of forwarded) locations.set(agentOf(index), await send(release.port, row, agentOf(index)));
            const entries = await registryEntries(containerName(release.version));
            const problems: string[] = [];
            for (const { row, index } of forwarded) {
                const entry = withUploadLocation(entries.get(agentOf(index)), locations.get(agentOf(index)));
                const what = `${row.user}: ${registryRequest(row).join(" ")}`;
                if (!entry) {
                    problems.push(`${what}: not in the registry's log`);
                    continue;
                }
                const route = routeOf(registryRequest(row)[0], entry, registryRequest(row)[1]);
                const user = users.find((u) => u.name === row.user) as UserAccess;
                if (entry.name === undefined && !/^\/v2\/(_catalog)?(\?|$)/.test(registryRequest(row)[1])) problems.push(`${what}: the registry routed it to no repository (answered ${entry.status})`);
                if (entry.name !== undefined && !covers(user.repositories, entry.name)) problems.push(`${what}: the registry acted on ${entry.name}, outside ${user.repositories.join(", ")}`);
                if (!roleAllows(user.access, registryRequest(row)[0], route)) problems.push(`${what}: the registry took it as ${route}, which ${user.access} may not ${registryRequest(row)[0]}`);
                if (entry.status >= 500) problems.push(`${what}: answered ${entry.status}`);
            }
            assert.deepEqual(problems, []);
        });
    }

    it("routes every request with an encoded '/' in its path on the decoded path, which nginx, matching the raw one, cannot read: why the table denies them", async () => {
        const encoded = rows.map((row, index) => ({ row, index })).filter(({ row }) => row.expect === "denied" && /%2F/i.test(row.uri.split("?")[0]));
        assert.ok(encoded.length >= 4, `${encoded.length} rows`);
        for (const release of RELEASES) {
            for (const { row, index } of encoded) await send(release.port, row, agentOf(index));
            const entries = await registryEntries(containerName(release.version));
            for (const { row, index } of encoded) {
                const entry = entries.get(agentOf(index));
                // The router's name pattern runs to the last /manifests/, /blobs/ or /tags/ of the decoded path.
                const decodedName = /^\/v2\/(.+)\/(manifests|blobs|tags)\//.exec(decodeURIComponent(row.uri.split("?")[0]))?.[1];
                assert.ok(decodedName !== undefined && entry?.name === decodedName,
                    `${release.version}, ${row.method} ${row.uri}: the registry acted on ${entry?.name}, the decoded path names ${decodedName}`);
            }
        }
    });
});

function containerName(version: string): string {
    return `private-registry-router-${version.replaceAll(".", "-")}`;
}

/** Each row's requests carry their own User-Agent, which the registry logs. */
function agentOf(index: number): string {
    return `authorization-table-row-${index}`;
}

/** What the registry receives for a forwarded row: `[method, uri]`. */
function registryRequest(row: Row): [string, string] {
    const [method, uri] = (row.registryGets ?? `${row.method} ${row.uri}`).split(" ");
    return [method, uri];
}

/** Sends what the registry receives for a row; returns the Location of its answer, if any. */
function send(port: number, row: Row, agent: string): Promise<string | undefined> {
    const [method, path] = registryRequest(row);
    return new Promise((resolve, reject) => {
        const req = httpRequest({ host: "127.0.0.1", port, method, path, headers: { ...(row.headers ?? {}), "User-Agent": agent } }, (res) => {
            res.resume();
            res.on("end", () => resolve(res.headers.location));
        });
        req.on("error", reject);
        req.end(row.body);
    });
}

async function waitServing(port: number): Promise<void> {
    for (let attempt = 0; attempt < 60; attempt++) {
        const status = await new Promise<number>((resolve) => {
            httpRequest({ host: "127.0.0.1", port, path: "/v2/" }, (res) => { res.resume(); resolve(res.statusCode ?? 0); })
                .on("error", () => resolve(0)).end();
        });
        if (status === 200) return;
        await sleep(500);
    }
    throw new Error(`no registry serving on ${port}`);
}

/** The registry's JSON log entries of completed requests, by User-Agent. */
async function registryEntries(container: string): Promise<Map<string, RegistryEntry>> {
    const entries = new Map<string, RegistryEntry>();
    for (const line of (await dockerCli(["logs", container])).split("\n")) {
        if (!line.startsWith("{")) continue;
        const entry = JSON.parse(line) as Record<string, string | number>;
        if (typeof entry["http.response.status"] !== "number" || typeof entry["http.request.useragent"] !== "string") continue;
        entries.set(entry["http.request.useragent"], {
            status: entry["http.response.status"],
            name: entry["vars.name"] as string | undefined,
            reference: entry["vars.reference"] as string | undefined,
            digest: entry["vars.digest"] as string | undefined,
            uuid: entry["vars.uuid"] as string | undefined,
        });
    }
    return entries;
}

/**
 * 2.8.2 logs no variables for the POST that starts an upload; its answer's Location
 * (`/v2/<name>/blobs/uploads/<uuid>`) says which repository and upload it made.
 */
function withUploadLocation(entry: RegistryEntry | undefined, location: string | undefined): RegistryEntry | undefined {
    const upload = location === undefined ? null : /^(?:https?:\/\/[^/]+)?\/v2\/(.+)\/blobs\/uploads\/([^?/]+)/.exec(location);
    if (!entry || entry.name !== undefined || !upload) return entry;
    return { ...entry, name: upload[1], uuid: upload[2] };
}

/** Which API route the registry dispatched to, from the variables its router parsed. */
function routeOf(method: string, entry: RegistryEntry, uri: string): Route {
    if (entry.uuid !== undefined || (method === "POST" && entry.name !== undefined && entry.digest === undefined && entry.reference === undefined)) return "upload";
    if (entry.reference !== undefined) return "manifest";
    if (entry.digest !== undefined) return "blob";
    if (entry.name !== undefined) return "tags";
    return uri.startsWith("/v2/_catalog") ? "catalog" : "base";
}

/** The roles as the README states them: pull reads; push also uploads and tags; admin also deletes. */
function roleAllows(access: UserAccess["access"], method: string, route: Route): boolean {
    const read = (method === "GET" || method === "HEAD") && route !== "upload";
    if (read) return true;
    if (access === "pull") return false;
    const write = route === "upload" || (route === "manifest" && method === "PUT");
    if (write) return true;
    return access === "admin" && method === "DELETE" && (route === "manifest" || route === "blob");
}

/** Grants as the README states them: `*` is every repository, `p/*` every one below p, anything else exactly that one. */
function covers(grants: readonly string[], repository: string): boolean {
    return grants.some((grant) => grant === "*" || (grant.endsWith("/*") ? repository.startsWith(grant.slice(0, -1)) : repository === grant));
}
