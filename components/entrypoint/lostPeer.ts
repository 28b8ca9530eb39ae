/**
 * A registry task on a swarm node that is lost (powered off, its link cut) sends nothing
 * more, not even a reset: a request nginx has in flight on it would wait its whole
 * `proxy_read_timeout` (15 minutes), and the client with it. The entrypoint's connections
 * to the registry are kept alive (`lostPeerProxyDirectives`, in ./nginxConfig.ts's proxy), and these
 * settings of its network namespace bound how long a dead peer goes unnoticed (a new
 * namespace starts from the kernel's built-in values, not the host's: keepalive after two
 * hours, 15 retransmissions):
 * - waiting for an answer (nothing unacknowledged): probed after 10 s of silence, then
 *   every 5 s; 3 unanswered probes end the connection, 25 s after the peer's last word.
 *   A live peer's kernel answers every probe, however long the registry takes.
 * - sending (a push's body unacknowledged): retransmissions give up after 8 tries. Linux
 *   reckons 8 tries as 102 s (at the 200 ms floor of the retransmission timeout) and ends
 *   the connection at the first retransmission past that: 102 s on a fast round trip, up
 *   to about 200 s on a slow one, whose gaps double from a longer timeout (RFC 1122's
 *   lower bound is 100 s; 15 tries are about 15 minutes).
 * nginx then sends a request still waiting for its answer's header to another task, and
 * fails one it may not send again (an upload's, or a blob already streaming to the client:
 * docker fetches or uploads that layer again by itself).
 *
 * The settings hold for every connection of the entrypoint, its clients' too: a client
 * whose link is down for more than 100 to 200 s while nginx sends to it is dropped, where
 * Linux's default would wait about 15 minutes. Swarm applies service sysctls from Docker
 * 19.03 (API 1.40); the kernel keeps these per network namespace.
 */
export const LOST_PEER_SYSCTLS: Readonly<Record<string, string>> = {
    "net.ipv4.tcp_keepalive_intvl": "5",
    "net.ipv4.tcp_keepalive_probes": "3",
    "net.ipv4.tcp_keepalive_time": "10",
    "net.ipv4.tcp_retries2": "8",
};

/** In the registry's proxy location: the connection kept alive, so that these settings apply to it. */
export function lostPeerProxyDirectives(): string[] {
    return [
        "# TCP keepalive: a task on a lost node sends no reset; the entrypoint's kernel settings",
        "# (lostPeer.ts) end such a connection within 25 s waiting, 100 s sending, not 900 s.",
        "proxy_socket_keepalive on;",
    ];
}
