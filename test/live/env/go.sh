#!/usr/bin/env bash
# Prints the GOROOT of a Go toolchain new enough to build distribution v3 (its go.mod says
# go 1.25), installing one first when this machine has none.
#
# Debian 12's own Go is 1.19, so the toolchain comes from Debian's unstable suite: apt-get
# downloads golang-1.NN-go and golang-1.NN-src through a temporary source list and package
# lists of its own (the machine's apt sources and lists stay as they are), checked by apt
# against Debian's signed index, and dpkg -x unpacks them under /opt/go-debian-<version>.
# Nothing is installed into dpkg's database. The first series unstable offers, newest first.
#
# Env: GO_SERIES  the series to try, in order (default "1.27 1.28 1.26 1.25")
set -euo pipefail
umask 022

SERIES=${GO_SERIES:-1.27 1.28 1.26 1.25}
MIRROR=http://deb.debian.org/debian
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

log() { printf '[go.sh %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# An installed toolchain of a wanted series, whichever version: the newest one.
installed_goroot() {
    local series goroot
    for series in $SERIES; do
        while read -r goroot; do
            if [ -n "$goroot" ] && "$goroot/bin/go" version >/dev/null 2>&1; then
                printf '%s\n' "$goroot"
                return 0
            fi
        done < <(printf '%s\n' /opt/go-debian-"$series".*/usr/lib/go-"$series" | sort -rV)
    done
    return 1
}

if goroot=$(installed_goroot); then
    printf '%s\n' "$goroot"
    exit 0
fi

[ -r "$KEYRING" ] || die "$KEYRING is missing (package debian-archive-keyring)"
work=$(mktemp -d /var/tmp/go-debian.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/archives/partial"
printf 'deb [signed-by=%s] %s unstable main\n' "$KEYRING" "$MIRROR" >"$work/sources.list"
apt_options=(
    -o "Dir::Etc::sourcelist=$work/sources.list" -o Dir::Etc::sourceparts=-
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::archives=$work/archives"
    -o APT::Get::List-Cleanup=0 -o Debug::NoLocking=1 -o APT::Sandbox::User=root
)
log "reading Debian unstable's package index"
apt-get -q "${apt_options[@]}" update >&2

chosen=
for series in $SERIES; do
    version=$(apt-cache "${apt_options[@]}" policy "golang-$series-go" 2>/dev/null | awk '/Candidate:/ {print $2}')
    if [ -n "$version" ] && [ "$version" != "(none)" ]; then chosen=$series; break; fi
done
[ -n "$chosen" ] || die "Debian unstable offers none of golang-{$SERIES}-go"

target=/opt/go-debian-${version%%-*}
log "downloading golang-$chosen-go and golang-$chosen-src $version"
(cd "$work" && apt-get -q "${apt_options[@]}" download "golang-$chosen-go=$version" "golang-$chosen-src=$version" >&2)
staging=$(mktemp -d "/opt/.go-debian.XXXXXX")
trap 'rm -rf "$work" "$staging"' EXIT
for deb in "$work"/golang-*.deb; do dpkg -x "$deb" "$staging"; done
"$staging/usr/lib/go-$chosen/bin/go" version >&2 || die "the unpacked go does not run"
rm -rf "$target"
mv "$staging" "$target"
log "installed Go $version in $target"
printf '%s\n' "$target/usr/lib/go-$chosen"
