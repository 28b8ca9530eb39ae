/**
 * What nginx sends a registry process (a replica or a mirror) with every request: HTTP/1.1
 * on kept-alive connections, and the Host and X-Forwarded-* headers the registry builds
 * its URLs (upload locations, redirects) from.
 */
export function upstreamRequestDirectives(): string[] {
    return [
        "proxy_http_version 1.1;",
        "proxy_set_header Connection \"\";",
        "proxy_set_header Host $http_host;",
        "proxy_set_header X-Real-IP $remote_addr;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
    ];
}
