/**
 * The maintenance job (busybox sh and awk, as in the registry image): pauses writes,
 * applies retention, removes untagged images whole and empty repositories, runs the
 * registry's own garbage collector, resumes writes, and reports in one JSON line.
 *
 * Why not `garbage-collect --delete-untagged`: in registry 2.8 it deletes the platform
 * manifests of multi-arch images (distribution#3178). The job untags by itself, keeping
 * every manifest a tagged index or manifest list names, then collects without it.
 * Why a tag is deleted by its link: deleting a manifest by digest (the API's only way in
 * 2.8) deletes every tag on that digest; removing `_manifests/tags/<tag>` deletes one.
 */
import { containerPorts, paths, REDIS_ALIAS } from "../common/paths";
import { MaintenanceSettings, repositoryRegex } from "./config";

/** Where the job and nginx meet: the flag that pauses writes, the lock, the last report. */
export const MAINTENANCE_DIR = "/run/registry-maintenance";
export const PAUSE_FLAG = `${MAINTENANCE_DIR}/writes-paused`;
export const GC_SCRIPT = "/maintenance/gc.sh";
/** The last run as Prometheus text, which the entrypoint serves at /metrics/gc. */
export const GC_METRICS_FILE = `${MAINTENANCE_DIR}/metrics.prom`;
/** How long writes that passed nginx before the pause may take to finish. */
export const DRAIN_SECONDS = 5;

export function renderGcScript(settings: MaintenanceSettings): string {
    return [header(settings), LIBRARY, decideFunction(), runFunction(), MAIN].join("\n");
}

/** The crontab busybox crond reads (`crond -c <dir>`: the file is named after the user). */
export function renderCrontab(schedule: string | undefined): string {
    const line = schedule === undefined ? "# scheduled collection is off (gc.schedule: off)" : `${schedule} GC_TRIGGER=schedule ${GC_SCRIPT} run >/proc/1/fd/1 2>/proc/1/fd/2`;
    return `# Rendered by private-registry; \`pulumi up\` overwrites it. Times are UTC.\n${line}\n`;
}

function header(settings: MaintenanceSettings): string {
    const policies = settings.policies.flatMap((p, i) => [
        `POLICY_${i}_REPOSITORIES='${repositoryRegex(p.repositories)}'`,
        `POLICY_${i}_KEEP_LAST='${p.keepLast ?? ""}'`,
        `POLICY_${i}_OLDER_THAN_DAYS='${p.olderThanDays ?? ""}'`,
        `POLICY_${i}_PROTECT='${p.protect ?? ""}'`,
        `export POLICY_${i}_REPOSITORIES POLICY_${i}_KEEP_LAST POLICY_${i}_OLDER_THAN_DAYS POLICY_${i}_PROTECT`,
    ]);
    return [
        "#!/bin/sh",
        "# Rendered by private-registry; `pulumi up` overwrites it.",
        "#   gc.sh run      the job (crond runs it on gc.schedule; run it by hand to collect now)",
        "#   gc.sh decide   retention alone: 'repository<TAB>tag<TAB>pushed-epoch' lines in,",
        "#                  'repository<TAB>tag' to delete out (NOW: the clock, epoch seconds)",
        "set -eu",
        `ROOT='${paths.registryData}/docker/registry/v2'`,
        `CONFIG='${paths.registryConfig}'`,
        `STATE='${MAINTENANCE_DIR}'`,
        `PAUSE_FLAG='${PAUSE_FLAG}'`,
        `DRAIN_SECONDS=${DRAIN_SECONDS}`,
        `DRY_RUN=${settings.dryRun}`,
        // s3: no files to read; the registry's collector alone, through the storage config.
        `STORAGE=${settings.storage}`,
        // redis: the shared blob cache still names what was collected; flushed before writes resume.
        `CACHE=${settings.cache}`,
        `REDIS='${REDIS_ALIAS}:${containerPorts.redis}'`,
        `POLICY_COUNT=${settings.policies.length}`,
        "export POLICY_COUNT",
        ...policies,
        "TAB=$(printf '\\t')",
    ].join("\n");
}

/** Shell functions the job is made of; each prints its findings as TAB-separated lines. */
const LIBRARY = String.raw`
# repository TAB tag TAB pushed-epoch TAB digest, for every tag (the link file's mtime is
# when the tag was last pushed). One stat and one awk for all tags: no process per tag.
list_tags() {
    find "$ROOT/repositories" -path '*/_manifests/tags/*/current/link' -type f -exec stat -c '%Y %n' {} + 2>/dev/null |
        awk -v root="$ROOT/repositories/" -v marker="/_manifests/tags/" '{
            link = substr($0, length($1) + 2)
            rel = substr(link, length(root) + 1)
            at = index(rel, marker)
            rest = substr(rel, at + length(marker))
            digest = ""
            getline digest < link
            close(link)
            printf "%s\t%s\t%s\t%s\n", substr(rel, 1, at - 1), substr(rest, 1, length(rest) - length("/current/link")), $1, digest
        }'
}

# The digests an index or manifest list names (nothing for an image manifest).
children() {
    hex=${"$"}{1#sha256:}
    data="$ROOT/blobs/sha256/$(echo "$hex" | cut -c1-2)/$hex/data"
    if [ -f "$data" ] && grep -q '"manifests"' "$data"; then grep -o 'sha256:[0-9a-f]\{64\}' "$data" || true; fi
}

# The digests to keep: the given ones and, through indexes of indexes, everything they name.
keep_closure() {
    kept=$(printf '%s\n' $1 | sort -u)
    while :; do
        more=$(for digest in $kept; do children "$digest"; done | sort -u)
        grown=$(printf '%s\n%s\n' "$kept" "$more" | grep . | sort -u)
        [ "$grown" = "$kept" ] && break
        kept=$grown
    done
    printf '%s\n' "$kept"
}

blob_bytes() {
    # Unknown in a bucket: the report says null.
    [ "$STORAGE" = filesystem ] || return 0
    # %.0f, not %d: awk's %d wraps at 2 GiB.
    find "$ROOT/blobs" -name data -type f -exec stat -c %s {} + 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'
}

# Empties the shared blob cache (Redis, RESP inline command through busybox nc).
flush_cache() {
    [ "$CACHE" = redis ] && [ "$DRY_RUN" != true ] || return 0
    answer=$(printf 'FLUSHDB\r\n' | nc -w 5 "${"$"}{REDIS%:*}" "${"$"}{REDIS#*:}" 2>&1 | tr -d '\r')
    [ "$answer" = "+OK" ] && return 0
    echo "gc.sh: redis answered '$answer' to FLUSHDB" >&2
    return 1
}

uptime_seconds() {
    cut -d' ' -f1 /proc/uptime
}

# Removes the tags retention chose ($1: file of repository TAB tag).
delete_tags() {
    while IFS="$TAB" read -r repo tag; do
        [ "$DRY_RUN" = true ] || rm -rf "$ROOT/repositories/$repo/_manifests/tags/$tag"
    done < "$1"
}

# Untags every manifest no remaining tag names, directly or through a tagged index, and
# removes repositories left without tags. $1: remaining tags (list_tags lines).
# Prints 'manifest TAB repository TAB digest' and 'repository TAB name' lines.
remove_untagged() {
    # -prune: never look inside _manifests (a tag may itself be named "_manifests").
    find "$ROOT/repositories" -type d -name _manifests -prune 2>/dev/null | while read -r manifests; do
        repo_dir=${"$"}{manifests%/_manifests}
        repo=${"$"}{repo_dir#"$ROOT/repositories/"}
        keep=$(awk -F "$TAB" -v r="$repo" '$1 == r { print $4 }' "$1")
        keep_closure "$keep" > "$WORK/keep"
        for revision in "$manifests"/revisions/sha256/*; do
            [ -d "$revision" ] || continue
            digest="sha256:${"$"}{revision##*/}"
            grep -qx "$digest" "$WORK/keep" && continue
            printf 'manifest\t%s\t%s\n' "$repo" "$digest"
            [ "$DRY_RUN" = true ] || rm -rf "$revision"
        done
        if [ -z "$keep" ]; then
            printf 'repository\t%s\n' "$repo"
            if [ "$DRY_RUN" != true ]; then
                rm -rf "$manifests" "$repo_dir/_layers" "$repo_dir/_uploads"
                dir=$repo_dir
                while [ "$dir" != "$ROOT/repositories" ] && rmdir "$dir" 2>/dev/null; do dir=${"$"}{dir%/*}; done
            fi
        fi
    done
}
`;

/** Retention, pure: sorted newest first per repository, the first matching policy decides. */
function decideFunction(): string {
    return String.raw`
decide() {
    sort -t "$TAB" -k1,1 -k3,3nr -k2,2 | awk -F "$TAB" -v now="${"$"}{NOW:-$(date +%s)}" '
        function policy_for(repo,   i) {
            for (i = 0; i < ENVIRON["POLICY_COUNT"] + 0; i++) if (repo ~ ENVIRON["POLICY_" i "_REPOSITORIES"]) return i
            return -1
        }
        $1 != current { current = $1; p = policy_for($1); kept = 0 }
        p < 0 { next }
        {
            protect = ENVIRON["POLICY_" p "_PROTECT"]
            if (protect != "" && $2 ~ protect) next
            keep = ENVIRON["POLICY_" p "_KEEP_LAST"]; days = ENVIRON["POLICY_" p "_OLDER_THAN_DAYS"]
            beyond = (keep == "" || kept >= keep + 0)
            old = (days == "" || now - $3 > days * 86400)
            kept++
            if (beyond && old) print $1 "\t" $2
        }'
}`;
}

function runFunction(): string {
    return String.raw`
run() {
    mkdir "$STATE/gc.lock" 2>/dev/null || { echo "gc.sh: a collection is already running" >&2; exit 75; }
    WORK=
    # Writes must resume however the job ends: error, signal, or a closed terminal.
    trap 'rm -f "$PAUSE_FLAG"; [ -z "$WORK" ] || rm -rf "$WORK"; rmdir "$STATE/gc.lock"' EXIT
    trap 'exit 143' TERM INT
    trap 'exit 129' HUP
    trap 'exit 141' PIPE
    WORK=$(mktemp -d)
    started=$(uptime_seconds)
    touch "$PAUSE_FLAG"
    sleep "$DRAIN_SECONDS"
    bytes_before=$(blob_bytes)
    : > "$WORK/deleted"
    : > "$WORK/untagged"
    if [ "$STORAGE" = filesystem ]; then
        list_tags > "$WORK/tags"
        cut -f1-3 "$WORK/tags" | decide > "$WORK/deleted"
        delete_tags "$WORK/deleted"
        # FILENAME, not NR == FNR: with nothing deleted the first file is empty, and NR == FNR
        # would then hold for every tag, taking them all for deleted.
        awk -F "$TAB" -v deleted="$WORK/deleted" 'FILENAME == deleted { gone[$1 FS $2] = 1; next } !(($1 FS $2) in gone)' "$WORK/deleted" "$WORK/tags" > "$WORK/remaining"
        remove_untagged "$WORK/remaining" > "$WORK/untagged"
    fi
    gc_flags=
    [ "$DRY_RUN" != true ] || gc_flags=--dry-run
    if ! registry garbage-collect $gc_flags "$CONFIG" > "$WORK/gc.log" 2>&1; then
        cat "$WORK/gc.log" >&2
        fail "garbage-collect failed (its output is in this log); the tags listed were already deleted"
    fi
    flush_cache || fail "the blob cache was not flushed: a re-push of a collected layer could be taken for present; run the job again"
    bytes_after=$(blob_bytes)
    rm -f "$PAUSE_FLAG"
    ended=$(uptime_seconds)
    report "$started" "$ended" "$bytes_before" "$bytes_after"
}

# A failed run ($1: why): one JSON line with the tags already deleted, failure metrics, exit 1.
fail() {
    printf '{"event":"registry-gc","error":"%s","deletedTags":%s}\n' "$1" \
        "$(awk -F "$TAB" 'BEGIN { printf "[" } { printf "%s\"%s:%s\"", NR > 1 ? "," : "", $1, $2 } END { printf "]" }' "$WORK/deleted")" | tee /proc/1/fd/1
    write_metrics 0 "$(( $(uptime_seconds | cut -d. -f1) - $(echo "$started" | cut -d. -f1) ))" 0 "$(wc -l < "$WORK/deleted")" 0
    exit 1
}

# The last run for Prometheus (served by the entrypoint at /metrics/gc), replaced atomically.
write_metrics() { # success window_seconds bytes_freed tags_deleted blobs_deleted
    dry=0
    [ "$DRY_RUN" != true ] || dry=1
    {
        gauge registry_gc_last_run_timestamp_seconds "When the last garbage collection ended (Unix time)." "$(date +%s)"
        gauge registry_gc_last_success "1 if the last garbage collection succeeded, 0 if it failed." "$1"
        gauge registry_gc_last_dry_run "1 if the last garbage collection was a dry run." "$dry"
        gauge registry_gc_last_window_seconds "How long writes were paused." "$2"
        [ -z "$3" ] || gauge registry_gc_last_bytes_freed "Blob bytes the last collection freed." "$3"
        gauge registry_gc_last_tags_deleted "Tags retention deleted in the last run." "$4"
        gauge registry_gc_last_blobs_deleted "Blobs the last collection deleted." "$5"
    } > "$STATE/metrics.prom.tmp"
    mv "$STATE/metrics.prom.tmp" "$STATE/metrics.prom"
}

gauge() { # name help value
    printf '# HELP %s %s\n# TYPE %s gauge\n%s %s\n' "$1" "$2" "$1" "$1" "$3"
}

# One JSON line: to stdout, to the container's log (when run by hand), and to $STATE/last-report.json.
report() {
    line=$(awk -F "$TAB" -v started="$1" -v ended="$2" -v before="$3" -v after="$4" -v dry="$DRY_RUN" \
        -v blobs="$(grep -c 'blob eligible for deletion' "$WORK/gc.log" || true)" '
        function q(s) { gsub(/["\\]/, "\\\\&", s); return "\"" s "\"" }
        FILENAME ~ /deleted$/ { tags = tags (tags == "" ? "" : ",") q($1 ":" $2); ntags++ }
        FILENAME ~ /untagged$/ && $1 == "manifest" { nman++ }
        FILENAME ~ /untagged$/ && $1 == "repository" { repos = repos (repos == "" ? "" : ",") q($2); nrepos++ }
        END {
            printf "{\"event\":\"registry-gc\",\"dryRun\":%s,\"tagsDeleted\":%d,\"manifestsDeleted\":%d,\"blobsDeleted\":%d,", dry, ntags, nman, blobs
            printf "\"bytesFreed\":%s,\"windowSeconds\":%.2f,\"repositoriesRemoved\":[%s],\"deletedTags\":[%s]}\n", before == "" ? "null" : sprintf("%.0f", before - after), ended - started, repos, tags
        }' "$WORK/deleted" "$WORK/untagged")
    echo "$line"
    echo "$line" > "$STATE/last-report.json"
    write_metrics 1 "$(awk -v s="$1" -v e="$2" 'BEGIN { printf "%.2f", e - s }')" "$(awk -v b="$3" -v a="$4" 'BEGIN { if (b != "") printf "%.0f", b - a }')" \
        "$(wc -l < "$WORK/deleted")" "$(grep -c 'blob eligible for deletion' "$WORK/gc.log" || true)"
    if [ "${"$"}{GC_TRIGGER:-on-demand}" != schedule ]; then echo "$line" > /proc/1/fd/1; fi
}`;
}

const MAIN = String.raw`
case "${"$"}{1:-}" in
    run) run ;;
    decide) decide ;;
    *) echo "usage: gc.sh run | decide" >&2; exit 64 ;;
esac
`;
