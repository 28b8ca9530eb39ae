/**
 * Signatures, attestations and other attachments follow the image they belong to, through
 * retention and collection: cosign's tags (`sha256-<hex>.sig`, `.att`, `.sbom`), OCI 1.1
 * artifacts that name a `subject`, and the referrers tag scheme's index (`sha256-<hex>`).
 * Whole runs of the job and its new functions, under busybox, on a synthetic store laid out as
 * distribution 2.8 and 3.1 both write it (the layout is the same; so is the job).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { MaintenanceSettings, RetentionPolicy } from "../../components/maintenance/config";
import { busyboxPath } from "../../testkit/busyboxPath";
import { RegistrySeries } from "../../components/registry/release";
import { gcFunctions, renderTestGcScript } from "../../testkit/gcJob";
import { attachmentTag, Image, OCI_INDEX, RegistryTree } from "../../testkit/registryTree";
import { requireTool } from "../../testkit/requireTool";
import { runScript, writeScript } from "../../testkit/shellScripts";

const DAY = 86_400;

interface Report {
    dryRun: boolean; tagsDeleted: number; manifestsDeleted: number; blobsDeleted: number; bytesFreed: number | null;
    durationSeconds: number; repositoriesRemoved: string[]; deletedTags: string[];
    keptRecent: { tags: number; manifests: number; repositories: number; blobs: number; bytes: number };
}

describe("attachments follow their subject (busybox, synthetic store)", function () {
    this.timeout(60_000);
    let dir: string;
    let tree: RegistryTree;
    const state = () => join(dir, "state");
    const quarantine = () => join(dir, "quarantine");
    const policy = (p: Partial<RetentionPolicy>): RetentionPolicy => ({ repositories: "*", keepLast: undefined, olderThanDays: undefined, protect: undefined, ...p });

    before(function () {
        requireTool(this, "busybox", "busybox-static");
    });
    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), "pr-gcatt-"));
        tree = new RegistryTree(join(dir, "v2"));
        mkdirSync(state());
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    /** Tags pushed in this order, the first the oldest, a second apart, all well beyond the window. */
    function pushedInOrder(repository: string, tags: string[]): void {
        const start = Date.now() / 1000 - 2 * DAY;
        tags.forEach((tag, i) => {
            const at = start + i;
            utimesSync(join(tree.root, "repositories", repository, "_manifests", "tags", tag, "current", "link"), at, at);
        });
    }

    const revisionOf = (repository: string, digest: string) => `repositories/${repository}/_manifests/revisions/sha256/${digest.slice(7)}`;
    const sorted = (list: string[]) => [...list].sort();
    const ref = (repository: string, tag: string) => `${repository}:${tag}`;

    /**
     * Each manifest's revision and every blob it names stored, or its revision, its manifest and
     * its own last layer gone (the config may be shared: cosign's, or OCI's empty `{}`).
     */
    function present(repository: string, images: Image[], wanted: boolean, what: string): void {
        for (const image of images) {
            assert.equal(tree.hasRevision(repository, image.manifest), wanted, `${what}: revision ${image.manifest}`);
            const blobs = wanted ? [image.manifest, ...image.blobs] : [image.manifest, image.blobs[image.blobs.length - 1]];
            for (const digest of blobs) assert.equal(tree.hasBlob(digest), wanted, `${what}: blob ${digest}`);
        }
    }

    describe("functions", () => {
        const work = () => join(dir, "work");
        async function succeeds(commands: string, settings: Partial<MaintenanceSettings> = {}, input = ""): Promise<string> {
            mkdirSync(work(), { recursive: true });
            mkdirSync(quarantine(), { recursive: true });
            const file = writeScript(dir, "gc-functions.sh", gcFunctions(renderTestGcScript(settings, { root: tree.root, quarantine: quarantine(), state: state() })));
            const result = await runScript(file, [commands], { env: { TMPDIR: dir, WORK: work() }, input });
            assert.equal(result.code, 0, result.stderr + result.stdout);
            return result.stdout;
        }
        const hex = "0123456789abcdef".repeat(4);

        it("attachments: cosign's sha256-<hex>.sig, .att, .sbom (any .suffix) and the referrers tag sha256-<hex>, with their subject; no other tag", async () => {
            const line = (tag: string) => `apps/web\t${tag}\t1700000000.000000000\tsha256:${"f".repeat(64)}`;
            const attached = [`sha256-${hex}.sig`, `sha256-${hex}.att`, `sha256-${hex}.sbom`, `sha256-${hex}.intoto.v1`, `sha256-${hex}`];
            const others = ["latest", `sha256-${hex.slice(1)}.sig`, `sha256-${hex.toUpperCase()}.sig`, `sha256-${hex}sig`, `v1-sha256-${hex}.sig`, `sha256-${hex}-sig`, `sha256:${hex}`];
            const out = await succeeds("attachments", {}, [...attached, ...others].map((tag) => `${line(tag)}\n`).join(""));
            assert.deepEqual(out.split("\n").filter(Boolean), attached.map((tag) => `${line(tag)}\tsha256:${hex}`));
        });

        it("subjects: the subject of an OCI 1.1 artifact or index, compact or pretty-printed, its data in place or in quarantine; none for a plain manifest", async () => {
            const subject = `sha256:${hex}`;
            const compact = tree.artifact("apps/web", subject).manifest;
            // Pretty-printed, the subject last, its annotations (an object) before its digest.
            const pretty = tree.blob(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: "x", digest: `sha256:${"e".repeat(64)}`, size: 1 }],
                subject: { mediaType: "y", annotations: { "org.example": "a" }, digest: `sha256:${"d".repeat(64)}`, size: 1 } }, null, 2));
            const moved = tree.artifact("apps/web", `sha256:${"c".repeat(64)}`).manifest;
            const movedHex = moved.slice(7);
            mkdirSync(quarantine(), { recursive: true });
            renameSync(dirname(tree.blobData(moved)), join(quarantine(), `blobs/sha256/${movedHex.slice(0, 2)}/${movedHex}`.replaceAll("/", "%")));
            const plain = tree.image("apps/web", "v1", ["a"]).manifest;
            // "subject" only as an annotation's value, and as a key that is no descriptor.
            const mentions = tree.blob(JSON.stringify({ schemaVersion: 2, annotations: { note: "\"subject\"" }, layers: [{ digest: `sha256:${"b".repeat(64)}` }] }));
            const out = await succeeds(`printf '%s\\n' ${compact} ${pretty} ${moved} ${plain} ${mentions} sha256:${"a".repeat(64)} | subjects`);
            assert.deepEqual(out.split("\n").filter(Boolean).sort(), [`${compact}\t${subject}`, `${pretty}\tsha256:${"d".repeat(64)}`, `${moved}\tsha256:${"c".repeat(64)}`].sort());
        });

        it("decide never counts, ages nor deletes an attachment tag", async () => {
            const now = 1_800_000_000;
            const input = [[`sha256-${hex}.sig`, 1], [`sha256-${hex}`, 2], ["new", 10], ["old", 20], [`sha256-${hex}.att`, 30]]
                .map(([tag, days]) => `a\t${tag}\t${now - (days as number) * DAY}\n`).join("");
            const out = await succeeds(`NOW=${now} decide`, { policies: [policy({ keepLast: 1, olderThanDays: 5 })] }, input);
            assert.equal(out, "a\told\n");
        });

        it("remove_untagged: an attachment of a kept manifest stays, a dangling one goes ('tag'), a recent dangling one stays (in recent-tags); an artifact follows its subject", async () => {
            const image = tree.image("apps/web", "v1", ["a"]);
            const sig = tree.attach("apps/web", image.manifest, "sig");
            const artifact = tree.artifact("apps/web", image.manifest);
            const dangling = tree.attach("apps/web", `sha256:${hex}`, "att");
            const orphanArtifact = tree.artifact("apps/web", `sha256:${hex}`);
            tree.age(2 * DAY);
            const recent = tree.attach("apps/web", `sha256:${"9".repeat(64)}`, "sig");
            const out = await succeeds(`touch -d "@$(( $(now) - GRACE_SECONDS ))" "$WORK/cutoff"; : > "$WORK/recent-tags"; list_tags > "$WORK/tags"; remove_untagged "$WORK/tags"; echo --; cat "$WORK/recent-tags"`);
            const [plan, recentTags] = out.split("--\n");
            assert.deepEqual(plan.split("\n").filter(Boolean).sort(), [
                `tag\tapps/web\tsha256-${hex}.att`,
                `manifest\tapps/web\t${dangling.manifest}`,
                `manifest\tapps/web\t${orphanArtifact.manifest}`,
                `recent\tmanifest\tapps/web\t${recent.manifest}`,
            ].sort());
            assert.equal(recentTags, `apps/web\tsha256-${"9".repeat(64)}.sig\n`);
            assert.deepEqual(tree.tags("apps/web"), sorted(["v1", attachmentTag(image.manifest, "sig"), attachmentTag(`sha256:${"9".repeat(64)}`, "sig")]));
            for (const digest of [sig.manifest, artifact.manifest, recent.manifest]) assert.ok(tree.hasRevision("apps/web", digest), digest);
            assert.ok(existsSync(`${join(quarantine(), revisionOf("apps/web", orphanArtifact.manifest).replaceAll("/", "%"))}%origin`));
        });
    });

    for (const series of [RegistrySeries.V2_8, RegistrySeries.V3_1]) {
        describe(`whole runs, registry ${series}`, () => {
            function run(settings: Partial<MaintenanceSettings> = {}): Report {
                const file = writeScript(dir, "gc.sh", renderTestGcScript(settings, { root: tree.root, quarantine: quarantine(), state: state() }, 1, series));
                const result = spawnSync("sh", [file, "run"], { encoding: "utf8", env: { PATH: busyboxPath(), TMPDIR: dir } });
                assert.equal(result.status, 0, result.stderr + result.stdout);
                return JSON.parse(result.stdout.trim().split("\n").pop() as string) as Report;
            }

            it("keepLast 2 over three signed, attested images: the oldest goes with its .sig, .att and .sbom; the two newest keep theirs", () => {
                const repo = "apps/signed";
                const images = [0, 1, 2].map((i) => tree.image(repo, `v${i}`, [`layer-${i}`]));
                const attached = images.map((image) => ["sig", "att", "sbom"].map((suffix) => tree.attach(repo, image.manifest, suffix, image.manifest)));
                tree.age(2 * DAY);
                // Each image signed after it was pushed: the attachment tags are the newest.
                pushedInOrder(repo, ["v0", "v1", "v2", ...images.flatMap((image) => ["sig", "att", "sbom"].map((suffix) => attachmentTag(image.manifest, suffix)))]);
                const report = run({ policies: [policy({ keepLast: 2 })] });
                const tagsOf = (i: number) => [`v${i}`, ...["sig", "att", "sbom"].map((suffix) => attachmentTag(images[i].manifest, suffix))];
                assert.deepEqual(tree.tags(repo), sorted([...tagsOf(1), ...tagsOf(2)]));
                assert.deepEqual(sorted(report.deletedTags), sorted(tagsOf(0).map((tag) => ref(repo, tag))));
                assert.equal(report.tagsDeleted, 4);
                present(repo, [images[1], images[2], ...attached[1], ...attached[2]], true, "kept");
                present(repo, [images[0], ...attached[0]], false, "the oldest image and its attachments");
                assert.equal(report.manifestsDeleted, 4);
            });

            it("attachments take no keepLast place: two images and six attachment tags under keepLast 2 lose nothing", () => {
                const repo = "apps/two";
                const images = [0, 1].map((i) => tree.image(repo, `v${i}`, [`layer-${i}`]));
                for (const image of images) for (const suffix of ["sig", "att", "sbom"]) tree.attach(repo, image.manifest, suffix, image.manifest);
                tree.age(2 * DAY);
                const before = tree.tags(repo);
                pushedInOrder(repo, ["v0", "v1", ...before.filter((tag) => tag.startsWith("sha256-"))]);
                const report = run({ policies: [policy({ keepLast: 2, olderThanDays: 1 })] });
                assert.equal(report.tagsDeleted, 0);
                assert.equal(report.manifestsDeleted, 0);
                assert.equal(report.blobsDeleted, 0);
                assert.deepEqual(tree.tags(repo), before);
                assert.equal(before.length, 8);
            });

            it("an image deleted through the API leaves its attachments dangling: the collection removes them and their blobs, once out of the window", () => {
                const repo = "apps/api";
                const gone = tree.image(repo, "v1", ["gone-layer"]);
                const kept = tree.image(repo, "v2", ["kept-layer"]);
                const dangling = ["sig", "att"].map((suffix) => tree.attach(repo, gone.manifest, suffix, gone.manifest));
                const keptSig = tree.attach(repo, kept.manifest, "sig", kept.manifest);
                tree.age(2 * DAY);
                tree.deleteManifest(repo, gone.manifest);
                // Signed a moment ago, after its image was deleted: within the window, it waits.
                const late = tree.attach(repo, gone.manifest, "sbom", gone.manifest);
                const first = run();
                assert.deepEqual(sorted(first.deletedTags), sorted(["sig", "att"].map((suffix) => ref(repo, attachmentTag(gone.manifest, suffix)))));
                assert.deepEqual(tree.tags(repo), sorted(["v2", attachmentTag(kept.manifest, "sig"), attachmentTag(gone.manifest, "sbom")]));
                for (const image of dangling) {
                    assert.ok(!tree.hasRevision(repo, image.manifest));
                    for (const digest of [image.manifest, image.blobs[1]]) assert.ok(!tree.hasBlob(digest), digest);
                }
                assert.ok(!tree.hasBlob(gone.blobs[1]), "the deleted image's own layer stays");
                present(repo, [kept, keptSig, late], true, "kept");
                assert.equal(first.keptRecent.tags, 1);
                tree.age(2 * DAY);
                const second = run();
                assert.deepEqual(second.deletedTags, [ref(repo, attachmentTag(gone.manifest, "sbom"))]);
                present(repo, [late], false, "the late attachment, out of the window");
                assert.deepEqual(tree.tags(repo), sorted(["v2", attachmentTag(kept.manifest, "sig")]));
            });

            it("an attachment whose subject never was in its repository goes, and a repository of nothing else goes with it", () => {
                const image = tree.image("apps/elsewhere", "v1", ["x"]);
                const stray = tree.attach("apps/signatures", image.manifest, "sig");
                const unknown = tree.attach("apps/elsewhere", `sha256:${"1".repeat(64)}`, "sig");
                tree.age(2 * DAY);
                const report = run();
                assert.deepEqual(report.repositoriesRemoved, ["apps/signatures"]);
                assert.deepEqual(tree.tags("apps/elsewhere"), ["v1"]);
                present("apps/signatures", [stray], false, "stray");
                present("apps/elsewhere", [unknown], false, "unknown subject");
                present("apps/elsewhere", [image], true, "image");
            });

            it("an untagged OCI artifact naming a present subject stays; when its subject goes (API delete, or retention), it goes and its blobs are collected", () => {
                const repo = "apps/oci";
                const first = tree.image(repo, "v1", ["l1"]);
                const second = tree.image(repo, "v2", ["l2"]);
                const third = tree.image(repo, "v3", ["l3"]);
                const sbom = tree.artifact(repo, first.manifest, "application/spdx+json");
                const signature = tree.artifact(repo, second.manifest, "application/vnd.cncf.notary.signature");
                tree.age(2 * DAY);
                pushedInOrder(repo, ["v1", "v2", "v3"]);
                const kept = run();
                assert.equal(kept.manifestsDeleted, 0);
                present(repo, [sbom, signature], true, "artifacts of present subjects");
                tree.deleteManifest(repo, first.manifest);
                const afterDelete = run();
                assert.equal(afterDelete.manifestsDeleted, 1);
                present(repo, [sbom], false, "the artifact of a deleted subject");
                present(repo, [signature], true, "the other artifact");
                const afterRetention = run({ policies: [policy({ keepLast: 1 })] });
                assert.deepEqual(afterRetention.deletedTags, [ref(repo, "v2")]);
                assert.equal(afterRetention.manifestsDeleted, 2, "the image and its artifact");
                present(repo, [second, signature], false, "an image retention deleted, and its artifact");
                present(repo, [third], true, "the image kept");
            });

            it("the referrers tag scheme: sha256-<hex> on an index of the subject's artifacts stays with the subject and goes with it", () => {
                const repo = "apps/referrers";
                const subject = tree.image(repo, "v1", ["s"]);
                const other = tree.image(repo, "v2", ["o"]);
                const artifacts = ["application/spdx+json", "application/vnd.cncf.notary.signature"].map((type) => tree.artifact(repo, subject.manifest, type));
                const index = tree.referrersIndex(repo, subject.manifest, artifacts.map((a) => a.manifest));
                tree.age(2 * DAY);
                const kept = run();
                assert.equal(kept.manifestsDeleted + kept.tagsDeleted + kept.blobsDeleted, 0);
                assert.deepEqual(tree.tags(repo), sorted(["v1", "v2", attachmentTag(subject.manifest)]));
                tree.deleteManifest(repo, subject.manifest);
                const gone = run();
                assert.deepEqual(gone.deletedTags, [ref(repo, attachmentTag(subject.manifest))]);
                assert.deepEqual(tree.tags(repo), ["v2"]);
                assert.equal(gone.manifestsDeleted, 3);
                assert.ok(!tree.hasRevision(repo, index) && !tree.hasBlob(index));
                present(repo, artifacts, false, "the referrers");
                present(repo, [other], true, "the other image");
            });

            it("a subject that protect keeps keeps its attachments; the unprotected old ones go with theirs", () => {
                const repo = "apps/protected";
                const names = ["stable", "b1", "b2", "b3"];
                const images = names.map((tag) => tree.image(repo, tag, [`layer-${tag}`]));
                const sigs = images.map((image) => tree.attach(repo, image.manifest, "sig", image.manifest));
                tree.age(2 * DAY);
                pushedInOrder(repo, [...names, ...images.map((image) => attachmentTag(image.manifest, "sig"))]);
                const report = run({ policies: [policy({ keepLast: 1, protect: "^stable$" })] });
                assert.deepEqual(tree.tags(repo), sorted(["stable", "b3", attachmentTag(images[0].manifest, "sig"), attachmentTag(images[3].manifest, "sig")]));
                assert.deepEqual(sorted(report.deletedTags), sorted([1, 2].flatMap((i) => [ref(repo, names[i]), ref(repo, attachmentTag(images[i].manifest, "sig"))])));
                present(repo, [images[0], sigs[0], images[3], sigs[3]], true, "protected and newest");
            });

            it("signatures of a tagged index's platform manifests, and a signature of a signature, follow the index", () => {
                const repo = "multi/signed";
                const arm = tree.image(repo, undefined, ["arm"]);
                const amd = tree.image(repo, undefined, ["amd"]);
                const index = tree.index(repo, "v1", [arm.manifest, amd.manifest]);
                const platformSigs = [arm, amd].map((platform) => tree.attach(repo, platform.manifest, "sig", platform.manifest));
                const indexSig = tree.attach(repo, index, "sig", index);
                const countersig = tree.attach(repo, indexSig.manifest, "sig", indexSig.manifest);
                tree.image(repo, "v2", ["keeps-the-repository"]);
                tree.age(2 * DAY);
                assert.equal(run().manifestsDeleted, 0);
                present(repo, [...platformSigs, indexSig, countersig], true, "attachments of a tagged index");
                tree.deleteManifest(repo, index);
                const report = run();
                assert.equal(report.tagsDeleted, 4);
                present(repo, [arm, amd, ...platformSigs, indexSig, countersig], false, "after the index");
            });

            it("a dry run reports what the real run then does, attachments included, and changes nothing", () => {
                const repo = "apps/mixed";
                const images = [0, 1, 2].map((i) => tree.image(repo, `v${i}`, [`layer-${i}`]));
                for (const image of images) for (const suffix of ["sig", "att"]) tree.attach(repo, image.manifest, suffix, image.manifest);
                const subject = tree.image(repo, "ref", ["ref-layer"]);
                const referrers = [tree.artifact(repo, subject.manifest).manifest, tree.artifact(repo, images[0].manifest).manifest];
                tree.referrersIndex(repo, subject.manifest, referrers.slice(0, 1));
                tree.image("apps/api", "v1", ["api"]);
                const deleted = tree.image("apps/api", "v2", ["deleted"]);
                tree.attach("apps/api", deleted.manifest, "sig");
                tree.age(2 * DAY);
                pushedInOrder(repo, ["ref", "v0", "v1", "v2"]);
                tree.deleteManifest("apps/api", deleted.manifest);
                const snapshot = () => JSON.stringify([tree.repositories(), tree.tags(repo), tree.tags("apps/api"), readdirSync(join(tree.root, "blobs", "sha256")).length]);
                const before = snapshot();
                const settings = { policies: [policy({ repositories: "apps/mixed", keepLast: 2 })] };
                const dry = run({ ...settings, dryRun: true });
                assert.equal(snapshot(), before);
                const real = run(settings);
                assert.ok(dry.dryRun && !real.dryRun);
                for (const field of ["tagsDeleted", "manifestsDeleted", "blobsDeleted", "bytesFreed"] as const) assert.equal(dry[field], real[field], field);
                assert.deepEqual(sorted(dry.deletedTags), sorted(real.deletedTags));
                assert.deepEqual(sorted(real.deletedTags), sorted([
                    ref(repo, "ref"), ref(repo, attachmentTag(subject.manifest)), ref(repo, "v0"), ...["sig", "att"].map((suffix) => ref(repo, attachmentTag(images[0].manifest, suffix))),
                    ref("apps/api", attachmentTag(deleted.manifest, "sig")),
                ]));
                assert.equal(real.manifestsDeleted, 8, "ref, its referrers index and artifact; v0, its two attachments and its artifact; the deleted image's signature");
            });
        });
    }

    describe("performance", function () {
        this.timeout(600_000);

        it("2000 signed and attested images (6000 tags) and 1000 untagged images in one repository, keepLast 1000", () => {
            const tags: string[] = [];
            for (let i = 0; i < 2000; i++) {
                const image = tree.image("big/app", `t${i}`, [`layer-${i}`]);
                tags.push(`t${i}`);
                tree.attach("big/app", image.manifest, "sig", image.manifest);
                tree.attach("big/app", image.manifest, "att", image.manifest);
                if (i % 2 === 0) tree.image("big/app", undefined, [`orphan-${i}`]);
            }
            tree.age(2 * DAY);
            pushedInOrder("big/app", tags);
            const file = writeScript(dir, "gc.sh", renderTestGcScript({ policies: [policy({ keepLast: 1000 })] }, { root: tree.root, quarantine: quarantine(), state: state() }));
            const result = spawnSync("sh", [file, "run"], { encoding: "utf8", env: { PATH: busyboxPath(), TMPDIR: dir } });
            assert.equal(result.status, 0, result.stderr + result.stdout);
            const report = JSON.parse(result.stdout.trim().split("\n").pop() as string) as Report;
            console.log(`      ${report.durationSeconds} s`);
            assert.equal(report.tagsDeleted, 3000);
            assert.equal(report.manifestsDeleted, 4000);
            assert.equal(tree.tags("big/app").length, 3000);
            assert.ok(report.durationSeconds < 240, `${report.durationSeconds} s`);
        });
    });
});
