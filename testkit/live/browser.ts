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
import { Browser, BrowserContext, chromium, Page } from "playwright-core";

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
            // Test hosts on 127.0.0.1; every other name fails to resolve: nothing leaves the machine.
            "--host-resolver-rules=MAP *.private-registry.test 127.0.0.1, MAP localhost 127.0.0.1, MAP * ~NOTFOUND",
            `--ignore-certificate-errors-spki-list=${keyPins.join(",")}`,
        ],
    });
}

/** The UI's update check (joxit's version-notification), which the page must not be able to make. */
export const UPDATE_CHECK_URL = "https://api.github.com/repos/joxit/docker-registry-ui/releases/latest";

/**
 * A context whose requests to anything but the test hosts are aborted by Playwright before
 * they leave, and counted in `external`: a request the page's CSP blocks is never made.
 */
export async function newContext(browser: Browser, credentials?: { username: string; password: string }): Promise<BrowserContext & { external: string[] }> {
    const context = Object.assign(await browser.newContext({ httpCredentials: credentials }), { external: [] as string[] });
    await context.route((url) => !/^(localhost|.*\.private-registry\.test)$/.test(url.hostname), async (route) => {
        context.external.push(route.request().url());
        await route.abort("blockedbyclient");
    });
    return context;
}

export function screenshotPath(name: string): string {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    return join(SCREENSHOT_DIR, name);
}

/**
 * How the UI page's update check ended (the stand-in records it like joxit makes it):
 * "blocked-by-csp" when the page's Content-Security-Policy refused it, "failed" when it was
 * sent and went nowhere.
 */
export async function updateCheckOutcome(page: Page): Promise<string | null> {
    await page.waitForSelector("body[data-update-check]", { timeout: 15_000 });
    return page.getAttribute("body", "data-update-check");
}
