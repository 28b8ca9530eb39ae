/** Which host names clients use, and for what. Pure. */

/** How UI and registry share host names. */
export const TopologyKind = {
    /** UI at `/` and the registry API at `/v2/` on one host: no CORS needed. */
    OneOrigin: "one-origin",
    /** Two host names on one port (SNI): the UI calls the registry cross-origin. */
    SplitDomains: "split-domains",
} as const;
export type TopologyKind = (typeof TopologyKind)[keyof typeof TopologyKind];

export type Topology =
    /** UI at `/` and the registry API at `/v2/` on one host: no CORS needed. */
    | { kind: "one-origin"; host: string }
    /** Two host names on one port (SNI): the UI calls the registry cross-origin. */
    | { kind: "split-domains"; registryHost: string; uiHost: string };

/** Every host name clients may use, in a stable order. */
export function hostNames(topology: Topology): string[] {
    return topology.kind === "one-origin" ? [topology.host] : [topology.registryHost, topology.uiHost];
}

/** The host name the docker CLI talks to. */
export function registryHostName(topology: Topology): string {
    return topology.kind === "one-origin" ? topology.host : topology.registryHost;
}

/** The host name browsers open for the UI. */
export function uiHostName(topology: Topology): string {
    return topology.kind === "one-origin" ? topology.host : topology.uiHost;
}
