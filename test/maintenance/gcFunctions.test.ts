/**
 * The garbage-collection job's functions one at a time, under busybox (the registry image's
 * tools), on a synthetic filesystem store: what each step lists, moves aside, puts back or
 * refuses, as gcJob.test.ts shows for whole runs and retention.test.ts for `decide`. The
 * steps that talk to something else (the S3 collector, the Redis cache) meet stubs.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { createServer, Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { containerPorts, paths, REDIS_ALIAS } from "../../components/common/paths";
import { MaintenanceSettings, RetentionPolicy } from "../../components/maintenance/config";
import { renderGcScript } from "../../components/maintenance/gcScript";
import { gcFunctions, GcPlaces, renderTestGcScript } from "../../testkit/gcJob";
import { RegistryTree } from "../../testkit/registryTree";
import { requireTool } from "../../testkit/requireTool";
import { gitIgnores, headerSettings, runScript, ScriptRun, shellcheckFindings, writeScript } from "../../testkit/shellScripts";
import { RegistrySeries } from "../../components/registry/release";

const DAY = 86_400;
/** What the job's steps start from: the window's edge, as collect_filesystem sets it. */
const CUTOFF = 'touch -d "@$(( $(now) - GRACE_SECONDS ))" "$WORK/cutoff"';
/** The untagging step as collect_filesystem runs it: the window's edge, the listing's stamp, the tags. */
const UNTAG = `${CUTOFF}; stamp "$WORK/listed"; list_tags > "$WORK/tags"; remove_untagged "$WORK/tags"`;

interface Report {
    dryRun: boolean; tagsDeleted: number; manifestsDeleted: number; blobsDeleted: number; bytesFreed: number | null; windowSeconds: number;
}

describe("garbage-collection job, function by function (busybox, synthetic store)", function () {
    this.timeout(30_000);
    let dir: string;
    let tree: RegistryTree;
    const state = () => join(dir, "state");
    const quarantine = () => join(dir, "quarantine");
    const work = () => join(dir, "work");
    const containerLog = () => join(dir, "container.log");
    const item = (relative: string) => join(quarantine(), relative.replaceAll("/", "%"));
    const revision = (repository: string, digest: string) => `repositories/${repository}/_manifests/revisions/sha256/${digest.slice(7)}`;
    const lines = (text: string) => text.split("\n").filter(Boolean).sort();
    /** The job's listings of every manifest revision, and of the recent ones (shell case patterns on find's arguments). */
    const REVISION_LISTING = "*'revisions/sha256/*/link'*";
    const RECENT_REVISION_LISTING = "*'revisions/sha256/*/link'*-newer*";
    /**
     * A `find` shell function that runs `push` once, right after the job's first `find` whose
     * arguments match `listing`, and then leaves the marker file `pushed`: a push landing there.
     */
    const pushAfterFind = (listing: string, push: string) => `find() {
        command find "$@"
        case "$*" in ${listing}) [ -e "${dir}/pushed" ] || { ${push}; : > "${dir}/pushed"; } ;; esac
    }`;
    const policy = (p: Partial<RetentionPolicy>): RetentionPolicy => ({ repositories: "*", keepLast: undefined, olderThanDays: undefined, protect: undefined, ...p });

    before(function () {
        requireTool(this, "busybox", "busybox-static");
    });
    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), "pr-gcfn-"));
        tree = new RegistryTree(join(dir, "v2"));
        for (const d of [state(), quarantine(), work()]) mkdirSync(d);
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const places = (extra: Partial<GcPlaces> = {}): GcPlaces => ({ root: tree.root, quarantine: quarantine(), state: state(), containerLog: containerLog(), ...extra });
    // TMPDIR: a run's work directory is inside the test's, which afterEach removes.
    const env = (extra: Record<string, string> = {}) => ({ TMPDIR: dir, WORK: work(), ...extra });

    /** Evaluates commands after the job's definitions (its functions, its settings, `set -eu`). */
    function call(commands: string, settings: Partial<MaintenanceSettings> = {}, extra: Partial<GcPlaces> = {}, extraPath = ""): Promise<ScriptRun> {
        const file = writeScript(dir, "gc-functions.sh", gcFunctions(renderTestGcScript(settings, places(extra))));
        return runScript(file, [commands], { env: env(), extraPath });
    }

    async function succeeds(commands: string, settings: Partial<MaintenanceSettings> = {}): Promise<string> {
        const result = await call(commands, settings);
        assert.equal(result.code, 0, result.stderr + result.stdout);
        return result.stdout;
    }

    /** The whole job, as crond or `docker exec` runs it. */
    function job(args: string[], settings: Partial<MaintenanceSettings> = {}, options: { extra?: Partial<GcPlaces>; extraPath?: string; env?: Record<string, string> } = {}): Promise<ScriptRun> {
        const file = writeScript(dir, "gc.sh", renderTestGcScript(settings, places(options.extra)));
        return runScript(file, args, { env: env(options.env), extraPath: options.extraPath });
    }

    const reportOf = (run: ScriptRun) => JSON.parse(run.stdout.trim().split("\n").pop() as string) as Report & { error?: string };

    function metrics(): Record<string, number> {
        const values: Record<string, number> = {};
        for (const line of readFileSync(join(state(), "metrics.prom"), "utf8").split("\n")) {
            const match = /^(registry_gc_\w+) (\S+)$/.exec(line);
            if (match) values[match[1]] = Number(match[2]);
        }
        return values;
    }

    describe("listing", () => {
        it("list_tags: repository, tag, push time to the nanosecond and digest, for nested repositories and a tag named _manifests", async () => {
            const nested = tree.image("apps/web/sub", "v1.2.3", ["n"]);
            const odd = tree.image("apps/web/sub", "_manifests", ["o"]);
            const top = tree.image("tools", "latest", ["t"]);
            const pushed: [string, string, number][] = [["apps/web/sub", "v1.2.3", 1_700_000_000.25], ["apps/web/sub", "_manifests", 1_700_000_000.5], ["tools", "latest", 1_700_000_100]];
            for (const [repository, tag, at] of pushed) utimesSync(join(tree.root, "repositories", repository, "_manifests", "tags", tag, "current", "link"), at, at);
            assert.deepEqual(lines(await succeeds("list_tags")), [
                `apps/web/sub\t_manifests\t1700000000.500000000\t${odd.manifest}`,
                `apps/web/sub\tv1.2.3\t1700000000.250000000\t${nested.manifest}`,
                `tools\tlatest\t1700000100.000000000\t${top.manifest}`,
            ]);
        });

        it("list_blobs: every blob with its size, and 1 when it was written within the window", async () => {
            const old = tree.blob("old blob");
            tree.age(2 * DAY);
            const fresh = tree.blob("a blob written just now");
            assert.deepEqual(lines(await succeeds(`${CUTOFF}; list_blobs`)), [`${old}\t8\t0`, `${fresh}\t23\t1`].sort());
        });

        it("index_children: an index's children, its data read in place or in quarantine; a plain manifest has none", async () => {
            const arm = tree.image("multi/app", undefined, ["arm"]);
            const amd = tree.image("multi/app", undefined, ["amd"]);
            const placed = tree.index("multi/app", "1", [arm.manifest, amd.manifest]);
            const moved = tree.index("multi/app", undefined, [arm.manifest]);
            const hex = moved.slice(7);
            renameSync(dirname(tree.blobData(moved)), item(`blobs/sha256/${hex.slice(0, 2)}/${hex}`));
            const out = await succeeds(`printf '%s\\n' ${placed} ${moved} ${arm.manifest} | index_children`);
            assert.deepEqual(lines(out), [`${placed}\t${arm.manifest}`, `${placed}\t${amd.manifest}`, `${moved}\t${arm.manifest}`].sort());
        });

        it("written_since counts files written after the stamp, in the same second too, never a directory's mtime", async () => {
            tree.image("apps/web", undefined, ["x"]);
            tree.age(DAY);
            const layers = join(tree.root, "repositories", "apps", "web", "_layers");
            const now = Date.now() / 1000;
            utimesSync(layers, now, now);
            const check = `stamp "$WORK/stamp"; if written_since "$ROOT/repositories/apps/web" "$WORK/stamp"; then echo written; else echo quiet; fi`;
            assert.equal(await succeeds(check), "quiet\n", "a directory's mtime counted");
            tree.link("apps/web", tree.blob("just now"));
            assert.equal(await succeeds(check), "written\n");
        });
    });

    describe("quarantine", () => {
        const tag = "repositories/apps/web/_manifests/tags/v1";

        it("quarantine moves a path aside with one rename and records its origin; never over an item, never what is gone", async () => {
            tree.image("apps/web", "v1", ["x"]);
            const out = await succeeds([
                `quarantine ${tag} && echo moved`,
                `quarantine ${tag} || echo gone`,
                // The registry writes the tag again: its item is still in quarantine, so the new one stays.
                `mkdir -p "$ROOT/${tag}/current"`,
                `quarantine ${tag} || echo refused`,
            ].join("; "));
            assert.equal(out, "moved\ngone\nrefused\n");
            assert.equal(readFileSync(`${item(tag)}%origin`, "utf8"), `${tag}\n`);
            assert.ok(existsSync(join(item(tag), "current", "link")));
            assert.ok(existsSync(join(tree.root, tag, "current")), "the tag written again was moved");
            assert.deepEqual(readdirSync(quarantine()).sort(), [item(tag), `${item(tag)}%origin`].map((p) => p.slice(quarantine().length + 1)).sort());
        });

        it("a record it cannot write (a full disk) moves nothing: an item without its record would never be put back", async () => {
            tree.image("apps/web", "v1", ["x"]);
            mkdirSync(quarantine(), { recursive: true });
            symlinkSync("/dev/full", `${item(tag)}%origin`);
            assert.equal(await succeeds(`quarantine ${tag} 2>/dev/null || echo refused`), "refused\n");
            assert.deepEqual(readdirSync(quarantine()), []);
            assert.deepEqual(tree.tags("apps/web"), ["v1"]);
        });

        it("restore puts an item back; where the registry wrote the origin again, it fills in what is missing and replaces nothing", async () => {
            const first = tree.image("apps/web", "v1", ["first"]);
            await succeeds(`quarantine ${tag}`);
            const second = tree.image("apps/web", "v1", ["second"]);
            await succeeds(`restore "$(item_for ${tag})"`);
            assert.equal(readFileSync(join(tree.root, tag, "current", "link"), "utf8"), second.manifest, "the new link was replaced");
            for (const digest of [first.manifest, second.manifest]) assert.ok(existsSync(join(tree.root, tag, "index", "sha256", digest.slice(7), "link")), digest);
            assert.deepEqual(readdirSync(quarantine()), []);
            await succeeds(`quarantine ${tag}; restore "$(item_for ${tag})"`);
            assert.deepEqual(tree.tags("apps/web"), ["v1"]);
            assert.deepEqual(readdirSync(quarantine()), []);
        });

        it("purge_all deletes what is in quarantine, records and all, and lists the origins it deleted", async () => {
            const image = tree.image("apps/web", "v1", ["x"]);
            const hex = image.blobs[1].slice(7);
            const blob = `blobs/sha256/${hex.slice(0, 2)}/${hex}`;
            const out = await succeeds(`quarantine ${tag}; quarantine ${blob}; : > "$WORK/purged"; purge_all; cat "$WORK/purged"`);
            assert.deepEqual(lines(out), [blob, tag].sort());
            assert.deepEqual(readdirSync(quarantine()), []);
            assert.ok(!tree.hasBlob(image.blobs[1]));
            assert.deepEqual(tree.tags("apps/web"), []);
        });
    });

    describe("retention's deletion and untagging", () => {
        it("delete_tags moves each chosen tag aside and lists those it moved: one already gone is not listed, so it stays among the remaining", async () => {
            tree.image("apps/web", "1", ["a"]);
            tree.image("apps/web", "2", ["b"]);
            tree.age(2 * DAY);
            writeFileSync(join(work(), "deleted"), "apps/web\t1\napps/web\tgone\n");
            assert.equal(await succeeds('stamp "$WORK/listed"; delete_tags; cat "$WORK/deleted.moved"'), "apps/web\t1\n");
            assert.deepEqual(tree.tags("apps/web"), ["2"]);
            assert.ok(existsSync(`${item("repositories/apps/web/_manifests/tags/1")}%origin`));
        });

        it("delete_tags leaves a chosen tag that was pushed again after the listing began", async () => {
            tree.image("apps/web", "1", ["a"]);
            tree.image("apps/web", "2", ["b"]);
            tree.age(2 * DAY);
            writeFileSync(join(work(), "deleted"), "apps/web\t1\napps/web\t2\n");
            const pushedAgain = join(tree.root, "repositories/apps/web/_manifests/tags/2/current/link");
            assert.equal(await succeeds(`stamp "$WORK/listed"; touch "${pushedAgain}"; delete_tags; cat "$WORK/deleted.moved"`), "apps/web\t1\n");
            assert.deepEqual(tree.tags("apps/web"), ["2"]);
        });

        it("delete_tags in a dry run lists every chosen tag and moves none", async () => {
            tree.image("apps/web", "1", ["a"]);
            writeFileSync(join(work(), "deleted"), "apps/web\t1\n");
            assert.equal(await succeeds('delete_tags; cat "$WORK/deleted.moved"', { dryRun: true }), "apps/web\t1\n");
            assert.deepEqual(tree.tags("apps/web"), ["1"]);
            assert.deepEqual(readdirSync(quarantine()), []);
        });

        it("remove_untagged untags each manifest no tag names (its revision moved aside, its blobs left to the sweep), and leaves tagged ones", async () => {
            const tagged = tree.image("apps/web", "v1", ["a"]);
            const orphan = tree.image("apps/web", undefined, ["b"]);
            tree.age(2 * DAY);
            assert.deepEqual(lines(await succeeds(UNTAG)), [`manifest\tapps/web\t${orphan.manifest}`]);
            assert.ok(!tree.hasRevision("apps/web", orphan.manifest));
            assert.equal(readFileSync(`${item(revision("apps/web", orphan.manifest))}%origin`, "utf8"), `${revision("apps/web", orphan.manifest)}\n`);
            assert.ok(tree.hasRevision("apps/web", tagged.manifest));
            for (const digest of [orphan.manifest, ...orphan.blobs]) assert.ok(tree.hasBlob(digest), digest);
        });

        it("remove_untagged in a dry run says the same and moves nothing", async () => {
            tree.image("apps/web", "v1", ["a"]);
            const orphan = tree.image("apps/web", undefined, ["b"]);
            tree.image("apps/gone", undefined, ["g"]);
            tree.age(2 * DAY);
            const out = lines(await succeeds(UNTAG, { dryRun: true }));
            assert.ok(out.includes(`manifest\tapps/web\t${orphan.manifest}`) && out.includes("repository\tapps/gone"), out.join("\n"));
            assert.ok(tree.hasRevision("apps/web", orphan.manifest));
            assert.deepEqual(tree.repositories(), ["apps/gone", "apps/web"]);
            assert.deepEqual(readdirSync(quarantine()), []);
        });

        it("index closure: a tagged index keeps its children and, through an index of indexes, its grandchildren; an untagged index goes with its children", async () => {
            const arm = tree.image("multi/app", undefined, ["arm"]);
            const amd = tree.image("multi/app", undefined, ["amd"]);
            const inner = tree.index("multi/app", undefined, [arm.manifest, amd.manifest]);
            tree.index("multi/app", "1", [inner]);
            const loose = tree.image("multi/app", undefined, ["loose"]);
            const orphanIndex = tree.index("multi/app", undefined, [loose.manifest]);
            tree.age(2 * DAY);
            assert.deepEqual(lines(await succeeds(UNTAG)), [`manifest\tmulti/app\t${loose.manifest}`, `manifest\tmulti/app\t${orphanIndex}`].sort());
            for (const digest of [arm.manifest, amd.manifest, inner]) assert.ok(tree.hasRevision("multi/app", digest), digest);
        });

        it("closure is per repository: a tag in one repository keeps nothing in another", async () => {
            const shared = tree.image("apps/a", "v1", ["s"]);
            mkdirSync(join(tree.root, revision("apps/b", shared.manifest)), { recursive: true });
            writeFileSync(join(tree.root, revision("apps/b", shared.manifest), "link"), shared.manifest);
            tree.age(2 * DAY);
            assert.deepEqual(lines(await succeeds(UNTAG)), [`manifest\tapps/b\t${shared.manifest}`, "repository\tapps/b"]);
            assert.ok(tree.hasRevision("apps/a", shared.manifest));
            assert.deepEqual(tree.repositories(), ["apps/a"]);
        });

        it("a manifest pushed while the job lists revisions (right after its first listing) is never untagged", async () => {
            tree.image("apps/web", "v1", ["a"]);
            tree.age(2 * DAY);
            // Pushed now, its revision link held back and written the moment the job's first
            // listing of revisions returns: what a push landing mid-listing does.
            const late = tree.image("apps/web", undefined, ["late"]);
            const link = join(tree.root, revision("apps/web", late.manifest), "link");
            renameSync(link, join(dir, "held-link"));
            const pushMidListing = pushAfterFind(REVISION_LISTING, `mv "${dir}/held-link" "${link}"`);
            const out = lines(await succeeds(`${pushMidListing}; ${UNTAG}`));
            assert.ok(existsSync(join(dir, "pushed")), "the job never listed revisions: the test proves nothing");
            assert.ok(!out.some((line) => line.includes(late.manifest) && !line.startsWith("recent")), out.join("\n"));
            assert.ok(tree.hasRevision("apps/web", late.manifest), "the manifest pushed mid-listing was untagged");
        });

        it("an old untagged manifest pushed again after the job listed revisions is not moved aside", async () => {
            tree.image("apps/web", "v1", ["a"]);
            const old = tree.image("apps/web", undefined, ["old"]);
            tree.age(2 * DAY);
            const link = join(tree.root, revision("apps/web", old.manifest), "link");
            // Pushed again (the registry rewrites its revision link) once the job has listed
            // the recent revisions, so the plan holds it as old and untagged.
            const pushAgainAfterListing = pushAfterFind(RECENT_REVISION_LISTING, `touch "${link}"`);
            const out = lines(await succeeds(`${pushAgainAfterListing}; ${UNTAG}`));
            assert.ok(existsSync(join(dir, "pushed")), "the job never listed recent revisions: the test proves nothing");
            assert.deepEqual(out, [], "the manifest pushed again was moved aside");
            assert.ok(tree.hasRevision("apps/web", old.manifest));
            assert.deepEqual(readdirSync(quarantine()), []);
        });

        /**
         * A whole filesystem collection, with `retag` run the moment the job has listed the
         * recent revisions, then 3 s of untagging (so the mark comes after the push).
         */
        function collectWithPushAfterListing(retag: string): Promise<string> {
            return succeeds(`${pushAfterFind(RECENT_REVISION_LISTING, `${retag}; sleep 3`)}; collect_filesystem`);
        }
        const tagCommand = (repository: string, tag: string, digest: string) => {
            const at = `${tree.root}/repositories/${repository}/_manifests`;
            return [
                `touch "${at}/revisions/sha256/${digest.slice(7)}/link"`,
                `mkdir -p "${at}/tags/${tag}/current" "${at}/tags/${tag}/index/sha256/${digest.slice(7)}"`,
                `printf '%s' ${digest} > "${at}/tags/${tag}/current/link"`,
                `printf '%s' ${digest} > "${at}/tags/${tag}/index/sha256/${digest.slice(7)}/link"`,
            ].join("; ");
        };

        it("an old untagged index tagged after the listing keeps its platform manifests and their layers", async () => {
            const arm = tree.image("multi/app", undefined, ["arm"]);
            const index = tree.index("multi/app", undefined, [arm.manifest]);
            tree.image("multi/app", "other", ["keeps-the-repository"]);
            tree.age(2 * DAY);
            await collectWithPushAfterListing(tagCommand("multi/app", "v1", index));
            assert.ok(existsSync(join(dir, "pushed")), "the job never listed recent revisions: the test proves nothing");
            assert.deepEqual(tree.tags("multi/app"), ["other", "v1"]);
            for (const digest of [index, arm.manifest]) assert.ok(tree.hasRevision("multi/app", digest), digest);
            for (const digest of [index, ...arm.blobs]) assert.ok(tree.hasBlob(digest), digest);
        });

        it("an old untagged image tagged after the listing keeps its cosign signature", async () => {
            const image = tree.image("apps/web", undefined, ["signed"]);
            const signature = tree.attach("apps/web", image.manifest);
            tree.image("apps/web", "other", ["keeps-the-repository"]);
            tree.age(2 * DAY);
            await collectWithPushAfterListing(tagCommand("apps/web", "v1", image.manifest));
            assert.ok(existsSync(join(dir, "pushed")), "the job never listed recent revisions: the test proves nothing");
            assert.deepEqual(tree.tags("apps/web"), ["other", `sha256-${image.manifest.slice(7)}.sig`, "v1"]);
            for (const digest of [image.manifest, ...image.blobs, signature.manifest, ...signature.blobs]) assert.ok(tree.hasBlob(digest), digest);
        });

        it("a manifest pushed again in the moment its revision moves aside gets back its own blob with the rest", async () => {
            const image = tree.image("apps/web", undefined, ["late"]);
            tree.image("apps/web", "other", ["keeps-the-repository"]);
            tree.age(2 * DAY);
            const origin = join(tree.root, revision("apps/web", image.manifest));
            // Past quarantine_unless_written's check, just before the rename: the registry rewrites
            // the link. Then 3 s more of untagging, so the mark comes after the push.
            const pushAtTheMove = `mv() {
                [ "\${2:-}" = "${origin}" ] && [ ! -e "${dir}/pushed" ] && { touch "${origin}/link"; : > "${dir}/pushed"; }
                command mv "$@" && { [ "\${3:-}" = "$(item_for ${revision("apps/web", image.manifest)})" ] && sleep 3; true; }
            }`;
            await succeeds(`${pushAtTheMove}; collect_filesystem`);
            assert.ok(existsSync(join(dir, "pushed")), "the job never moved the revision: the test proves nothing");
            assert.ok(tree.hasRevision("apps/web", image.manifest));
            for (const digest of [image.manifest, ...image.blobs]) assert.ok(tree.hasBlob(digest), digest);
        });

        it("a manifest written within the window is kept with what it names, said as recent, and so is its untagged repository", async () => {
            const arm = tree.image("multi/app", undefined, ["arm"]);
            const amd = tree.image("multi/app", undefined, ["amd"]);
            tree.age(2 * DAY);
            const index = tree.index("multi/app", undefined, [arm.manifest, amd.manifest]);
            assert.deepEqual(lines(await succeeds(UNTAG)), [
                `recent\tmanifest\tmulti/app\t${arm.manifest}`, `recent\tmanifest\tmulti/app\t${amd.manifest}`, `recent\tmanifest\tmulti/app\t${index}`,
                "recent\trepository\tmulti/app",
            ].sort());
            assert.deepEqual(readdirSync(quarantine()), []);
        });
    });

    describe("empty repositories", () => {
        it("a repository with no tag and nothing recent goes: its _manifests, _layers and _uploads moved aside, a nested repository untouched", async () => {
            const parent = tree.image("apps/web", undefined, ["p"]);
            mkdirSync(join(tree.root, "repositories", "apps", "web", "_uploads", "an-upload"), { recursive: true });
            writeFileSync(join(tree.root, "repositories", "apps", "web", "_uploads", "an-upload", "data"), "partial");
            tree.image("apps/web/sub", "v1", ["n"]);
            tree.age(2 * DAY);
            assert.deepEqual(lines(await succeeds(UNTAG)), [`manifest\tapps/web\t${parent.manifest}`, "repository\tapps/web"]);
            const origins = readdirSync(quarantine()).filter((n) => n.endsWith("%origin")).map((n) => readFileSync(join(quarantine(), n), "utf8").trim());
            assert.deepEqual(origins.sort(), [revision("apps/web", parent.manifest), ...["_layers", "_manifests", "_uploads"].map((p) => `repositories/apps/web/${p}`)].sort());
            assert.deepEqual(tree.repositories(), ["apps/web/sub"]);
            assert.deepEqual(tree.tags("apps/web/sub"), ["v1"]);
        });

        it("a repository with no tag stays while something of its own is recent (a layer link, an upload), even with a directory touched", async () => {
            const linking = tree.image("apps/linking", undefined, ["l"]);
            const uploading = tree.image("apps/uploading", undefined, ["u"]);
            const touched = tree.image("apps/touched", undefined, ["t"]);
            tree.age(2 * DAY);
            tree.link("apps/linking", tree.blob("a layer uploaded just now"));
            mkdirSync(join(tree.root, "repositories", "apps", "uploading", "_uploads", "an-upload"), { recursive: true });
            writeFileSync(join(tree.root, "repositories", "apps", "uploading", "_uploads", "an-upload", "data"), "partial");
            // Only the directory is new (something moved out of it): that is no write.
            const now = Date.now() / 1000;
            utimesSync(join(tree.root, "repositories", "apps", "touched", "_layers"), now, now);
            assert.deepEqual(lines(await succeeds(UNTAG)), [
                `manifest\tapps/linking\t${linking.manifest}`, `manifest\tapps/touched\t${touched.manifest}`, `manifest\tapps/uploading\t${uploading.manifest}`,
                "recent\trepository\tapps/linking", "recent\trepository\tapps/uploading", "repository\tapps/touched",
            ].sort());
            assert.deepEqual(tree.repositories(), ["apps/linking", "apps/uploading"]);
        });
    });

    describe("sweep", () => {
        it("moves aside the blobs no manifest names and no repository linked within the window, with their sizes; recent ones stay, listed", async () => {
            const tagged = tree.image("apps/web", "v1", ["t"]);
            const orphan = tree.blob("an orphan of 19 B..");
            const relinked = tree.blob("linked again");
            tree.age(2 * DAY);
            tree.link("apps/other", relinked);
            const recent = tree.blob("written just now");
            const sweep = `${CUTOFF}; : > "$WORK/blob-bytes"; : > "$WORK/recent-blobs"; : > "$WORK/excluded"; sweep; cat "$WORK/blob-bytes"; echo --; cat "$WORK/recent-blobs"`;
            const hex = orphan.slice(7);
            assert.equal(await succeeds(sweep, { dryRun: true }), `--\n${recent}\t16\t1\n`);
            assert.ok(tree.hasBlob(orphan), "a dry run moved a blob");
            assert.equal(await succeeds(sweep), `blobs/sha256/${hex.slice(0, 2)}/${hex}\t19\n--\n${recent}\t16\t1\n`);
            assert.ok(!tree.hasBlob(orphan));
            for (const digest of [tagged.manifest, ...tagged.blobs, relinked, recent]) assert.ok(tree.hasBlob(digest), digest);
        });
    });

    describe("the lock", () => {
        it("take_lock refuses while a live run holds the lock (exit 75) and leaves that lock as it was", async () => {
            mkdirSync(join(state(), "gc.lock"));
            writeFileSync(join(state(), "gc.lock", "pid"), `${process.pid}\n`);
            const result = await call("take_lock; echo took");
            assert.equal(result.code, 75);
            assert.equal(result.stdout, "");
            assert.match(result.stderr, new RegExp(`a collection is already running \\(pid ${process.pid}\\)`));
            assert.deepEqual(readdirSync(state()), ["gc.lock"]);
            assert.equal(readFileSync(join(state(), "gc.lock", "pid"), "utf8"), `${process.pid}\n`);
        });

        it("take_lock takes over the lock of a holder that died, leaving nothing of it; release_lock removes the lock", async () => {
            const dead = spawnSync("true").pid as number;
            mkdirSync(join(state(), "gc.lock"));
            writeFileSync(join(state(), "gc.lock", "pid"), `${dead}\n`);
            const out = await succeeds('take_lock; [ "$(cat "$STATE/gc.lock/pid")" = "$$" ] && echo ours; ls "$STATE"; release_lock; ls "$STATE"; echo end');
            assert.equal(out, "ours\ngc.lock\nend\n");
        });

        it("release_lock leaves a lock that is not its own", async () => {
            mkdirSync(join(state(), "gc.lock"));
            writeFileSync(join(state(), "gc.lock", "pid"), `${process.pid}\n`);
            await succeeds("release_lock");
            assert.equal(readFileSync(join(state(), "gc.lock", "pid"), "utf8"), `${process.pid}\n`);
        });

        it("a run whose lock another run took over in its last second steps back (75) and leaves the other's lock", async () => {
            const running = call("take_lock; echo took");
            const lock = join(state(), "gc.lock");
            for (let i = 0; i < 400 && !existsSync(join(lock, "pid")); i++) await new Promise((r) => setTimeout(r, 5));
            // The other run renamed this one's lock away (taking its holder for dead) and put in its own.
            renameSync(lock, join(dir, "taken-away"));
            mkdirSync(lock);
            writeFileSync(join(lock, "pid"), `${process.pid}\n`);
            const result = await running;
            assert.equal(result.code, 75, result.stderr + result.stdout);
            assert.equal(result.stdout, "");
            assert.match(result.stderr, /a collection is already running/);
            assert.equal(readFileSync(join(lock, "pid"), "utf8"), `${process.pid}\n`);
        });
    });

    describe("recover", () => {
        it("clears the leases, the phase and every lock a killed run left, and puts the quarantine back; keeps the last report and metrics", async () => {
            const image = tree.image("apps/web", "v1", ["x"]);
            const hex = image.blobs[1].slice(7);
            await succeeds(`quarantine repositories/apps/web/_manifests/tags/v1; quarantine blobs/sha256/${hex.slice(0, 2)}/${hex}`);
            for (const file of ["writes-paused.2026-01-01T00:00", "writes-paused.2026-01-01T00:01", "phase", "last-report.json", "metrics.prom"]) writeFileSync(join(state(), file), "x");
            for (const lock of ["gc.lock", "gc.lock.123", "gc.lock.dead.456"]) {
                mkdirSync(join(state(), lock));
                writeFileSync(join(state(), lock, "pid"), "123\n");
            }
            const result = await job(["recover"]);
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(readdirSync(state()).sort(), ["last-report.json", "metrics.prom"]);
            assert.deepEqual(readdirSync(quarantine()), []);
            assert.deepEqual(tree.tags("apps/web"), ["v1"]);
            assert.ok(tree.hasBlob(image.blobs[1]));
        });

        it("removes a record a kill left empty (its item never moved) and puts the rest back", async () => {
            const image = tree.image("apps/web", "v1", ["x"]);
            const hex = image.blobs[1].slice(7);
            await succeeds("quarantine repositories/apps/web/_manifests/tags/v1");
            // Killed after the shell created the record, before it wrote the line: the blob stayed.
            writeFileSync(`${item(`blobs/sha256/${hex.slice(0, 2)}/${hex}`)}%origin`, "");
            const result = await job(["recover"]);
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(readdirSync(quarantine()), []);
            assert.deepEqual(tree.tags("apps/web"), ["v1"]);
            assert.equal(result.stderr, "");
        });

        it("puts back an item whose record is empty, by its name: removing the record would leave the item for good", async () => {
            const tag = "repositories/apps/web/_manifests/tags/v1";
            tree.image("apps/web", "v1", ["x"]);
            await succeeds(`quarantine ${tag}`);
            writeFileSync(`${item(tag)}%origin`, "");
            const result = await job(["recover"]);
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(readdirSync(quarantine()), []);
            assert.deepEqual(tree.tags("apps/web"), ["v1"]);
        });

        it("succeeds on a first start, before there is any quarantine", async () => {
            rmSync(quarantine(), { recursive: true });
            writeFileSync(join(state(), "phase"), "settle");
            const result = await job(["recover"]);
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(readdirSync(state()), []);
        });

        it("on S3 clears the leases and leaves any quarantine alone (there is none to put back)", async () => {
            tree.image("apps/web", "v1", ["x"]);
            await succeeds("quarantine repositories/apps/web/_manifests/tags/v1");
            writeFileSync(join(state(), "writes-paused.2026-01-01T00:00"), "");
            const result = await job(["recover"], { storage: "s3" });
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(readdirSync(state()), []);
            assert.equal(readdirSync(quarantine()).length, 2);
        });

        it("anything else is a usage error (exit 64)", async () => {
            const result = await job(["collect"]);
            assert.equal(result.code, 64);
            assert.match(result.stderr, /usage: gc\.sh run \| recover \| decide/);
        });
    });

    describe("the S3 write pause", () => {
        const leases = () => readdirSync(state()).filter((n) => n.startsWith("writes-paused.")).sort();
        const minute = (at: number) => `writes-paused.${new Date(at).toISOString().slice(0, 16)}`;

        it("pause_writes renews this minute's and the next minute's lease every 5 s while the job lives", async () => {
            const started = Date.now();
            const running = call("pause_writes; sleep 7");
            await new Promise((r) => setTimeout(r, 2000));
            const first = leases();
            assert.ok(first.includes(minute(started)) || first.includes(minute(started + 2000)), first.join(","));
            assert.ok(first.length >= 2, first.join(","));
            const renewedAt = () => Math.max(...leases().map((n) => statSync(join(state(), n)).mtimeMs));
            const before = renewedAt();
            await new Promise((r) => setTimeout(r, 5000));
            assert.ok(renewedAt() >= before + 4000, "the lease was not renewed");
            const ended = Date.now();
            for (const name of leases()) {
                const at = Date.parse(`${name.slice("writes-paused.".length)}:00Z`);
                assert.ok(at >= Date.parse(`${minute(started).slice(14)}:00Z`) && at <= ended + 60_000, `${name} is not this minute or the next`);
            }
            assert.equal((await running).code, 0);
        });

        it("resume_writes stops the renewing and removes every lease, a stale one too", async () => {
            const result = await call('pause_writes; touch "$STATE/writes-paused.2000-01-01T00:00"; resume_writes; sleep 6; ls "$STATE"; echo end');
            assert.equal(result.code, 0, result.stderr);
            assert.equal(result.stdout, "end\n", "a lease came back after resume");
        });

        function stubRegistry(exitCode: number): string {
            const bin = join(dir, "stub-bin");
            mkdirSync(bin, { recursive: true });
            writeFileSync(join(bin, "registry"), [
                "#!/bin/sh",
                `echo "$*" > "${dir}/collector-args"`,
                `ls "${state()}" > "${dir}/seen-during-gc"`,
                `echo 'blob eligible for deletion: sha256:${"b".repeat(64)}'`,
                "echo 'the collector says why' >&2",
                `exit ${exitCode}`,
            ].join("\n"));
            chmodSync(join(bin, "registry"), 0o755);
            return `${bin}:`;
        }

        it("a collector that fails fails the run: exit 1, the reason and its output in the logs, failure metrics, writes resumed", async () => {
            const result = await job(["run"], { storage: "s3" }, { extraPath: stubRegistry(3) });
            assert.equal(result.code, 1);
            const line = '{"event":"registry-gc","error":"garbage-collect failed (its output is in this log)"}';
            assert.equal(result.stdout, `${line}\n`);
            assert.equal(readFileSync(containerLog(), "utf8"), `${line}\n`);
            assert.match(result.stderr, /the collector says why/);
            assert.ok(readFileSync(join(dir, "seen-during-gc"), "utf8").includes("writes-paused."), "writes were not paused during the collection");
            assert.deepEqual(leases(), []);
            assert.equal(metrics().registry_gc_last_success, 0);
            assert.deepEqual(readdirSync(state()).sort(), ["metrics.prom"], "a lock or a phase stayed");
        });

        it("a dry run asks the collector for a dry run, and reports no bytes (S3 cannot say)", async () => {
            const result = await job(["run"], { storage: "s3", dryRun: true }, { extraPath: stubRegistry(0) });
            assert.equal(result.code, 0, result.stderr);
            assert.match(readFileSync(join(dir, "collector-args"), "utf8"), /^garbage-collect --dry-run \S+\n$/);
            const report = reportOf(result);
            assert.equal(report.dryRun, true);
            assert.equal(report.blobsDeleted, 1);
            assert.equal(report.bytesFreed, null);
            const values = metrics();
            assert.equal(values.registry_gc_last_dry_run, 1);
            assert.equal(values.registry_gc_last_success, 1);
            assert.ok(!("registry_gc_last_bytes_freed" in values));
            assert.ok(values.registry_gc_last_window_seconds >= 1);
        });
    });

    describe("the Redis blob cache", () => {
        let server: Server | undefined;
        afterEach(() => server?.close());

        /** A stub Redis that answers every inline command with this line, recording what it got. */
        async function stubRedis(answer: string): Promise<{ redis: string; commands: string[] }> {
            const commands: string[] = [];
            server = createServer((socket) => {
                let got = "";
                socket.on("data", (d: Buffer) => {
                    got += d.toString();
                    if (!got.endsWith("\r\n")) return;
                    commands.push(got);
                    socket.end(answer);
                });
                socket.on("error", () => undefined);
            });
            await new Promise<void>((r) => server?.listen(0, "127.0.0.1", r));
            return { redis: `127.0.0.1:${(server.address() as { port: number }).port}`, commands };
        }

        it("a collection empties the cache once (FLUSHDB) and completes on +OK", async () => {
            const orphan = tree.image("apps/web", undefined, ["o"]);
            tree.age(2 * DAY);
            const stub = await stubRedis("+OK\r\n");
            const result = await job(["run"], { cache: "redis" }, { extra: { redis: stub.redis } });
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(stub.commands, ["FLUSHDB\r\n"]);
            assert.ok(!tree.hasBlob(orphan.blobs[1]));
        });

        it("a cache that refuses fails the run: exit 1, the reason, failure metrics, and what was moved aside goes back", async () => {
            const orphan = tree.image("apps/web", undefined, ["o"]);
            tree.age(2 * DAY);
            const stub = await stubRedis("-ERR unknown command 'FLUSHDB'\r\n");
            const result = await job(["run"], { cache: "redis" }, { extra: { redis: stub.redis } });
            assert.equal(result.code, 1);
            assert.match(reportOf(result).error ?? "", /the blob cache was not flushed/);
            assert.match(result.stderr, /redis answered '-ERR unknown command 'FLUSHDB'' to FLUSHDB/);
            assert.equal(metrics().registry_gc_last_success, 0);
            for (const digest of [orphan.manifest, ...orphan.blobs]) assert.ok(tree.hasBlob(digest), digest);
            assert.ok(tree.hasRevision("apps/web", orphan.manifest));
            assert.deepEqual(readdirSync(quarantine()), []);
        });

        /** Debian's redis-server (the stand-in image's release) on a free port, requiring `password`. */
        async function realRedis(ctx: Mocha.Context, password: string): Promise<{ redis: string; cli: (...args: string[]) => string; stop: () => void }> {
            requireTool(ctx, "redis-server", "redis-server");
            const probe = createServer();
            await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
            const port = (probe.address() as { port: number }).port;
            await new Promise((r) => probe.close(r));
            const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--requirepass", password], { stdio: "ignore" });
            const cli = (...args: string[]) => spawnSync("redis-cli", ["-p", String(port), ...args], { encoding: "utf8", env: { ...process.env, REDISCLI_AUTH: password } }).stdout.trim();
            for (let i = 0; i < 50 && cli("ping") !== "PONG"; i++) await new Promise((r) => setTimeout(r, 100));
            return { redis: `127.0.0.1:${port}`, cli, stop: () => child.kill() };
        }

        it("with REDIS_PASSWORD, authenticates to a real Redis that requires it, and empties it", async function () {
            const redis = await realRedis(this, "s3cretLettersAnd123Digits");
            try {
                redis.cli("set", "blobdescriptor::sha256:aa", "x");
                assert.equal(redis.cli("dbsize"), "1");
                tree.image("apps/web", undefined, ["o"]);
                tree.age(2 * DAY);
                const result = await job(["run"], { cache: "redis" }, { extra: { redis: redis.redis }, env: { REDIS_PASSWORD: "s3cretLettersAnd123Digits" } });
                assert.equal(result.code, 0, result.stderr);
                assert.equal(redis.cli("dbsize"), "0");
            } finally {
                redis.stop();
            }
        });

        it("a wrong REDIS_PASSWORD fails the run with Redis's answer, and the cache keeps its entries", async function () {
            const redis = await realRedis(this, "s3cretLettersAnd123Digits");
            try {
                redis.cli("set", "blobdescriptor::sha256:aa", "x");
                tree.image("apps/web", undefined, ["o"]);
                tree.age(2 * DAY);
                const result = await job(["run"], { cache: "redis" }, { extra: { redis: redis.redis }, env: { REDIS_PASSWORD: "notThePassword" } });
                assert.equal(result.code, 1);
                assert.match(result.stderr, /redis answered '-WRONGPASS [^']*-NOAUTH [^']*' to FLUSHDB/);
                assert.equal(redis.cli("dbsize"), "1");
            } finally {
                redis.stop();
            }
        });

        it("a dry run leaves the cache alone", async () => {
            tree.image("apps/web", undefined, ["o"]);
            tree.age(2 * DAY);
            const stub = await stubRedis("+OK\r\n");
            const result = await job(["run"], { cache: "redis", dryRun: true }, { extra: { redis: stub.redis } });
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(stub.commands, []);
        });
    });

    describe("report and metrics", () => {
        it("a run's report goes to stdout, last-report.json and, run by hand, the container's log; its numbers to metrics.prom", async () => {
            tree.image("apps/web", "1", ["a"]);
            tree.image("apps/web", "2", ["b"]);
            tree.image("apps/web", undefined, ["o"]);
            tree.age(2 * DAY);
            tree.pushedAgo("apps/web", "2", DAY);
            const result = await job(["run"], { policies: [policy({ keepLast: 1 })] });
            assert.equal(result.code, 0, result.stderr);
            const line = result.stdout.trim();
            const report = JSON.parse(line) as Report;
            assert.equal(readFileSync(join(state(), "last-report.json"), "utf8"), `${line}\n`);
            assert.equal(readFileSync(containerLog(), "utf8"), `${line}\n`);
            assert.equal(report.tagsDeleted, 1);
            const values = metrics();
            assert.deepEqual({ ...values, registry_gc_last_run_timestamp_seconds: 0 }, {
                registry_gc_last_run_timestamp_seconds: 0, registry_gc_last_success: 1, registry_gc_last_dry_run: 0, registry_gc_last_window_seconds: 0,
                registry_gc_last_bytes_freed: report.bytesFreed, registry_gc_last_tags_deleted: 1, registry_gc_last_blobs_deleted: report.blobsDeleted,
            });
            assert.ok(Math.abs(values.registry_gc_last_run_timestamp_seconds - Date.now() / 1000) < 30);
            const text = readFileSync(join(state(), "metrics.prom"), "utf8");
            for (const name of Object.keys(values)) assert.match(text, new RegExp(`^# HELP ${name} .+\\n# TYPE ${name} gauge\\n${name} `, "m"));
        });

        it("a scheduled run does not write to the container's log itself (crond's output already goes there)", async () => {
            const result = await job(["run"], {}, { env: { GC_TRIGGER: "schedule" } });
            assert.equal(result.code, 0, result.stderr);
            assert.ok(!existsSync(containerLog()));
            assert.ok(existsSync(join(state(), "last-report.json")));
        });
    });

    describe("as rendered", () => {
        const settings: MaintenanceSettings = {
            schedule: "30 3 * * *", dryRun: false, graceSeconds: 3600, storage: "filesystem", cache: "redis",
            policies: [policy({ repositories: "team-a/*", keepLast: 3, protect: "^(latest|v[0-9]+)$" }), policy({ olderThanDays: 30 })],
        };

        it("sets the container's places, the same bytes every time, from a file that ships with the package", () => {
            const header = headerSettings(renderGcScript(settings, RegistrySeries.V3_1));
            assert.equal(header.ROOT, `${paths.registryData}/docker/registry/v2`);
            assert.equal(header.QUARANTINE, paths.gcQuarantine);
            assert.equal(header.STATE, paths.maintenanceDir);
            assert.equal(header.CONFIG, "/etc/distribution/config.yml");
            assert.equal(headerSettings(renderGcScript(settings, RegistrySeries.V2_8)).CONFIG, "/etc/docker/registry/config.yml");
            assert.equal(header.REDIS, `${REDIS_ALIAS}:${containerPorts.redis}`);
            assert.equal(header.POLICY_COUNT, "2");
            assert.equal(renderGcScript(settings, RegistrySeries.V3_1), renderGcScript({ ...settings, policies: settings.policies.map((p) => ({ ...p })) }, RegistrySeries.V3_1));
            assert.notEqual(gitIgnores("components/maintenance/scripts/gc.sh"), true, "git ignores the script: it would not ship");
        });

        it("the rendered job, header and body, is shellcheck-clean", function () {
            requireTool(this, "shellcheck", "shellcheck");
            assert.equal(shellcheckFindings(renderGcScript(settings, RegistrySeries.V3_1)), "");
        });
    });
});
