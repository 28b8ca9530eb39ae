/**
 * Debian's Chromium, driven by playwright-core, for the browser scenarios. It trusts our
 * server certificate by its public key only (no blanket ignoring of TLS errors), resolves
 * the test host names to 127.0.0.1 itself (never DNS), and runs with the flags that keep
 * it off the network.
 *
 * The page is the real joxit/docker-registry-ui (test/live/env/README.md): Riot custom
 * elements, found here by their own tag names (`<catalog-element>`, `<tag-table>`,
 * `<confirm-delete-image>`, `<material-snackbar>`, ...), the same in 2.5.2 and 2.6.0.
 */
import { strict as assert } from "node:assert";
import { createHash, X509Certificate } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import * as tls from "node:tls";
import { Browser, BrowserContext, chromium, Page } from "playwright-core";
import { defaultOf } from "../../components/config/keys";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOT_DIR = join(__dirname, "..", "..", "test-output");
/** How long the UI may take to answer an action (it waits on the registry through nginx). */
const UI_TIMEOUT = 30_000;

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

/** The UI's update check (joxit's `<version-notification>`), which the page must not be able to make. */
export const UPDATE_CHECK_URL = "https://api.github.com/repos/joxit/docker-registry-ui/releases/latest";

/** A Content-Security-Policy violation the page reported (`securitypolicyviolation`). */
export interface CspViolation {
    blockedURI: string;
    directive: string;
}

// A string, not a function: tsx would wrap a function's inner names in a helper the page lacks.
const RECORD_CSP_VIOLATIONS = `
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
        window.__cspViolations.push({ blockedURI: String(event.blockedURI), directive: event.effectiveDirective });
    });
`;

/**
 * A context whose requests to anything but the test hosts are aborted by Playwright before
 * they leave, and counted in `external`: a request the page's CSP blocks is never made.
 * Every page records the CSP violations it sees (cspViolations).
 */
export async function newContext(browser: Browser, credentials?: { username: string; password: string }): Promise<BrowserContext & { external: string[] }> {
    const context = Object.assign(await browser.newContext({ httpCredentials: credentials }), { external: [] as string[] });
    await context.addInitScript(RECORD_CSP_VIOLATIONS);
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

export async function cspViolations(page: Page): Promise<CspViolation[]> {
    return page.evaluate(() => (window as unknown as { __cspViolations: CspViolation[] }).__cspViolations);
}

/** Waits until the page has reported a CSP violation for `url`, and returns it. */
export async function waitForCspViolation(page: Page, url: string, timeout = 15_000): Promise<CspViolation> {
    await page.waitForFunction((blocked) => (window as unknown as { __cspViolations: CspViolation[] }).__cspViolations
        .some((v) => v.blockedURI === blocked), url, { timeout });
    return (await cspViolations(page)).find((v) => v.blockedURI === url) as CspViolation;
}

/**
 * Makes the request the UI's update check makes (an XHR GET) from the page itself: "blocked"
 * when the browser refused it (the CSP), else the status it got.
 */
export async function pageRequest(page: Page, url: string): Promise<string> {
    return page.evaluate((target) => new Promise<string>((resolve) => {
        const request = new XMLHttpRequest();
        request.addEventListener("load", () => resolve(`status ${request.status}`));
        request.addEventListener("error", () => resolve("blocked"));
        request.open("GET", target);
        request.send();
    }), url);
}

/** What the UI page is configured with, as joxit's entrypoint filled it into `<docker-registry-ui>`. */
export async function uiAttribute(page: Page, name: string): Promise<string | null> {
    await page.waitForSelector("docker-registry-ui", { state: "attached", timeout: UI_TIMEOUT });
    return page.getAttribute("docker-registry-ui", name);
}

/**
 * Whether this UI page asks GitHub for its latest release: 2.5 always (no such attribute),
 * 2.6 unless ENABLE_VERSION_NOTIFICATION is "false" (unset or empty counts as on).
 */
export async function uiMakesUpdateCheck(page: Page): Promise<boolean> {
    return (await uiAttribute(page, "enable-version-notification")) !== "false";
}

/**
 * The UI's own update check, when this release makes it (uiMakesUpdateCheck), and the same
 * request made from the page, are both refused by the page's CSP, and nothing else is.
 */
export async function assertUpdateCheckRefused(page: Page): Promise<void> {
    const makesCheck = await uiMakesUpdateCheck(page);
    assert.equal(await page.locator("version-notification").count(), makesCheck ? 1 : 0, "the UI's <version-notification>");
    if (makesCheck) assert.equal((await waitForCspViolation(page, UPDATE_CHECK_URL)).directive, "connect-src");
    console.log(`      the UI ${makesCheck ? "makes" : "does not make"} its update check (enable-version-notification=${JSON.stringify(await page.getAttribute("docker-registry-ui", "enable-version-notification"))})`);
    assert.equal(await pageRequest(page, UPDATE_CHECK_URL), "blocked");
    const violations = await cspViolations(page);
    assert.deepEqual(violations.filter((v) => v.blockedURI !== UPDATE_CHECK_URL), [], "the CSP refused something the UI needs");
    assert.deepEqual(violations.map((v) => v.directive), makesCheck ? ["connect-src", "connect-src"] : ["connect-src"], JSON.stringify(violations));
}

/** The snackbar's current message (the UI's notices and errors), or "" when it shows none. */
export async function snackbarText(page: Page): Promise<string> {
    return ((await page.locator("material-snackbar .toast").textContent({ timeout: 1_000 }).catch(() => "")) ?? "").trim();
}

/**
 * The repositories the UI's catalog lists, from the links of its `<catalog-element>`s
 * (nested ones too: the UI folds repositories that share a prefix into a branch). Fails with
 * the snackbar's message when the catalog does not load.
 */
export async function catalogRepositories(page: Page): Promise<string[]> {
    await page.waitForFunction(() => document.querySelector("catalog .item-count") !== null ||
        (document.querySelector("material-snackbar .toast")?.textContent ?? "").trim() !== "", undefined, { timeout: UI_TIMEOUT });
    if (await page.locator("catalog .item-count").count() === 0) {
        throw new Error(`the UI did not load the catalog: ${await snackbarText(page)}`);
    }
    const links = await page.$$eval("catalog catalog-element a[href*='#!/taglist/']", (anchors) => anchors.map((a) => a.getAttribute("href") ?? ""));
    return links.map((href) => decodeURIComponent(href.replace(/^.*#!\/taglist\//, "")));
}

/** The title in the UI's navbar. */
export async function navbarTitle(page: Page): Promise<string> {
    return ((await page.locator("material-navbar .logo span").first().textContent({ timeout: UI_TIMEOUT })) ?? "").trim();
}

/** One row of the UI's tag table. */
export interface TagRow {
    tag: string;
    /** The content digest the UI shows (SHOW_CONTENT_DIGEST), in full; "" when it shows none. */
    digest: string;
}

/**
 * Opens a repository's tag list through the catalog's own link for it, and returns the rows
 * once the UI has read every tag's manifest (each row has a size, and a digest where shown).
 */
export async function openTagList(page: Page, repository: string): Promise<TagRow[]> {
    const link = page.locator(`catalog catalog-element a[href$='#!/taglist/${repository}']`);
    await page.goto(String(await link.getAttribute("href", { timeout: UI_TIMEOUT })));
    await page.waitForSelector(`tag-list[image='${repository}'] .item-count`, { timeout: UI_TIMEOUT });
    // The count reads "0 tags" until the tag list has loaded (the UI shows its spinner until
    // then, 2.5 and 2.6 alike), and can show before the table has its rows: wait for the
    // spinner to go, then for as many rows as the first page holds (ui.taglistPageSize, 100
    // by default). Sizes and digests come from one manifest read per row, in either order.
    await page.waitForFunction((pageSize) => {
        if (document.querySelector("tag-list material-spinner")) return false;
        const count = Number(/(\d+)\s+tags?/.exec(document.querySelector("tag-list .item-count")?.textContent ?? "")?.[1] ?? NaN);
        const rows = Array.from(document.querySelectorAll("tag-table tbody tr"));
        return rows.length === Math.min(count, pageSize) && rows.every((row) => {
            const digest = row.querySelector("image-content-digest");
            const shown = (digest?.textContent ?? "").trim() !== "" || (digest?.querySelector("[title]")?.getAttribute("title") ?? "") !== "";
            return (row.querySelector("image-size")?.textContent ?? "").trim() !== "" && (!digest || shown);
        });
    }, defaultOf<number>("ui.taglistPageSize"), { timeout: UI_TIMEOUT });
    return page.$$eval("tag-table tbody tr", (rows) => rows.map((row) => ({
        tag: (row.querySelector("image-tag")?.textContent ?? "").trim(),
        // In full as its text where the column is wide enough, else in full as the title of a shortened text.
        digest: row.querySelector("image-content-digest [title]")?.getAttribute("title")
            || (row.querySelector("image-content-digest")?.textContent ?? "").trim(),
    })));
}

/** The tag's history page, opened with its row's history button: what it shows, by field. */
export async function openTagHistory(page: Page, tag: string): Promise<Record<string, string>> {
    await tagRow(page, tag).locator("tag-history-button a").click();
    await page.waitForSelector(`tag-history[tag='${tag}'] tag-history-element.id .value`, { timeout: UI_TIMEOUT });
    // The first card is the image's own configuration; one card per build step follows.
    return page.evaluate(() => {
        const card = Array.from(document.querySelectorAll("tag-history material-card")).find((c) => c.querySelector("tag-history-element"));
        return Object.fromEntries(Array.from(card?.querySelectorAll("tag-history-element") ?? []).map((e) => [
            e.className.trim(), (e.querySelector(".value")?.textContent ?? "").trim(),
        ]));
    });
}

export interface UiDeletion {
    /** What the UI's confirmation dialog said it would delete (`name:tag`). */
    dialog: string[];
    /** The status of the UI's DELETE request. */
    status: number;
    /** The snackbar's message afterwards, and whether it was on screen. */
    message: string;
    shown: boolean;
}

/**
 * Deletes a tag as a user does: the row's delete button, then "Delete" in the UI's own
 * confirmation dialog (`<confirm-delete-image>`). The UI reads the manifest's digest and
 * deletes by digest, then shows the outcome in its snackbar.
 */
export async function deleteThroughDialog(page: Page, tag: string): Promise<UiDeletion> {
    await tagRow(page, tag).locator("remove-image button").click();
    const dialog = page.locator("confirm-delete-image .popup");
    await dialog.waitFor({ state: "visible", timeout: UI_TIMEOUT });
    const listed = (await dialog.locator(".material-popup-content li").allTextContents()).map((t) => t.trim());
    const deleted = page.waitForResponse((r) => r.request().method() === "DELETE" && r.url().includes("/manifests/sha256:"), { timeout: UI_TIMEOUT });
    await dialog.locator(".material-popup-action material-button", { hasText: "Delete" }).click();
    const status = (await deleted).status();
    await dialog.waitFor({ state: "hidden", timeout: UI_TIMEOUT });
    await page.waitForFunction(() => (document.querySelector("material-snackbar .toast")?.textContent ?? "").trim() !== "", undefined, { timeout: UI_TIMEOUT });
    return { dialog: listed, status, message: await snackbarText(page), shown: await page.locator("material-snackbar .toast").isVisible() };
}

function tagRow(page: Page, tag: string) {
    return page.locator("tag-table tbody tr").filter({ has: page.locator("image-tag", { hasText: new RegExp(`^\\s*${tag.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*$`) }) });
}
