/**
 * Signatures, attestations and other attachments follow the image they belong to, through
 * retention and collection: cosign's tags (`sha256-<hex>.sig`, `.att`, `.sbom`), OCI 1.1
 * artifacts that name a `subject`, and the referrers tag scheme's index (`sha256-<hex>`).
 * Whole runs of the job and its new functions, under busybox, on a synthetic store laid out as
 * distribution 2.8 and 3.1 both write it (the layout is the same; so is the job).
 */
import { strict as assert } from "node:assert";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { MaintenanceSettings, RetentionPolicy } from "../../components/maintenance/config";
import { busyboxPath } from "../../testkit/busyboxPath";
import { RegistrySeries } from "../../components/registry/release";
import { gcFunctions, renderTestGcScript } from "../../testkit/gcJob";
import { attachmentTag, Image, OCI_INDEX, OCI_MANIFEST, RegistryTree } from "../../testkit/registryTree";
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
            // The names alone (the manifests behind them all look like attachments: a cosign signature).
            const signature = tree.attach("apps/named", `sha256:${"f".repeat(64)}`, "sig").manifest;
            const line = (tag: string) => `apps/web\t${tag}\t1700000000.000000000\t${signature}`;
            const attached = [`sha256-${hex}.sig`, `sha256-${hex}.att`, `sha256-${hex}.sbom`, `sha256-${hex}.intoto.v1`, `sha256-${hex}`];
            const others = ["latest", `sha256-${hex.slice(1)}.sig`, `sha256-${hex.toUpperCase()}.sig`, `sha256-${hex}sig`, `v1-sha256-${hex}.sig`, `sha256-${hex}-sig`, `sha256:${hex}`];
            const out = await succeeds("attachments", {}, [...attached, ...others].map((tag) => `${line(tag)}\n`).join(""));
            assert.deepEqual(out.split("\n").filter(Boolean), attached.map((tag) => `${line(tag)}\tsha256:${hex}`));
        });

        it("attachments: only when the manifest looks like one (subject, artifactType, cosign/DSSE/in-toto/SPDX/CycloneDX media types, a referrers index for the bare tag), never an image tagged by its own digest", async () => {
            const repo = "apps/web";
            const subject = `sha256:${hex}`;
            const withLayer = (tag: string, mediaType: string) => tree.manifest(repo, {
                schemaVersion: 2, mediaType: OCI_MANIFEST,
                config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${"c".repeat(64)}`, size: 1 },
                layers: [{ mediaType, digest: `sha256:${"d".repeat(64)}`, size: 1 }],
            }, tag);
            const artifactTyped = (tag: string) => tree.manifest(repo, {
                schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: "application/vnd.example.thing",
                config: { mediaType: "application/vnd.oci.empty.v1+json", digest: `sha256:${"e".repeat(64)}`, size: 2 },
                layers: [{ mediaType: "application/octet-stream", digest: `sha256:${"b".repeat(64)}`, size: 1 }],
            }, tag);
            tree.attach(repo, subject, "sig");
            withLayer(attachmentTag(subject, "att"), "application/vnd.dsse.envelope.v1+json");
            withLayer(attachmentTag(subject, "intoto"), "application/vnd.in-toto+json");
            for (const [suffix, type] of [["spdx", "text/spdx"], ["spdxjson", "application/spdx+json"], ["cdx", "application/vnd.cyclonedx+json"], ["sbom", "application/vnd.dev.cosign.artifact.sbom.v1+json"]]) {
                withLayer(attachmentTag(subject, suffix), type);
            }
            artifactTyped(attachmentTag(subject, "typed"));
            tree.artifact(repo, subject, "application/vnd.cncf.notary.signature", attachmentTag(subject, "notation"));
            const artifact = tree.artifact(repo, subject).manifest;
            tree.referrersIndex(repo, subject, [artifact]);
            const attached = ["sig", "att", "intoto", "spdx", "spdxjson", "cdx", "sbom", "typed", "notation", undefined].map((suffix) => attachmentTag(subject, suffix));
            // Ordinary tags of that form: an image tagged by its own digest, or by another one
            // (its upstream digest), a plain index, a referrers-like index under a suffix, a
            // signature under its own digest.
            const own = tree.image(repo, undefined, ["own"]).manifest;
            tree.tag(repo, attachmentTag(own), own);
            const other = `sha256:${"9".repeat(64)}`;
            tree.image(repo, attachmentTag(other, "v1"), ["upstream"]);
            tree.image(repo, attachmentTag(`sha256:${"8".repeat(64)}`), ["upstream-bare"]);
            const platform = tree.image(repo, undefined, ["platform"]).manifest;
            tree.index(repo, attachmentTag(`sha256:${"7".repeat(64)}`), [platform]);
            tree.manifest(repo, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: artifact, size: 1, artifactType: "x" }] }, attachmentTag(`sha256:${"6".repeat(64)}`, "idx"));
            const selfSigned = tree.attach(repo, `sha256:${"5".repeat(64)}`, "self").manifest;
            tree.tag(repo, attachmentTag(selfSigned), selfSigned);
            const out = await succeeds("list_tags | attachments");
            const found = out.split("\n").filter(Boolean).map((l) => l.split("\t"));
            assert.deepEqual(found.map((f) => f[1]).sort(), [...attached, attachmentTag(`sha256:${"5".repeat(64)}`, "self")].sort());
            for (const f of found) assert.equal(f[4], f[1].startsWith(`sha256-${hex}`) ? subject : `sha256:${"5".repeat(64)}`);
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

        it("decide never counts, ages nor deletes an attachment tag (ATTACHED); a tag of that form that is none is retention's like any other", async () => {
            const now = 1_800_000_000;
            const input = [[`sha256-${hex}.sig`, 1], [`sha256-${hex}`, 2], ["new", 10], ["old", 20], [`sha256-${hex}.att`, 30]]
                .map(([tag, days]) => `a\t${tag}\t${now - (days as number) * DAY}\n`).join("");
            const settings = { policies: [policy({ keepLast: 1, olderThanDays: 5 })] };
            const list = [`sha256-${hex}.sig`, `sha256-${hex}`, `sha256-${hex}.att`].map((tag) => `a\t${tag}\t1\tsha256:${"f".repeat(64)}\tsha256:${hex}\\n`).join("");
            const out = await succeeds(`printf '${list}' > "$WORK/attached"; NOW=${now} ATTACHED="$WORK/attached" decide`, settings, input);
            assert.equal(out, "a\told\n");
            const plain = await succeeds(`NOW=${now} decide`, settings, input);
            assert.deepEqual(plain.split("\n").filter(Boolean).sort(), ["a\tnew", "a\told", `a\tsha256-${hex}.att`].sort());
        });

        it("remove_untagged: an attachment of a kept manifest stays, a dangling one goes ('tag'), a recent dangling one stays (in recent-tags); an artifact follows its subject", async () => {
            const image = tree.image("apps/web", "v1", ["a"]);
            const sig = tree.attach("apps/web", image.manifest, "sig");
            const artifact = tree.artifact("apps/web", image.manifest);
            const dangling = tree.attach("apps/web", `sha256:${hex}`, "att");
            const orphanArtifact = tree.artifact("apps/web", `sha256:${hex}`);
            tree.age(2 * DAY);
            const recent = tree.attach("apps/web", `sha256:${"9".repeat(64)}`, "sig");
            const out = await succeeds(`touch -d "@$(( $(now) - GRACE_SECONDS ))" "$WORK/cutoff"; stamp "$WORK/listed"; : > "$WORK/recent-tags"; list_tags > "$WORK/tags"; remove_untagged "$WORK/tags"; echo --; cat "$WORK/recent-tags"`);
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

            /** The job started in its own process group (as gcJob.test.ts does), its output and exit code when it ends. */
            function start(settings: Partial<MaintenanceSettings> = {}, settleSeconds = 3): { job: ChildProcess; done: Promise<{ code: number | null; out: string }> } {
                const file = writeScript(dir, "gc.sh", renderTestGcScript(settings, { root: tree.root, quarantine: quarantine(), state: state() }, settleSeconds, series));
                const job = spawn("sh", [file, "run"], { env: { PATH: busyboxPath(), TMPDIR: dir }, stdio: ["ignore", "pipe", "pipe"], detached: true });
                const done = new Promise<{ code: number | null; out: string }>((resolve) => {
                    let out = "";
                    job.stdout?.on("data", (d: Buffer) => (out += d.toString()));
                    job.stderr?.on("data", (d: Buffer) => (out += d.toString()));
                    job.on("exit", (code) => resolve({ code, out }));
                });
                return { job, done };
            }

            /** Waits until the job is at this step or a later one. */
            async function phase(wanted: string): Promise<void> {
                const steps = ["retention", "untagged", "mark", "settle", "purge"];
                for (let i = 0; i < 1500; i++) {
                    const file = join(state(), "phase");
                    const current = existsSync(file) ? readFileSync(file, "utf8").trim() : "";
                    if (current && steps.indexOf(current) >= steps.indexOf(wanted)) return;
                    await new Promise((r) => setTimeout(r, 10));
                }
                assert.fail(`the job never reached phase ${wanted}`);
            }

            it("an untagged subject tagged again during the run comes back with its signatures, attestation and OCI artifact, all whole", async () => {
                const repo = "apps/retag";
                const subject = tree.image(repo, undefined, ["subject-layer"]);
                const attached = ["sig", "att"].map((suffix) => tree.attach(repo, subject.manifest, suffix, subject.manifest));
                const artifact = tree.artifact(repo, subject.manifest, "application/spdx+json");
                const other = tree.image(repo, "v2", ["other-layer"]);
                tree.age(2 * DAY);
                const { done } = start();
                await phase("settle");
                assert.ok(!tree.hasRevision(repo, subject.manifest), "the untagged subject should be moved aside by now");
                assert.deepEqual(tree.tags(repo), ["v2"], "its attachment tags should be moved aside by now");
                // A client tags it again (a PUT of the manifest by tag): its revision and the tag are written.
                tree.retag(repo, "v1", subject.manifest);
                const { code, out } = await done;
                assert.equal(code, 0, out);
                assert.deepEqual(tree.tags(repo), sorted(["v1", "v2", ...["sig", "att"].map((suffix) => attachmentTag(subject.manifest, suffix))]));
                present(repo, [subject, ...attached, artifact, other], true, "the subject tagged again, what is attached to it, and the other image");
                const report = JSON.parse(out.trim().split("\n").pop() as string) as Report;
                assert.equal(report.tagsDeleted, 0);
                assert.equal(report.manifestsDeleted, 0);
                // And the next run keeps them all.
                const next = run();
                assert.equal(next.tagsDeleted + next.manifestsDeleted + next.blobsDeleted, 0);
            });

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

            it("an attachment whose subject exists nowhere in the store goes, and a repository of nothing else goes with it", () => {
                const image = tree.image("apps/elsewhere", "v1", ["x"]);
                const stray = tree.attach("apps/signatures", `sha256:${"2".repeat(64)}`, "sig");
                const unknown = tree.attach("apps/elsewhere", `sha256:${"1".repeat(64)}`, "sig");
                tree.age(2 * DAY);
                const report = run();
                assert.deepEqual(report.repositoriesRemoved, ["apps/signatures"]);
                assert.deepEqual(tree.tags("apps/elsewhere"), ["v1"]);
                present("apps/signatures", [stray], false, "stray");
                present("apps/elsewhere", [unknown], false, "unknown subject");
                present("apps/elsewhere", [image], true, "image");
            });

            it("a signature kept in another repository than its image (COSIGN_REPOSITORY) stays while the image is anywhere, and goes once it is nowhere", () => {
                const image = tree.image("apps/web", "v1", ["web"]);
                tree.image("apps/web", "v2", ["web-keeps-the-repository"]);
                const untagged = tree.image("apps/other", undefined, ["other"]);
                tree.image("apps/other", "keep", ["keeps-the-repository"]);
                const sig = tree.attach("apps/signatures", image.manifest, "sig", image.manifest);
                const att = tree.attach("apps/signatures", image.manifest, "att", image.manifest);
                // Its subject only as a revision of another repository (no tag names it).
                const byRevision = tree.attach("apps/signatures", untagged.manifest, "sig", untagged.manifest);
                tree.age(2 * DAY);
                const first = run();
                assert.equal(first.tagsDeleted, 0);
                assert.deepEqual(first.repositoriesRemoved, []);
                assert.deepEqual(tree.tags("apps/signatures"), sorted([attachmentTag(image.manifest, "sig"), attachmentTag(image.manifest, "att"), attachmentTag(untagged.manifest, "sig")]));
                present("apps/signatures", [sig, att, byRevision], true, "signatures of images in other repositories");
                assert.ok(!tree.hasRevision("apps/other", untagged.manifest), "the untagged image went in this run");
                tree.deleteManifest("apps/web", image.manifest);
                const second = run();
                assert.deepEqual(sorted(second.deletedTags), sorted([ref("apps/signatures", attachmentTag(image.manifest, "sig")), ref("apps/signatures", attachmentTag(image.manifest, "att")), ref("apps/signatures", attachmentTag(untagged.manifest, "sig"))]));
                assert.deepEqual(second.repositoriesRemoved, ["apps/signatures"]);
                present("apps/signatures", [sig, att, byRevision], false, "signatures of images that are nowhere");
            });

            it("an image tagged with its own digest (sha256-<its hex>), with no policy, is kept whole", () => {
                const repo = "apps/bydigest";
                const image = tree.image(repo, undefined, ["by-digest"]);
                tree.tag(repo, attachmentTag(image.manifest), image.manifest);
                const signed = tree.image(repo, undefined, ["signed-by-digest"]);
                tree.tag(repo, attachmentTag(signed.manifest), signed.manifest);
                const sig = tree.attach(repo, signed.manifest, "sig", signed.manifest);
                tree.age(2 * DAY);
                const report = run();
                assert.equal(report.tagsDeleted + report.manifestsDeleted + report.blobsDeleted, 0);
                assert.deepEqual(tree.tags(repo), sorted([attachmentTag(image.manifest), attachmentTag(signed.manifest), attachmentTag(signed.manifest, "sig")]));
                present(repo, [image, signed, sig], true, "images tagged by their digest, and a signature of one");
            });

            it("an ordinary image tagged with another digest (its upstream one, sha256-<hex> and sha256-<hex>.<suffix>) is kept, and retention alone decides for it", () => {
                const repo = "apps/mirror";
                const upstream = tree.image(repo, attachmentTag(`sha256:${"9".repeat(64)}`), ["mirrored"]);
                const suffixed = tree.image(repo, attachmentTag(`sha256:${"8".repeat(64)}`, "amd64"), ["mirrored-amd64"]);
                const platform = tree.image(repo, undefined, ["platform"]);
                const index = tree.index(repo, attachmentTag(`sha256:${"7".repeat(64)}`), [platform.manifest]);
                tree.age(2 * DAY);
                pushedInOrder(repo, [attachmentTag(`sha256:${"7".repeat(64)}`), attachmentTag(`sha256:${"8".repeat(64)}`, "amd64"), attachmentTag(`sha256:${"9".repeat(64)}`)]);
                const report = run();
                assert.equal(report.tagsDeleted + report.manifestsDeleted + report.blobsDeleted, 0);
                present(repo, [upstream, suffixed, platform], true, "images tagged by another digest");
                assert.ok(tree.hasRevision(repo, index));
                const retained = run({ policies: [policy({ keepLast: 2 })] });
                assert.deepEqual(retained.deletedTags, [ref(repo, attachmentTag(`sha256:${"7".repeat(64)}`))], "the oldest, counted like any tag");
                present(repo, [upstream, suffixed], true, "the two newest");
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
