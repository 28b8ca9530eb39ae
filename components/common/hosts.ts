/** Host names, origins and addresses as clients spell them. Pure. */
import { isIP } from "node:net";

const dnsLabel = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** An RFC 1123 host name or an IPv4 literal. */
export function isHostName(host: string): boolean {
    if (isIP(host) === 4) return true;
    if (host.length > 253 || isIP(host) === 6) return false;
    const labels = host.split(".");
    // An all-digit last label would be read as an IP address by clients.
    return labels.every((label) => dnsLabel.test(label)) && !/^\d+$/.test(labels[labels.length - 1]);
}

/** `scheme://host[:port]` (host: a name, an IPv4 or a bracketed IPv6 address) -> canonical origin, or undefined when it is not one. */
export function normalizeOrigin(origin: string): string | undefined {
    const match = /^(https?):\/\/(\[[0-9a-f:.]+\]|[^/:?#[\]]+)(?::(\d{1,5}))?$/i.exec(origin.trim());
    if (!match) return undefined;
    const [, schemeText, host, portText] = match;
    const scheme = schemeText.toLowerCase();
    // An IPv6 host as browsers send it in Origin: bracketed, compressed, lower case.
    const ipv6 = host.startsWith("[") ? host.slice(1, -1) : undefined;
    if (ipv6 !== undefined && isIP(ipv6) !== 6) return undefined;
    const lowerHost = ipv6 !== undefined ? `[${canonicalIp(ipv6)}]` : host.toLowerCase();
    if (ipv6 === undefined && !isHostName(lowerHost)) return undefined;
    if (portText === undefined) return `${scheme}://${lowerHost}`;
    const port = Number(portText);
    if (port < 1 || port > 65535) return undefined;
    const defaultPort = scheme === "https" ? 443 : 80;
    return port === defaultPort ? `${scheme}://${lowerHost}` : `${scheme}://${lowerHost}:${port}`;
}

/** An IP address as the engine (Go's net.IP) prints it: IPv6 compressed per RFC 5952, lowercase. */
export function canonicalIp(address: string): string {
    return isIP(address) === 6 ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}

/** `host` or `host:port`, as a client writes it (port 443 is implied by https). */
export function hostWithPort(host: string, httpsPort: number): string {
    return httpsPort === 443 ? host : `${host}:${httpsPort}`;
}

export function httpsOrigin(host: string, httpsPort: number): string {
    return `https://${hostWithPort(host, httpsPort)}`;
}
