/**
 * The entrypoint's bound on a lost node's silence (components/entrypoint/lostPeer.ts): the
 * settings are the kernel's own network-namespace knobs, and they give the bounds the
 * docs state; nginx accepts the proxy directive that makes them apply. That the swarm's
 * entrypoint runs with both is the live suite's (test/live/swarmNodes.test.ts).
 */
import { strict as assert } from "node:assert";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOST_PEER_SYSCTLS, lostPeerProxyDirectives } from "../../components/entrypoint/lostPeer";
import { nginxSyntaxCheck } from "../../testkit/nginxSyntax";
import { requireTool } from "../../testkit/requireTool";

/** Linux's RTO bounds (include/net/tcp.h): TCP_RTO_MIN 200 ms, TCP_RTO_MAX 120 s. */
const RTO_MIN_SECONDS = 0.2;
const RTO_MAX_SECONDS = 120;

/** How long Linux retransmits unacknowledged data before it gives up, with `retries` (tcp_retries2), from the minimum RTO. */
function retransmissionSeconds(retries: number): number {
    let total = 0;
    for (let i = 0; i <= retries; i++) total += Math.min(RTO_MIN_SECONDS * 2 ** i, RTO_MAX_SECONDS);
    return total;
}

/** nginx -t on a minimal config whose one location proxies with `directives`. */
function nginxTest(directives: string[]): { status: number | null; output: string } {
    const dir = mkdtempSync(join(tmpdir(), "pr-lost-peer-"));
    try {
        return nginxSyntaxCheck(dir, [
            "server {",
            "    listen 127.0.0.1:18999;",
            "    location / {",
            "        proxy_pass http://127.0.0.1:9;",
            ...directives.map((d) => `        ${d}`),
            "    }",
            "}",
        ]);
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

describe("the entrypoint's bound on a lost node's silence", () => {
    const setting = (key: string) => Number(LOST_PEER_SYSCTLS[`net.ipv4.${key}`]);

    it("sets only kernel knobs that exist, and only net.* ones (per network namespace; Docker allows them in a task's own)", () => {
        for (const key of Object.keys(LOST_PEER_SYSCTLS)) {
            assert.match(key, /^net\.ipv4\.tcp_/);
            assert.ok(existsSync(join("/proc/sys", ...key.split("."))), `${key}: no such kernel setting`);
        }
    });

    it("ends a silent connection 25 s after the peer's last word, and gives up on unacknowledged data after about 100 s (no less: RFC 1122)", () => {
        assert.equal(setting("tcp_keepalive_time") + setting("tcp_keepalive_intvl") * setting("tcp_keepalive_probes"), 25);
        const retransmitting = retransmissionSeconds(setting("tcp_retries2"));
        assert.ok(retransmitting >= 100 && retransmitting < 110, `${retransmitting} s`);
        // Linux's default, 15 tries: what a lost node cost before.
        assert.ok(retransmissionSeconds(15) > 900, `${retransmissionSeconds(15)} s`);
    });

    it("keeps the proxied connection alive, which nginx accepts in a proxy location", function () {
        requireTool(this, "nginx", "nginx");
        assert.ok(lostPeerProxyDirectives().includes("proxy_socket_keepalive on;"));
        const accepted = nginxTest(lostPeerProxyDirectives());
        assert.equal(accepted.status, 0, accepted.output);
        // The check can fail: a directive nginx does not know.
        assert.notEqual(nginxTest(["proxy_socket_keepalive always;"]).status, 0);
    });
});
