/**
 * The validated shape of a deployment. `components/config/stackConfig.ts` produces it from
 * stack config; the component and the renderers consume it. Values here are plain (they
 * shape the resource graph: names, ports, SANs); secrets travel separately as
 * `pulumi.Output`s, see `PrivateRegistryArgs`.
 */

/** The registry's own cap on `/v2/_catalog?n=` since distribution 2.8.2. */
export const REGISTRY_CATALOG_MAX_ENTRIES = 1000;
/** Larger tag pages make the UI slow to render. */
export const UI_TAGLIST_MAX_PAGE_SIZE = 1000;

/** Where things live inside the containers. One place, so renderers and wiring agree. */
export const paths = {
    registryConfig: "/etc/docker/registry/config.yml",
    registryData: "/var/lib/registry",
    htpasswd: "/auth/htpasswd",
    nginxSiteConfig: "/etc/nginx/conf.d/default.conf",
    tlsCertificate: "/etc/nginx/certs/server.crt",
    tlsPrivateKey: "/etc/nginx/certs/server.key",
    uiRoot: "/usr/share/nginx/html",
} as const;

/** Ports inside the containers (not the published ones). */
export const containerPorts = {
    registry: 5000,
    uiHttp: 80,
    uiHttps: 443,
} as const;

/** The network alias by which nginx reaches the registry. */
export const REGISTRY_ALIAS = "registry";

export type Topology =
    /** UI at `/` and the registry API at `/v2/` on one host: no CORS needed. */
    | { kind: "one-origin"; host: string }
    /** Two host names on one port (SNI): the UI calls the registry cross-origin. */
    | { kind: "split-domains"; registryHost: string; uiHost: string };

export interface CorsSettings {
    /**
     * Exact origins (`scheme://host[:port]`) allowed to call the registry from a browser,
     * always with credentials: the registry answers nothing without them.
     */
    allowedOrigins: string[];
    /** How long browsers may cache a preflight answer. */
    maxAgeSeconds: number;
}

/**
 * Where the server certificate comes from. `Secret` is how the private key travels:
 * a plain string out of validation, a `pulumi.Input` into the component.
 */
export type TlsSettings<Secret = string> =
    | { mode: "self-signed"; validityDays: number }
    | { mode: "provided"; certificatePem: string; privateKeyPem: Secret };

export interface UiSettings {
    title: string;
    deleteImages: boolean;
    showContentDigest: boolean;
    showCatalogNbTags: boolean;
    catalogElementsLimit: number;
    taglistPageSize: number;
}

export interface ImageSettings {
    registry: string;
    ui: string;
}

export type LogLevel = "error" | "warn" | "info" | "debug";

/** The non-secret part of a deployment, as validated from stack config. */
export interface DeploymentSettings {
    topology: Topology;
    /** Published HTTPS port on the host. */
    httpsPort: number;
    /** Published HTTP port that redirects to HTTPS; undefined publishes none. */
    httpPort: number | undefined;
    bindAddress: string;
    bcryptCost: number;
    /** Present only in the split-domains topology. */
    cors: CorsSettings | undefined;
    ui: UiSettings;
    images: ImageSettings;
    registryLogLevel: LogLevel;
    /** Added to every container, network and volume. */
    labels: Record<string, string>;
}

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

/** `host` or `host:port`, as a client writes it (port 443 is implied by https). */
export function hostWithPort(host: string, httpsPort: number): string {
    return httpsPort === 443 ? host : `${host}:${httpsPort}`;
}

export function httpsOrigin(host: string, httpsPort: number): string {
    return `https://${hostWithPort(host, httpsPort)}`;
}
