# shellcheck shell=sh
# The maintenance job, run by busybox sh and awk (the registry image's tools). Its settings
# come from the header the program renders above these lines (see ../gcScript.ts):
#   ROOT (the registry's v2 tree), QUARANTINE, STATE, CONTAINER_LOG, CONFIG, STORAGE, CACHE, REDIS, DRY_RUN,
#   GRACE_SECONDS, SETTLE_SECONDS, POLICY_COUNT and POLICY_<i>_{REPOSITORIES,KEEP_LAST,
#   OLDER_THAN_DAYS,PROTECT}.
#
#   gc.sh run       the job (crond runs it on gc.schedule; run it by hand to collect now)
#   gc.sh recover   undoes what a killed run left (the container runs it at start)
#   gc.sh decide    retention alone: 'repository<TAB>tag<TAB>pushed-epoch' lines in,
#                   'repository<TAB>tag' to delete out (NOW: the clock, epoch seconds)
#
# Filesystem storage: collection runs beside writes and never pauses them (Harbor's and
# Zot's rule). Whatever was written within the grace window (a tag, a manifest, a blob, a
# repository's link to a blob) is never untagged or collected, so an upload or a push in
# flight cannot lose what it wrote. Everything is removed in two steps: moved aside into
# QUARANTINE (one rename), then, after SETTLE_SECONDS, deleted unless something written
# since names it, in which case it is put back. A killed run leaves only quarantine, which
# `recover` puts back.
#
# S3 storage: the job cannot list a bucket, so the registry's own collector runs, which
# needs writes stopped: nginx answers them 503 while a pause lease is fresh. The lease is a
# file per minute that the job renews; when the job dies, however it dies, the pause ends
# by the next minute.
set -eu

TAB=$(printf '\t')
DIGEST_RE='sha256:[0-9a-f]\{64\}'
# The name of a tag that may attach something to the manifest sha256:<hex> (awk ERE): cosign's
# signature, attestation and SBOM (sha256-<hex>.sig, .att, .sbom: any '.<suffix>'), and, with
# no suffix, the referrers tag scheme's index of that manifest's OCI 1.1 artifacts. The name
# alone makes no attachment: the manifest it points at must look like one (attachments).
ATTACHMENT_TAG='^sha256-[0-9a-f]{64}([.][A-Za-z0-9_.-]+)?$'

now() { date +%s; }

uptime_seconds() { cut -d' ' -f1 /proc/uptime; }

set_phase() {
    echo "$1" > "$STATE/phase.tmp" && mv "$STATE/phase.tmp" "$STATE/phase"
}

# --- the lock: one run at a time; a dead holder's lock is taken over ---

take_lock() {
    mkdir "$STATE/gc.lock.$$"
    echo "$$" > "$STATE/gc.lock.$$/pid"
    # A rename onto a lock that exists (and holds a pid) fails: that is the atomic step.
    while ! mv -T "$STATE/gc.lock.$$" "$STATE/gc.lock" 2>/dev/null; do
        holder=$(cat "$STATE/gc.lock/pid" 2>/dev/null || true)
        if [ -n "$holder" ] && kill -0 "$holder" 2>/dev/null; then
            rm -rf "$STATE/gc.lock.$$"
            echo "gc.sh: a collection is already running (pid $holder)" >&2
            exit 75
        fi
        # The holder died: its lock is renamed away (one rename wins), then ours goes in.
        mv -T "$STATE/gc.lock" "$STATE/gc.lock.dead.$$" 2>/dev/null && rm -rf "$STATE/gc.lock.dead.$$"
    done
    # Two runs taking over one dead lock at once: the later rename wins, the other steps back.
    sleep 1
    if [ "$(cat "$STATE/gc.lock/pid" 2>/dev/null || true)" != "$$" ]; then
        echo "gc.sh: a collection is already running" >&2
        exit 75
    fi
}

release_lock() {
    [ "$(cat "$STATE/gc.lock/pid" 2>/dev/null || true)" = "$$" ] && rm -rf "$STATE/gc.lock"
    return 0
}

# --- listing (filesystem) ---

# repository TAB tag TAB pushed TAB digest, for every tag. pushed is the link file's mtime
# with its fraction (epoch.nanoseconds): tags pushed within one second keep their order.
list_tags() {
    find "$ROOT/repositories" -path '*/_manifests/tags/*/current/link' -type f -exec stat -c '%Y %y %n' {} + 2>/dev/null |
        awk -v root="$ROOT/repositories/" -v marker="/_manifests/tags/" '{
            fraction = $3
            if (!sub(/^[^.]*/, "", fraction)) fraction = ""
            link = $0
            sub(/^[^ ]+ [^ ]+ [^ ]+ [^ ]+ /, "", link)
            rel = substr(link, length(root) + 1)
            at = index(rel, marker)
            rest = substr(rel, at + length(marker))
            digest = ""
            getline digest < link
            close(link)
            printf "%s\t%s\t%s%s\t%s\n", substr(rel, 1, at - 1), substr(rest, 1, length(rest) - length("/current/link")), $1, fraction, digest
        }'
}

# The data file of a blob, where it is or in quarantine: both paths (grep skips the missing one).
data_paths() { # reads digests, prints paths
    awk -v root="$ROOT" -v q="$QUARANTINE" '{
        hex = substr($1, 8); dir = "blobs/sha256/" substr(hex, 1, 2) "/" hex
        print root "/" dir "/data"
        gsub("/", "%", dir); print q "/" dir "/data"
    }'
}

# Every digest the given manifests' data mention (digests in, digests out).
mentioned() {
    data_paths | xargs -r grep -ho "$DIGEST_RE" 2>/dev/null || true
}

# index-digest TAB child-digest, for every index or manifest list among the given digests.
index_children() {
    data_paths | xargs -r grep -l '"manifests"' 2>/dev/null | xargs -r grep -Ho "$DIGEST_RE" 2>/dev/null |
        awk -F: '{ n = split($1, part, "/"); hex = part[n - 1]; sub(/.*%/, "", hex); print "sha256:" hex "\t" $2 ":" $3 }' || true
}

# artifact-digest TAB subject-digest, for every manifest among the given digests that names a
# subject (OCI 1.1: an image manifest or an index with "subject": {..., "digest": ...}), its
# data read in place or in quarantine.
subjects() {
    # shellcheck disable=SC2016 # an awk program, run by xargs
    data_paths | xargs -r grep -l '"subject"' 2>/dev/null | xargs -r awk '
        function emit(   n, part, hex, found) {
            if (file == "") return
            if (match(body, /"subject"[ \t\r]*:[ \t\r]*\{([^{}]|\{[^{}]*\})*"digest"[ \t\r]*:[ \t\r]*"sha256:[0-9a-f]{64}"/)) {
                found = substr(body, RSTART + RLENGTH - 72, 71)
                n = split(file, part, "/"); hex = part[n - 1]; sub(/.*%/, "", hex)
                print "sha256:" hex "\t" found
            }
            body = ""
        }
        FNR == 1 { emit(); file = FILENAME }
        { body = body $0 " " }
        END { emit() }' 2>/dev/null || true
}

# The tags that attach something to a manifest: list_tags lines in, those lines out with the
# digest of the manifest they attach to (their subject) added. A tag is an attachment when its
# name has the form (ATTACHMENT_TAG), the hex in it is not the digest of the manifest it points
# at (an image tagged by its own digest), and that manifest looks like an attachment
# (attachment_manifests: 'A' for any such name, 'R' for the bare sha256-<hex> only). Anything
# else is an ordinary tag, retention's alone.
attachments() {
    awk -F "$TAB" -v attached="$ATTACHMENT_TAG" '$2 ~ attached && substr($2, 8, 64) != substr($4, 8)' > "$WORK/named-attachments"
    cut -f4 "$WORK/named-attachments" | sort -u | attachment_manifests > "$WORK/attachment-manifests"
    awk -F "$TAB" -v OFS="$TAB" -v kinds="$WORK/attachment-manifests" '
        FILENAME == kinds { kind[$1] = $2; next }
        kind[$4] == "A" || (kind[$4] == "R" && length($2) == 71) { print $0, "sha256:" substr($2, 8, 64) }' \
        "$WORK/attachment-manifests" "$WORK/named-attachments"
}

# Which of the given manifests look like an attachment (digests in, 'digest TAB kind' out, the
# data read in place or in quarantine): 'A' when it names a subject, has an artifactType of its
# own, or a layer or its config has a signature's, an attestation's or an SBOM's media type
# (cosign, sigstore, DSSE, in-toto, SPDX, CycloneDX); 'R' when it is an index whose entries
# have an artifactType (the referrers tag scheme's index); none for an image or a plain index.
attachment_manifests() {
    # shellcheck disable=SC2016 # an awk program, run by xargs
    data_paths | xargs -r grep -l -E '"(subject|artifactType)"|cosign|sigstore|dsse|in-toto|spdx|cyclonedx' 2>/dev/null | xargs -r awk '
        function judge(   n, part, hex, top, kind) {
            if (file == "") return
            kind = ""
            if (match(body, /"subject"[ \t\r]*:[ \t\r]*\{([^{}]|\{[^{}]*\})*"digest"[ \t\r]*:[ \t\r]*"sha256:[0-9a-f]{64}"/)) kind = "A"
            else if (match(body, /"mediaType"[ \t\r]*:[ \t\r]*"(application\/vnd\.dev\.cosign\.|application\/vnd\.dev\.sigstore\.|application\/vnd\.dsse\.envelope|application\/vnd\.in-toto|text\/spdx|application\/spdx|application\/vnd\.cyclonedx)/)) kind = "A"
            else if (index(body, "\"artifactType\"")) {
                # The top level alone: the outer braces off, every nested object folded away.
                top = body; sub(/^[^{]*\{/, "", top); sub(/\}[^}]*$/, "", top)
                while (gsub(/\{[^{}]*\}/, "0", top) > 0) continue
                if (top ~ /"artifactType"[ \t\r]*:/) kind = "A"
                else if (top ~ /"manifests"[ \t\r]*:/) kind = "R"
            }
            if (kind != "") { n = split(file, part, "/"); hex = part[n - 1]; sub(/.*%/, "", hex); print "sha256:" hex "\t" kind }
            body = ""
        }
        FNR == 1 { judge(); file = FILENAME }
        { body = body $0 " " }
        END { judge() }' 2>/dev/null || true
}

# A stamp for `find -newer`, which busybox compares in whole seconds: set two seconds early,
# so that what is written in the same second still counts as written since.
stamp() { # file
    touch -d "@$(( $(now) - 2 ))" "$1"
}

# True when a file at or below the path was written after the stamp file's mtime. Files only:
# a directory's mtime changes when this job moves an entry out of it. Without the stamp, true:
# what cannot be judged is kept.
written_since() { # path stamp
    [ -e "$2" ] || return 0
    [ -n "$(find "$1" -type f -newer "$2" 2>/dev/null | head -n 1)" ]
}

# --- retention (pure) ---

# Sorted newest first per repository; the first matching policy decides. Never deletes a
# tag pushed within the grace window, nor one pushed at the same moment as a tag it keeps.
# With KEPT_RECENT set, the tags kept only because they are recent go to that file.
# The tags the file ATTACHED lists ('repository<TAB>tag' lines: the attachments, which the
# job finds by reading manifests) are no images: never counted, aged or deleted here; they
# follow their subject (remove_untagged). Every other tag is retention's, whatever its name.
decide() {
    sort -t "$TAB" -k1,1 -k3,3nr -k2,2 | awk -F "$TAB" -v now="${NOW:-$(now)}" -v grace="${GRACE_SECONDS:-0}" -v attachments="${ATTACHED:-}" '
        function policy_for(repo,   i) {
            for (i = 0; i < ENVIRON["POLICY_COUNT"] + 0; i++) if (repo ~ ENVIRON["POLICY_" i "_REPOSITORIES"]) return i
            return -1
        }
        BEGIN {
            # A count or an age it cannot read stops retention before it chooses anything:
            # read as a number, a garbled one would be 0 (every tag beyond it, every tag old).
            for (i = 0; i < ENVIRON["POLICY_COUNT"] + 0; i++) {
                if (ENVIRON["POLICY_" i "_KEEP_LAST"] !~ /^[0-9]*$/ || ENVIRON["POLICY_" i "_OLDER_THAN_DAYS"] !~ /^[0-9]*$/) {
                    print "gc.sh: retention policy " i ": KEEP_LAST and OLDER_THAN_DAYS must be whole numbers or empty" > "/dev/stderr"
                    exit 2
                }
            }
            if (attachments != "") while ((getline line < attachments) > 0) { split(line, f, "\t"); attached[f[1] SUBSEP f[2]] = 1 }
        }
        $1 != current { current = $1; p = policy_for($1); kept = 0; last = "" }
        p < 0 || (($1 SUBSEP $2) in attached) { next }
        {
            protect = ENVIRON["POLICY_" p "_PROTECT"]
            if (protect != "" && $2 ~ protect) next
            keep = ENVIRON["POLICY_" p "_KEEP_LAST"]; days = ENVIRON["POLICY_" p "_OLDER_THAN_DAYS"]
            pushed = $3 + 0
            beyond = (keep == "" || kept >= keep + 0)
            old = (days == "" || now - pushed > days * 86400)
            tie = (last != "" && pushed == last)
            kept++
            if (beyond && old && !tie) {
                if (now - pushed >= grace) { print $1 "\t" $2; next }
                if (ENVIRON["KEPT_RECENT"] != "") print $1 "\t" $2 > ENVIRON["KEPT_RECENT"]
            }
            last = pushed
        }'
}

# --- quarantine: moved aside with one rename, deleted later, put back when named again ---

# Moves $ROOT/<relative path> into quarantine with one rename; true if it did. The origin is
# recorded first, so a run killed between the two steps leaves nothing recover cannot read
# (at most an empty record, of an item that never moved: repair_unwritten_records). A record
# that could not be written (a full disk) moves nothing: recover finds items by their records.
# The item is named after its origin ('/' as '%'), its record with '%origin' added: no tag or
# repository name holds a '%', so neither can collide, whatever subshell moves them.
quarantine() { # relative-path
    item=$(item_for "$1")
    [ -e "$ROOT/$1" ] && [ ! -e "$item" ] || return 1
    if ! printf '%s\n' "$1" > "$item%origin"; then
        rm -f "$item%origin"
        return 1
    fi
    mv -T "$ROOT/$1" "$item" 2>/dev/null && return 0
    # Gone meanwhile (a DELETE through the API): nothing to move.
    rm -f "$item%origin"
    return 1
}

# The same, unless something at or below the path was written since the listing began: a push
# that rewrote it meanwhile (a tag pushed again, an old manifest pushed under a new tag) keeps
# it, rather than losing it until the settle step puts it back.
quarantine_unless_written() { # relative-path
    ! written_since "$ROOT/$1" "$WORK/listed" && quarantine "$1"
}

item_for() { # relative-path
    echo "$QUARANTINE/$(printf '%s' "$1" | tr / %)"
}

# Puts a quarantined item back. If the registry has written its origin again meanwhile, what
# is there stays and the item fills in only what is missing.
restore() { # item
    read -r restore_to < "$1%origin"
    restore_to="$ROOT/$restore_to"
    if [ -e "$1" ]; then
        mkdir -p "${restore_to%/*}"
        mv -T "$1" "$restore_to" 2>/dev/null || merge "$1" "$restore_to"
    fi
    rm -rf "$1" "$1%origin"
}

# Fills in what the registry has not written again; link(2) never replaces a file it wrote
# meanwhile (a check, then a move, could put an old tag link over a new one).
merge() { # from to
    (cd "$1" && find . -type f) | while read -r file; do
        mkdir -p "$(dirname "$2/$file")"
        ln "$1/$file" "$2/$file" 2>/dev/null || true
    done
}

# item TAB origin, for every item in quarantine.
items() {
    find "$QUARANTINE" -maxdepth 1 -name '*%origin' -type f -exec awk '{ item = FILENAME; sub(/%origin$/, "", item); print item "\t" $0 }' {} + 2>/dev/null || true
}

# Deletes for good what is left in quarantine (empty directories left behind stay: removing
# one could race the registry creating something in it); their origins go to $WORK/purged.
purge_all() {
    items > "$WORK/to-purge"
    cut -f2 "$WORK/to-purge" >> "$WORK/purged"
    cut -f1 "$WORK/to-purge" | awk '{ print; print $0 "%origin" }' | xargs -r rm -rf
}

# --- steps of a filesystem run ---

# Retention: removes the tags decide chose ($WORK/deleted), each moved aside.
delete_tags() {
    while IFS="$TAB" read -r repo tag; do
        if [ "$DRY_RUN" = true ] || quarantine_unless_written "repositories/$repo/_manifests/tags/$tag"; then printf '%s\t%s\n' "$repo" "$tag"; fi
    done < "$WORK/deleted" > "$WORK/deleted.moved"
}

# Untags every manifest that no remaining tag names, directly or through a tagged index, and
# that no manifest written within the grace window names either; removes the repositories
# left with no tag and nothing recent (their own _manifests, _layers and _uploads: a
# repository nested below one is a repository of its own). $1: remaining tags (list_tags
# lines). Prints 'tag', 'manifest', 'repository' and 'recent' lines for what it did (or, in
# a dry run, would do).
#
# Attachments follow their subject, a manifest of the same repository: an attachment tag
# (attachments) and an OCI 1.1 artifact naming a subject are kept while their subject is,
# and keep what they name; they never keep their subject. An attachment tag whose subject is
# not kept in its repository stays while the subject is kept in another one or has a
# revision there (cosign's COSIGN_REPOSITORY); when it is nowhere, the tag goes (a 'tag'
# line), unless it was pushed within the window (its line goes to $WORK/recent-tags); an
# untagged artifact whose subject is not kept is untagged like any other manifest. A
# signature of a signature follows the first. What goes with a subject is listed in
# $WORK/followers (origin, subject, digest), for take_back.
remove_untagged() {
    # -prune: never look inside _manifests (a tag may itself be named "_manifests").
    find "$ROOT/repositories" -type d -name _manifests -prune 2>/dev/null |
        awk -v root="$ROOT/repositories/" '{ print substr($0, length(root) + 1, length($0) - length(root) - length("/_manifests")) }' > "$WORK/repositories"
    # Every revision first, then the recent ones: a revision written in between is not listed
    # at all (so not untagged), rather than listed as old.
    find "$ROOT/repositories" -path '*/_manifests/revisions/sha256/*/link' -type f 2>/dev/null > "$WORK/revision-links" || true
    find "$ROOT/repositories" -path '*/_manifests/revisions/sha256/*/link' -type f -newer "$WORK/cutoff" 2>/dev/null > "$WORK/recent-links" || true
    # repository TAB digest TAB 1 if written within the window
    awk -v root="$ROOT/repositories/" -v recent="$WORK/recent-links" '
        BEGIN { while ((getline line < recent) > 0) fresh[line] = 1 }
        {
            rel = substr($0, length(root) + 1)
            at = index(rel, "/_manifests/revisions/sha256/")
            n = split($0, part, "/")
            printf "%s\t%s\t%d\n", substr(rel, 1, at - 1), "sha256:" part[n - 1], ($0 in fresh)
        }' "$WORK/revision-links" > "$WORK/revisions"
    cut -f2 "$WORK/revisions" | sort -u > "$WORK/revision-list"
    index_children < "$WORK/revision-list" > "$WORK/children"
    subjects < "$WORK/revision-list" > "$WORK/subjects"
    attachments < "$1" > "$WORK/attachments"
    : > "$WORK/followers"
    # Per repository: keep what tags name and, through indexes, what those name, and what is
    # attached to what is kept; then also what recent manifests and recent attachment tags
    # name. Everything else is untagged; a repository with no tag and no recent manifest is a
    # candidate for removal.
    awk -F "$TAB" -v tags="$1" -v children="$WORK/children" -v repositories="$WORK/repositories" \
        -v subjects="$WORK/subjects" -v attachments="$WORK/attachments" -v cutoff="$(stat -c %Y "$WORK/cutoff")" -v followers="$WORK/followers" '
        function reach(key,   k) { if (!(key in keep)) { keep[key] = 1; queue[++q] = key; split(key, k, SUBSEP); anywhere[k[2]] = 1 } }
        # An attachment whose subject is not kept in its repository but is kept in another one,
        # or has a revision in another one (a signature in cosign COSIGN_REPOSITORY), is kept
        # and keeps what it names.
        function elsewhere(   i, more) {
            do {
                more = 0
                for (i = 1; i <= na; i++) {
                    if ((a_repo[i] SUBSEP a_subject[i]) in keep || (a_repo[i] SUBSEP a_digest[i]) in keep) continue
                    if (!(a_subject[i] in anywhere) && revisions_of[a_subject[i]] - ((a_repo[i] SUBSEP a_subject[i]) in is_revision) <= 0) continue
                    reach(a_repo[i] SUBSEP a_digest[i]); more = 1
                }
                close_over()
            } while (more)
        }
        function kept_elsewhere(i) {
            return (a_subject[i] in anywhere) || revisions_of[a_subject[i]] - ((a_repo[i] SUBSEP a_subject[i]) in is_revision) > 0
        }
        # Each node once: what an index names, what is attached to it by tag or by subject.
        function close_over(   k, c, m, j) {
            while (done < q) {
                split(queue[++done], k, SUBSEP)
                m = split(kids[k[2]], c, " ")
                for (j = 1; j <= m; j++) reach(k[1] SUBSEP c[j])
                m = split(attached[queue[done]], c, " ")
                for (j = 1; j <= m; j++) reach(k[1] SUBSEP c[j])
            }
        }
        BEGIN {
            while ((getline line < children) > 0) { split(line, f, "\t"); kids[f[1]] = kids[f[1]] " " f[2] }
            while ((getline line < subjects) > 0) { split(line, f, "\t"); subject_of[f[1]] = f[2] }
            # repository TAB tag TAB pushed TAB digest TAB subject
            while ((getline line < attachments) > 0) {
                split(line, f, "\t"); na++
                attachment[f[1] SUBSEP f[2]] = 1; a_repo[na] = f[1]; a_tag[na] = f[2]; a_digest[na] = f[4]; a_subject[na] = f[5]
                a_recent[na] = (f[3] + 0 > cutoff)
                attached[f[1] SUBSEP f[5]] = attached[f[1] SUBSEP f[5]] " " f[4]
            }
        }
        {
            revision[++n] = $1 SUBSEP $2; recent[n] = $3
            if (!(($1 SUBSEP $2) in is_revision)) { is_revision[$1 SUBSEP $2] = 1; revisions_of[$2]++ }
            if ($2 in subject_of) attached[$1 SUBSEP subject_of[$2]] = attached[$1 SUBSEP subject_of[$2]] " " $2
        }
        END {
            while ((getline line < tags) > 0) {
                split(line, f, "\t")
                if ((f[1] SUBSEP f[2]) in attachment) continue
                tagged[f[1]] = 1; reach(f[1] SUBSEP f[4])
            }
            close_over()
            elsewhere()
            for (key in keep) by_tag[key] = 1
            for (i = 1; i <= n; i++) if (recent[i] == 1) { split(revision[i], k, SUBSEP); fresh[k[1]] = 1; reach(revision[i]) }
            for (i = 1; i <= na; i++) if (a_recent[i]) reach(a_repo[i] SUBSEP a_digest[i])
            close_over()
            elsewhere()
            for (i = 1; i <= na; i++) {
                if ((a_repo[i] SUBSEP a_subject[i]) in keep || kept_elsewhere(i)) tagged[a_repo[i]] = 1
                else if (a_recent[i]) { tagged[a_repo[i]] = 1; print "recent-tag\t" a_repo[i] "\t" a_tag[i] }
                else {
                    print "tag\t" a_repo[i] "\t" a_tag[i]
                    print "repositories/" a_repo[i] "/_manifests/tags/" a_tag[i] "\t" a_subject[i] "\t" a_digest[i] > followers
                }
            }
            for (i = 1; i <= n; i++) {
                split(revision[i], k, SUBSEP)
                if (!(revision[i] in keep) && (k[2] in subject_of))
                    print "repositories/" k[1] "/_manifests/revisions/sha256/" substr(k[2], 8) "\t" subject_of[k[2]] "\t" k[2] > followers
                if (!(revision[i] in keep)) print "manifest\t" k[1] "\t" k[2]
                else if (!(revision[i] in by_tag)) print "recent\tmanifest\t" k[1] "\t" k[2]
            }
            while ((getline repo < repositories) > 0) {
                if (repo in tagged) continue
                print (repo in fresh ? "recent\trepository\t" : "unneeded-repository\t") repo
            }
        }' "$WORK/revisions" > "$WORK/untag-plan"
    while IFS="$TAB" read -r kind repo name; do
        case "$kind" in
            tag)
                if [ "$DRY_RUN" = true ] || quarantine_unless_written "repositories/$repo/_manifests/tags/$name"; then
                    printf 'tag\t%s\t%s\n' "$repo" "$name"
                fi ;;
            recent-tag) printf '%s\t%s\n' "$repo" "$name" >> "$WORK/recent-tags" ;;
            manifest)
                if [ "$DRY_RUN" = true ] || quarantine_unless_written "repositories/$repo/_manifests/revisions/sha256/${name#sha256:}"; then
                    printf 'manifest\t%s\t%s\n' "$repo" "$name"
                fi ;;
            recent) printf 'recent\t%s\t%s\n' "$repo" "$name" ;;
            unneeded-repository) remove_repository "$repo" ;;
        esac
    done < "$WORK/untag-plan"
}

# A repository with no tag goes unless something of its own was written within the window.
remove_repository() { # repository
    for part in _manifests _layers _uploads; do
        if written_since "$ROOT/repositories/$1/$part" "$WORK/cutoff"; then
            printf 'recent\trepository\t%s\n' "$1"
            return 0
        fi
    done
    printf 'repository\t%s\n' "$1"
    [ "$DRY_RUN" = true ] && return 0
    for part in _manifests _layers _uploads; do quarantine "repositories/$1/$part" || true; done
}

# The digests manifests use: every revision of every repository (or only those written since
# the stamp $1) and every digest each one names, its data read where it is (in place or in
# quarantine). An over-approximation on purpose: any digest a manifest mentions is kept.
manifest_references() { # [stamp]
    newer=
    [ -z "${1:-}" ] || newer="-newer $1"
    # shellcheck disable=SC2086 # $newer is two words or none
    find "$ROOT/repositories" -path '*/_manifests/revisions/sha256/*/link' -type f $newer 2>/dev/null |
        without_excluded | awk -F/ '{ print "sha256:" $(NF - 1) }' | sort -u > "$WORK/revision-digests"
    cat "$WORK/revision-digests"
    mentioned < "$WORK/revision-digests"
}

# Lines not in $WORK/excluded (busybox grep -v -f with an empty file passes nothing).
without_excluded() {
    if [ -s "$WORK/excluded" ]; then grep -v -x -F -f "$WORK/excluded" || true; else cat; fi
}

# The blobs a repository linked since the stamp: an upload, a mount, or a re-upload of a blob
# the store already had (the registry then writes only the link).
linked_since() { # stamp
    find "$ROOT/repositories" -path '*/_layers/sha256/*/link' -type f -newer "$1" 2>/dev/null | awk -F/ '{ print "sha256:" $(NF - 1) }'
}

# Every blob: digest TAB bytes TAB 1 if written within the grace window, else 0.
list_blobs() {
    find "$ROOT/blobs/sha256" -mindepth 3 -maxdepth 3 -name data -type f -exec stat -c '%s %Y %n' {} + 2>/dev/null |
        awk -v cutoff="$(stat -c %Y "$WORK/cutoff")" '{ n = split($3, part, "/"); printf "sha256:%s\t%s\t%d\n", part[n - 1], $1, ($2 > cutoff) }'
}

# Quarantines the blobs no manifest names and no repository links: unless recent.
sweep() {
    { manifest_references; linked_since "$WORK/cutoff"; } | sort -u > "$WORK/referenced"
    list_blobs | awk -F "$TAB" -v referenced="$WORK/referenced" -v out="$WORK/recent-blobs" '
        FILENAME == referenced { used[$1] = 1; next }
        ($1 in used) { next }
        $3 == 1 { print > out; next }
        { print }' "$WORK/referenced" - > "$WORK/candidates"
    [ "$DRY_RUN" = true ] && return 0
    while IFS="$TAB" read -r digest bytes _recent; do
        hex=${digest#sha256:}
        relative="blobs/sha256/${hex%"${hex#??}"}/$hex"
        if quarantine "$relative"; then printf '%s\t%s\n' "$relative" "$bytes" >> "$WORK/blob-bytes"; fi
    done < "$WORK/candidates"
}

# Puts back whatever something written during the run needs: the blobs and manifests that a
# manifest written since the listing or a link written since the mark names (and, through
# what comes back, what those name, and their own blobs), the items a write landed in just
# before they moved, and the items whose origin the registry has written anew (a push into
# a repository being removed). A subject that comes back or is written again brings back
# what followed it out ($WORK/followers: its attachment tags and artifacts, and through
# those what they name).
take_back() {
    # Manifests written since the listing, not only since the mark: one the untagging left in
    # place because it was pushed again meanwhile (quarantine_unless_written), or one pushed
    # after the listing, names what the untagging moved aside (an index its platform
    # manifests, a subject its attachments). Links: the sweep kept those written before the mark.
    { manifest_references "$WORK/listed"; linked_since "$WORK/marked"; } | sort -u > "$WORK/named"
    # The subjects there again: the revisions written since the listing, and those put back.
    { cat "$WORK/revision-digests"; awk -F/ '/\/_manifests\/revisions\/sha256\// { print "sha256:" $NF }' "$WORK/restored"; } | sort -u > "$WORK/revived"
    [ -e "$WORK/followers" ] || : > "$WORK/followers"
    find "$QUARANTINE" -mindepth 2 -type f -newer "$WORK/listed" 2>/dev/null |
        awk -v q="$QUARANTINE/" '{ rest = substr($0, length(q) + 1); sub(/\/.*/, "", rest); print q rest }' | sort -u > "$WORK/written-into"
    while :; do
        items | awk -F "$TAB" -v named="$WORK/named" -v written="$WORK/written-into" -v revived="$WORK/revived" -v followers="$WORK/followers" '
            BEGIN {
                while ((getline l < named) > 0) n[l] = 1; while ((getline l < written) > 0) w[l] = 1
                while ((getline l < revived) > 0) r[l] = 1
                while ((getline l < followers) > 0) { split(l, f, "\t"); if (f[2] in r) follows[f[1]] = 1 }
            }
            {
                hex = $2; sub(/.*\//, "", hex)
                content = ($2 ~ /^blobs\// || $2 ~ /\/_manifests\/revisions\/sha256\//)
                print $1 "\t" $2 "\t" (($1 in w) || ($2 in follows) || (content && (("sha256:" hex) in n)) ? "back" : "if-rewritten")
            }' > "$WORK/judged"
        : > "$WORK/back"
        while IFS="$TAB" read -r item origin verdict; do
            [ -e "$item%origin" ] || continue
            [ "$verdict" = back ] || [ -e "$ROOT/$origin" ] || continue
            restore "$item"
            printf '%s\n' "$origin" >> "$WORK/back"
            # A repository that comes back, comes back whole: its manifests need its links.
            case "$origin" in */_manifests | */_layers | */_uploads) restore_repository "${origin%/*}" ;; esac
        done < "$WORK/judged"
        [ -s "$WORK/back" ] || break
        cat "$WORK/back" >> "$WORK/restored"
        # What came back names more: an index its platform manifests, a manifest its layers, a
        # repository's manifests and links theirs.
        {
            awk -F/ '/\/_manifests\/revisions\/sha256\// { print "sha256:" $NF }' "$WORK/back"
            grep -E '/(_manifests|_layers)$' "$WORK/back" | while read -r part; do
                find "$ROOT/$part" -path '*/revisions/sha256/*/link' -type f | awk -F/ '{ print "sha256:" $(NF - 1) }'
            done
        } | sort -u > "$WORK/back-digests"
        # A manifest back needs its own blob too, not only what it names.
        { cat "$WORK/back-digests"; mentioned < "$WORK/back-digests"; } >> "$WORK/named"
        # What followed a subject now back comes back too, and what it names.
        sort -u -o "$WORK/revived" "$WORK/revived" "$WORK/back-digests"
        awk -F "$TAB" -v revived="$WORK/revived" 'FILENAME == revived { r[$1] = 1; next } ($2 in r) { print $3 }' "$WORK/revived" "$WORK/followers" |
            sort -u > "$WORK/followed-back"
        { cat "$WORK/followed-back"; mentioned < "$WORK/followed-back"; } >> "$WORK/named"
        grep -E '/(_manifests|_layers)$' "$WORK/back" | while read -r part; do
            find "$ROOT/$part" -name link -type f -exec awk '{ print }' {} + 2>/dev/null || true
        done >> "$WORK/named"
        sort -u -o "$WORK/named" "$WORK/named"
    done
}

restore_repository() { # relative path of the repository
    for part in _manifests _layers _uploads; do
        sibling=$(item_for "$1/$part")
        [ -e "$sibling%origin" ] || continue
        restore "$sibling"
        printf '%s\n' "$1/$part" >> "$WORK/back"
    done
}

# Empties the shared blob cache (Redis, RESP inline commands through busybox nc), so that no
# replica answers for a blob from memory once it is gone. With REDIS_PASSWORD (letters and
# digits), AUTH first: each command answers on a line of its own.
flush_cache() {
    [ "$CACHE" = redis ] && [ "$DRY_RUN" != true ] || return 0
    if [ -n "${REDIS_PASSWORD:-}" ]; then
        answer=$(printf 'AUTH %s\r\nFLUSHDB\r\n' "$REDIS_PASSWORD" | nc -w 5 "${REDIS%:*}" "${REDIS#*:}" 2>&1 | tr -d '\r' | tr '\n' ' ')
        [ "$answer" = "+OK +OK " ] && return 0
    else
        answer=$(printf 'FLUSHDB\r\n' | nc -w 5 "${REDIS%:*}" "${REDIS#*:}" 2>&1 | tr -d '\r')
        [ "$answer" = "+OK" ] && return 0
    fi
    echo "gc.sh: redis answered '$answer' to FLUSHDB" >&2
    return 1
}

collect_filesystem() {
    : > "$WORK/blob-bytes"
    : > "$WORK/restored"
    : > "$WORK/purged"
    : > "$WORK/excluded"
    touch -d "@$(( $(now) - GRACE_SECONDS ))" "$WORK/cutoff"
    stamp "$WORK/listed"
    set_phase retention
    list_tags > "$WORK/tags"
    attachments < "$WORK/tags" > "$WORK/attached"
    cut -f1-3 "$WORK/tags" | ATTACHED="$WORK/attached" KEPT_RECENT="$WORK/recent-tags" decide > "$WORK/deleted"
    delete_tags
    # FILENAME, not NR == FNR: with nothing deleted the first file is empty.
    # A tag that could not be moved stays among the remaining ones.
    mv "$WORK/deleted.moved" "$WORK/deleted"
    awk -F "$TAB" -v deleted="$WORK/deleted" 'FILENAME == deleted { gone[$1 FS $2] = 1; next } !(($1 FS $2) in gone)' \
        "$WORK/deleted" "$WORK/tags" > "$WORK/remaining"
    set_phase untagged
    remove_untagged "$WORK/remaining" > "$WORK/untagged"
    # The attachments that went with their subject are deleted tags too (a real run counts
    # them again from what it purged; a dry run reports them from here).
    awk -F "$TAB" '$1 == "tag" { print $2 "\t" $3 }' "$WORK/untagged" >> "$WORK/deleted"
    # A dry run removed nothing: its mark must not count what it would have removed.
    if [ "$DRY_RUN" = true ]; then
        awk -F "$TAB" -v root="$ROOT/repositories/" '
            $1 == "manifest" { print root $2 "/_manifests/revisions/sha256/" substr($3, 8) "/link" }' "$WORK/untagged" > "$WORK/excluded.list"
        awk -F "$TAB" -v root="$ROOT/repositories/" '$1 == "repository" { print root $2 "/_manifests" }' "$WORK/untagged" |
            while read -r dir; do find "$dir" -name link -type f; done >> "$WORK/excluded.list"
        sort -u "$WORK/excluded.list" > "$WORK/excluded"
    fi
    set_phase mark
    stamp "$WORK/marked"
    sweep
    set_phase settle
    take_back
    flush_cache || fail "the blob cache was not flushed: a re-push of a collected layer could be taken for present; run the job again"
    # What passed its checks before the move finishes writing; then a last look before deleting.
    sleep "$SETTLE_SECONDS"
    take_back
    set_phase purge
    if [ "$DRY_RUN" = true ]; then cp "$WORK/candidates" "$WORK/collected"; return 0; fi
    purge_all
    COMPLETED=1
    summarize
}

# What the run did, from what it purged (what went back is not counted): the tags, manifests,
# repositories and blobs, in the report's files.
summarize() {
    : > "$WORK/deleted.done"
    : > "$WORK/untagged.done"
    awk -v tags="$WORK/deleted.done" -v untagged="$WORK/untagged.done" '
        /^repositories\/.*\/_manifests\/tags\/[^\/]*$/ {
            repo = $0; sub(/^repositories\//, "", repo); sub(/\/_manifests\/tags\/.*/, "", repo)
            tag = $0; sub(/.*\//, "", tag); print repo "\t" tag > tags; next
        }
        /^repositories\/.*\/_manifests\/revisions\/sha256\/[0-9a-f]+$/ {
            repo = $0; sub(/^repositories\//, "", repo); sub(/\/_manifests\/revisions\/.*/, "", repo)
            hex = $0; sub(/.*\//, "", hex); print "manifest\t" repo "\tsha256:" hex > untagged; next
        }
        /^repositories\/.*\/_manifests$/ {
            repo = $0; sub(/^repositories\//, "", repo); sub(/\/_manifests$/, "", repo); print "repository\t" repo > untagged
        }' < "$WORK/purged"
    mv "$WORK/deleted.done" "$WORK/deleted"
    grep '^recent' "$WORK/untagged" >> "$WORK/untagged.done" || true
    mv "$WORK/untagged.done" "$WORK/untagged"
    awk -F "$TAB" -v bytes="$WORK/blob-bytes" 'FILENAME == bytes { b[$1] = $2; next } ($1 in b) { hex = $1; sub(/.*\//, "", hex); print "sha256:" hex "\t" b[$1] }' \
        "$WORK/blob-bytes" "$WORK/purged" > "$WORK/collected"
}

# --- S3: the registry's own collector, writes paused by a lease ---

pause_writes() {
    parent=$$
    # Renews this minute's and the next one's lease file while the job lives.
    (
        while kill -0 "$parent" 2>/dev/null; do
            at=$(now)
            touch "$STATE/writes-paused.$(date -u -d "@$at" +%Y-%m-%dT%H:%M)" "$STATE/writes-paused.$(date -u -d "@$((at + 60))" +%Y-%m-%dT%H:%M)"
            sleep 5
        done
    ) &
    PAUSER=$!
    sleep 1
}

resume_writes() {
    [ -z "${PAUSER:-}" ] || kill "$PAUSER" 2>/dev/null || true
    PAUSER=
    rm -f "$STATE"/writes-paused.*
}

collect_s3() {
    set_phase paused
    pause_writes
    PAUSED_AT=$(uptime_seconds)
    sleep "$SETTLE_SECONDS"
    set_phase collect
    gc_flags=
    [ "$DRY_RUN" != true ] || gc_flags=--dry-run
    if ! registry garbage-collect $gc_flags "$CONFIG" > "$WORK/gc.log" 2>&1; then
        cat "$WORK/gc.log" >&2
        fail "garbage-collect failed (its output is in this log)"
    fi
    flush_cache || fail "the blob cache was not flushed: a re-push of a collected layer could be taken for present; run the job again"
    resume_writes
    PAUSED_FOR=$(awk -v s="$PAUSED_AT" -v e="$(uptime_seconds)" 'BEGIN { printf "%.2f", e - s }')
    grep -o "blob eligible for deletion: $DIGEST_RE" "$WORK/gc.log" | awk '{ printf "%s\t\t-\n", $NF }' > "$WORK/collected" || true
}

# --- the run ---

run() {
    take_lock
    WORK=
    PAUSER=
    COMPLETED=
    # However the job ends (error, signal, a closed terminal): writes resume, what was moved
    # aside and not yet purged goes back, the lock goes.
    trap 'resume_writes; [ -n "$COMPLETED" ] || [ "$STORAGE" != filesystem ] || recover_quarantine; [ -z "$WORK" ] || rm -rf "$WORK"; rm -f "$STATE/phase"; release_lock' EXIT
    trap 'exit 143' TERM INT
    trap 'exit 129' HUP
    trap 'exit 141' PIPE
    WORK=$(mktemp -d)
    PAUSED_FOR=0
    started=$(uptime_seconds)
    : > "$WORK/deleted"
    : > "$WORK/untagged"
    : > "$WORK/recent-tags"
    : > "$WORK/recent-blobs"
    : > "$WORK/collected"
    if [ "$STORAGE" = filesystem ]; then
        mkdir -p "$QUARANTINE"
        recover_quarantine
        collect_filesystem
    else
        collect_s3
    fi
    COMPLETED=1
    report "$started" "$(uptime_seconds)"
}

# What a killed run left in quarantine goes back where it was.
recover_quarantine() {
    [ -d "$QUARANTINE" ] || return 0
    repair_unwritten_records
    items | while IFS="$TAB" read -r item _origin; do restore "$item" || echo "gc.sh: could not put back $item" >&2; done
}

# A kill between creating a record and writing its one line leaves it empty. The rename comes
# after the record, so its item never moved: nothing to put back, only the record to remove.
# Should an item be there all the same, its record is written again from its name (the
# origin, '/' as '%'), so that it goes back rather than staying unseen.
repair_unwritten_records() {
    for record in "$QUARANTINE"/*%origin; do
        if [ ! -f "$record" ] || [ -s "$record" ]; then continue; fi
        unwritten=${record%"%origin"}
        if [ -e "$unwritten" ]; then
            printf '%s\n' "${unwritten##*/}" | tr % / > "$record"
        else
            rm -f "$record"
        fi
    done
    return 0
}

recover() {
    rm -f "$STATE"/writes-paused.* "$STATE/phase"
    rm -rf "$STATE"/gc.lock "$STATE"/gc.lock.*
    [ "$STORAGE" != filesystem ] || recover_quarantine
}

# A failed run ($1: why): one JSON line, failure metrics, exit 1. On the filesystem nothing
# is deleted before the end: the exit puts the quarantine back.
fail() {
    printf '{"event":"registry-gc","error":"%s"}\n' "$1" | tee "$CONTAINER_LOG"
    write_metrics 0 "${PAUSED_FOR:-0}" "" 0 0
    exit 1
}

# The last run for Prometheus (served by the entrypoint at /metrics/gc), replaced atomically.
write_metrics() { # success paused_seconds bytes_freed tags_deleted blobs_deleted
    dry=0
    [ "$DRY_RUN" != true ] || dry=1
    {
        gauge registry_gc_last_run_timestamp_seconds "When the last garbage collection ended (Unix time)." "$(now)"
        gauge registry_gc_last_success "1 if the last garbage collection succeeded, 0 if it failed." "$1"
        gauge registry_gc_last_dry_run "1 if the last garbage collection was a dry run." "$dry"
        gauge registry_gc_last_window_seconds "How long writes were paused (0 on filesystem storage: never)." "$2"
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
report() { # started ended
    line=$(awk -F "$TAB" -v started="$1" -v ended="$2" -v dry="$DRY_RUN" -v paused="$PAUSED_FOR" -v s3="$([ "$STORAGE" = s3 ] && echo 1 || echo 0)" \
        -v grace="$GRACE_SECONDS" '
        function q(s) { gsub(/["\\]/, "\\\\&", s); return "\"" s "\"" }
        function list(s) { return "[" s "]" }
        FILENAME ~ /\/deleted$/ { tags = tags (tags == "" ? "" : ",") q($1 ":" $2); ntags++ }
        FILENAME ~ /\/untagged$/ && $1 == "manifest" { nman++ }
        FILENAME ~ /\/untagged$/ && $1 == "repository" { repos = repos (repos == "" ? "" : ",") q($2); nrepos++ }
        FILENAME ~ /\/untagged$/ && $1 == "recent" { if ($2 == "manifest") rman++; else rrepo++ }
        FILENAME ~ /\/recent-tags$/ { rtags++ }
        FILENAME ~ /\/recent-blobs$/ { rblobs++; rbytes += $2 }
        FILENAME ~ /\/collected$/ { nblobs++; bytes += $2 }
        END {
            printf "{\"event\":\"registry-gc\",\"dryRun\":%s,\"tagsDeleted\":%d,\"manifestsDeleted\":%d,\"blobsDeleted\":%d,", dry, ntags, nman, nblobs
            printf "\"bytesFreed\":%s,\"windowSeconds\":%s,\"durationSeconds\":%.2f,\"graceSeconds\":%d,", s3 ? "null" : sprintf("%.0f", bytes), paused, ended - started, grace
            printf "\"keptRecent\":{\"tags\":%d,\"manifests\":%d,\"repositories\":%d,\"blobs\":%d,\"bytes\":%.0f},", rtags, rman, rrepo, rblobs, rbytes
            printf "\"repositoriesRemoved\":%s,\"deletedTags\":%s}\n", list(repos), list(tags)
        }' "$WORK/deleted" "$WORK/untagged" "$WORK/recent-tags" "$WORK/recent-blobs" "$WORK/collected")
    echo "$line"
    echo "$line" > "$STATE/last-report.json"
    bytes=
    [ "$STORAGE" = s3 ] || bytes=$(awk -F "$TAB" '{ s += $2 } END { printf "%.0f", s }' "$WORK/collected")
    write_metrics 1 "$PAUSED_FOR" "$bytes" "$(wc -l < "$WORK/deleted")" "$(wc -l < "$WORK/collected")"
    if [ "${GC_TRIGGER:-on-demand}" != schedule ]; then echo "$line" > "$CONTAINER_LOG"; fi
}

case "${1:-}" in
    run) run ;;
    recover) recover ;;
    decide) decide ;;
    *) echo "usage: gc.sh run | recover | decide" >&2; exit 64 ;;
esac
