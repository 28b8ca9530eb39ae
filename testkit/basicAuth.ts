/** The `Authorization` header value of HTTP Basic authentication (RFC 7617) for a user and password. */
export function basicAuthorization(user: string, password: string): string {
    return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}
