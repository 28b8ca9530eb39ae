/**
 * Debian's Chromium, driven by playwright-core, for the browser scenarios. It trusts our
 * server certificate by its public key only (no blanket ignoring of TLS errors), resolves
 * the test host names to 127.0.0.1 itself (never DNS), and runs with the flags that keep
 * it off the network.
 */
import { createHash, X509Certificate } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import * as tls from "node:tls";
import { Browser, BrowserContext, chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOT_DIR = join(__dirname, "..", "..", "test-output");

/** base64 SHA-256 of the SubjectPublicKeyInfo of the certificate served on 127.0.0.1:port. */
export function servedKeyPin(port: number, servername: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const socket = tls.connect({ host: "127.0.0.1", port, servername, rejectUnauthorized: false }, () => {
            const certificate = new X509Certificate(socket.getPeerCertificate(false).raw);
            socket.end();
            const spki = certificate.publicKey.export({ type: "spki", format: "der" });
            resolve(createHash("sha256").update(spki).digest("base64"));
        });
        socket.on("error", reject);
    });
}

export async function launchChromium(keyPins: string[]): Promise<Browser> {
    return chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--host-resolver-rules=MAP *.private-registry.test 127.0.0.1, MAP localhost 127.0.0.1",
            `--ignore-certificate-errors-spki-list=${keyPins.join(",")}`,
        ],
    });
}

export async function newContext(browser: Browser, credentials?: { username: string; password: string }): Promise<BrowserContext> {
    return browser.newContext({ httpCredentials: credentials });
}

export function screenshotPath(name: string): string {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    return join(SCREENSHOT_DIR, name);
}
