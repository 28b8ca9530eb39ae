/**
 * CORS, for the split-domains topology: which other origins may call the registry from a
 * browser. nginx answers it (the registry answers preflight with 401 under basic auth).
 */
import { httpsOrigin, normalizeOrigin } from "../common/hosts";
import { KeySpec } from "../validation/keySpec";
import { Validator } from "../validation/validator";
import { Topology } from "./topology";

export const corsKeys: readonly KeySpec[] = [
    {
        key: "cors.allowedOrigins", type: "list", defaultText: "the UI's origin", example: "https://tools.example.com",
        description: "Split-domains: exact `scheme://host[:port]` origins that may call the registry from a browser, with credentials (the registry answers nothing without them). The UI's own origin is always allowed; `*` is refused.",
    },
    {
        key: "cors.maxAgeSeconds", type: "integer", default: 600, range: { min: 0, max: 86400, why: "browsers cap preflight caching at a day or less" },
        example: "3600", description: "How long browsers cache a preflight answer.",
    },
];

export interface CorsSettings {
    /**
     * Exact origins (`scheme://host[:port]`) allowed to call the registry from a browser,
     * always with credentials: the registry answers nothing without them.
     */
    allowedOrigins: string[];
    /** How long browsers may cache a preflight answer. */
    maxAgeSeconds: number;
}

/** Split domains only; undefined in the one-origin topology. */
export function readCors(
    v: Validator, given: unknown, topology: Topology | undefined, httpsPort: number,
): CorsSettings | undefined {
    if (topology?.kind !== "split-domains") {
        if (given !== undefined) {
            v.problem("cors", "is set, but the one-origin topology serves UI and registry from one origin and needs no CORS",
                v.rm("cors", `or: ${v.set("topology", "split-domains")}`));
        }
        return undefined;
    }
    const obj = v.object("cors", given, v.set("cors.allowedOrigins[0]"));
    if (!obj) return undefined;
    const maxAgeSeconds = v.integer("cors.maxAgeSeconds", obj.maxAgeSeconds);
    // The UI's own origin is always allowed (first): without it the UI cannot work.
    const uiOrigin = httpsOrigin(topology.uiHost, httpsPort);
    const origins: string[] = [];
    const extra = obj.allowedOrigins ?? [];
    if (!Array.isArray(extra)) {
        v.problem("cors.allowedOrigins", "must be a list of origins", v.set("cors.allowedOrigins[0]"));
        return undefined;
    }
    extra.forEach((origin: unknown, i: number) => {
        const normalized = readOrigin(v, `cors.allowedOrigins[${i}]`, origin);
        if (normalized && normalized !== uiOrigin && !origins.includes(normalized)) origins.push(normalized);
    });
    // Sorted: the same set of origins in another order must not change nginx's config.
    return { allowedOrigins: [uiOrigin, ...origins.sort()], maxAgeSeconds };
}

function readOrigin(v: Validator, key: string, origin: unknown): string | undefined {
    if (origin === "*") {
        v.problem(key, `is "*": browsers send registry credentials with every call, and they refuse a wildcard origin on credentialed requests; echoing any origin instead would let every web page use your users' credentials`,
            v.set(key, undefined, "list exact origins instead"));
        return undefined;
    }
    const normalized = typeof origin === "string" ? normalizeOrigin(origin) : undefined;
    if (!normalized) {
        v.problem(key, `(${JSON.stringify(origin)}) is not an origin of the form scheme://host[:port] (no path, no trailing slash)`);
    }
    return normalized;
}
