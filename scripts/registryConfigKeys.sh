#!/usr/bin/env bash
# Regenerates test/registry/fixtures/registry-config-keys-<version>.json: every key path that
# distribution 2.8.2 and 3.1.1 read from config.yml, which test/registry/configKeys.test.ts
# checks each rendered config against (the registry ignores an unknown key silently).
#
# The keys come from each release's own source, through scripts/registryConfigKeys/main.go
# (reflection over configuration.Configuration, and a syntax walk of the code that reads
# the storage map): nothing is typed in by hand, and no upstream code enters the project.
#   2.8.2  Debian 12's golang-github-docker-distribution-dev (the source of its
#          docker-registry package), built in GOPATH mode with Debian's Go 1.19, as Debian
#          builds it; installed with apt-get when missing.
#   3.1.1  the release tarball in ../shared/upstream (sha256 checked), with its vendor/
#          modules, offline, with the Go that test/live/env/go.sh provides.
# Runs offline once both are there; the same sources give byte-identical files.
#
# Env: UPSTREAM_DIR  where distribution-v3.1.1.tar.gz is (default ../shared/upstream)
set -euo pipefail
umask 022

repo=$(cd "$(dirname "$0")/.." && pwd)
program=$repo/scripts/registryConfigKeys/main.go
fixtures=$repo/test/registry/fixtures
upstream=${UPSTREAM_DIR:-$repo/../shared/upstream}

DEBIAN_PACKAGE=golang-github-docker-distribution-dev
DEBIAN_SOURCE=/usr/share/gocode/src/github.com/docker/distribution
TARBALL=distribution-v3.1.1.tar.gz
TARBALL_SHA256=29fadf8db38f66b581f7826b99567bc1bbaca8bba964baeb527d47b4ee872213

log() { printf '[registryConfigKeys %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A build cache of its own: nothing is left behind, and no earlier build is trusted.
export GOCACHE=$work/gocache GOTOOLCHAIN=local GOPROXY=off CGO_ENABLED=0 GOFLAGS=

# build <go binary> <program dir> <configuration import path>: the program, with the
# one-line shim that hands it the release's configuration.Configuration.
build() {
    local go=$1 dir=$2 import=$3
    mkdir -p "$dir"
    cp "$program" "$dir/main.go"
    printf 'package main\n\nimport (\n\t"reflect"\n\n\tconfiguration "%s"\n)\n\nvar configurationType = reflect.TypeOf(configuration.Configuration{})\n' \
        "$import" >"$dir/configuration_type.go"
    (cd "$dir" && "$go" build -o "$work/registryConfigKeys" .)
}

debian_2_8() {
    local version
    version=$(dpkg-query -W -f '${Version}' "$DEBIAN_PACKAGE" 2>/dev/null || true)
    if [ -z "$version" ]; then
        log "installing $DEBIAN_PACKAGE (and Debian's Go)"
        apt-get install -y -q --no-install-recommends "$DEBIAN_PACKAGE" >&2
        version=$(dpkg-query -W -f '${Version}' "$DEBIAN_PACKAGE")
    fi
    case $version in 2.8.2+*) ;; *) die "$DEBIAN_PACKAGE is $version, not 2.8.2";; esac
    local go=/usr/lib/go-1.19/bin/go
    [ -x "$go" ] || die "$go is missing (Debian 12's golang-1.19-go, a dependency of $DEBIAN_PACKAGE)"

    log "distribution 2.8.2 from $DEBIAN_PACKAGE $version"
    GO111MODULE=off GOPATH=/usr/share/gocode build "$go" "$work/v2" github.com/docker/distribution/configuration
    "$work/registryConfigKeys" -source "$DEBIAN_SOURCE" -registry "distribution 2.8.2" \
        -from "debianPackage=$DEBIAN_PACKAGE $version" -from "path=$DEBIAN_SOURCE" \
        >"$fixtures/registry-config-keys-2.8.2.json"
}

tarball_3_1_1() {
    local tarball=$upstream/$TARBALL goroot tree
    [ -r "$tarball" ] || die "$tarball is missing (UPSTREAM_DIR points elsewhere)"
    echo "$TARBALL_SHA256  $tarball" | sha256sum --quiet -c - || die "$tarball is not the pinned release"
    goroot=$(bash "$repo/test/live/env/go.sh")

    log "distribution 3.1.1 from $TARBALL"
    tar -xzf "$tarball" -C "$work"
    tree=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'distribution-*')
    [ -f "$tree/go.mod" ] || die "$TARBALL has no distribution-*/go.mod"
    # Inside the module, so that the vendored yaml.v2 and the configuration package resolve.
    GOROOT=$goroot GOFLAGS=-mod=vendor build "$goroot/bin/go" "$tree/cmd/registryconfigkeys" \
        github.com/distribution/distribution/v3/configuration
    "$work/registryConfigKeys" -source "$tree" -registry "distribution 3.1.1" \
        -from "tarball=$TARBALL" -from "sha256=$TARBALL_SHA256" \
        >"$fixtures/registry-config-keys-3.1.1.json"
}

mkdir -p "$fixtures"
debian_2_8
tarball_3_1_1
log "wrote $fixtures/registry-config-keys-{2.8.2,3.1.1}.json"
