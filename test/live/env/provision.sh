#!/usr/bin/env bash
# Provision a Debian 12 machine (as root) for the private-registry live tests and benchmark:
#   1. install the Debian packages they need (apt-get update only when needed);
#   2. start dockerd if it is not running;
#   3. build local stand-in images from Debian packages and released sources (no registry
#      pulls possible):
#        private-registry-test/registry:2.8.2            (for registry:2.8.2)
#        private-registry-test/registry:3.1.1            (for registry:3.1.1)
#        private-registry-test/docker-registry-ui:2.5.2  (for joxit/docker-registry-ui:2.5.2)
#        private-registry-test/docker-registry-ui:2.6.0  (for joxit/docker-registry-ui:2.6.0)
#        private-registry-test/redis:7.0.15              (for redis:7.0.15)
#      each is smoke-tested right after it is built, and cached by tag + a build hash;
#   4. map the test hostnames to 127.0.0.1 in /etc/hosts;
#   5. print a summary.
# Idempotent; a rerun on a provisioned machine takes a few seconds.
#
# Env: FORCE_REBUILD=1  rebuild the images even if cached
#      UPSTREAM_DIR=DIR the release tarballs (default: shared/upstream beside the repository)
#      VERIFY=1         smoke-test the images even if they were cached
set -euo pipefail
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGES_DIR=$HERE/images
REGISTRY_TAG=private-registry-test/registry:2.8.2
REGISTRY3_TAG=private-registry-test/registry:3.1.1
# distribution's v3.1.1 release source (with vendor/), beside the repository.
UPSTREAM_DIR=${UPSTREAM_DIR:-$(cd "$HERE/../../../.." && pwd)/shared/upstream}
REGISTRY3_SOURCE=$UPSTREAM_DIR/distribution-v3.1.1.tar.gz
REGISTRY3_SOURCE_SHA256=29fadf8db38f66b581f7826b99567bc1bbaca8bba964baeb527d47b4ee872213
REGISTRY3_REVISION=9a8d98b679740cd514aa7e7d84d23d442a5ef54c
BUILD_CACHE=/var/cache/private-registry-test
# joxit/docker-registry-ui: its released dist/, nginx/, bin/ and Dockerfile, per version.
UI_TAG_PREFIX=private-registry-test/docker-registry-ui
UI_VERSIONS=(2.5.2 2.6.0)
REDIS_TAG=private-registry-test/redis:7.0.15
DOCKERD_LOG=/var/log/private-registry-dockerd.log
FORCE_REBUILD=${FORCE_REBUILD:-0}
VERIFY=${VERIFY:-0}
HOSTS_MARK='# private-registry-test'
HOSTS_LINE="127.0.0.1 registry.private-registry.test ui.private-registry.test other.private-registry.test $HOSTS_MARK"
# Test containers/networks started here carry these labels and are removed on exit.
LIVE_LABEL=private-registry.test=live
OWNER_LABEL=private-registry.test.owner=provision-$$

# nginx: the binary package (nginx-light in bookworm is only nginx + the echo module).
PACKAGES=(
    docker.io containerd iptables cgroupfs-mount ca-certificates curl openssl
    nginx libnginx-mod-stream busybox-static docker-registry shellcheck
    apache2-utils skopeo wrk chromium fonts-liberation prometheus
    ceph-mon ceph-osd radosgw ceph-common s3cmd redis-server
)

log() { printf '[provision %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- cleanup on exit
TMP_PATHS=()
REMOVE_POLICY_RC=0
# Remove the test containers and networks this run started (and only those).
remove_owned_containers() {
    local ids
    mapfile -t ids < <(docker ps -aq --filter "label=$OWNER_LABEL" 2>/dev/null || true)
    [ ${#ids[@]} -eq 0 ] || docker rm -f -v "${ids[@]}" >/dev/null 2>&1 || true
    mapfile -t ids < <(docker network ls -q --filter "label=$OWNER_LABEL" 2>/dev/null || true)
    [ ${#ids[@]} -eq 0 ] || docker network rm "${ids[@]}" >/dev/null 2>&1 || true
}
cleanup() {
    local rc=$?
    if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
        remove_owned_containers
    fi
    [ "$REMOVE_POLICY_RC" = 0 ] || rm -f /usr/sbin/policy-rc.d
    local p
    for p in "${TMP_PATHS[@]}"; do rm -rf "$p"; done
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || die "must run as root"
[ -r /etc/debian_version ] || die "Debian 12 expected"

mkdir -p /run/lock
exec 9>/run/lock/private-registry-provision.lock
flock -w 900 9 || die "another provision.sh is still running"

START=$SECONDS

# ---------------------------------------------------------------- 1. packages
pkg_installed() { [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]; }
pkg_version() { dpkg-query -W -f='${Version}' "$1"; }
pkg_has_candidate() {
    local c
    c=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
    [ -n "$c" ] && [ "$c" != "(none)" ]
}

install_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do pkg_installed "$p" || missing+=("$p"); done
    if [ ${#missing[@]} -eq 0 ]; then
        log "packages: all ${#PACKAGES[@]} installed"
        return
    fi
    log "packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a NEEDRESTART_SUSPEND=1
    # Keep package scripts from starting services: a host nginx on :80 or a host
    # docker-registry on :5000 would collide with the tests. dockerd is started below.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        REMOVE_POLICY_RC=1
    fi
    local need_update=0
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -print -quit)" ]; then
        need_update=1
    else
        for p in "${missing[@]}"; do pkg_has_candidate "$p" || { need_update=1; break; }; done
    fi
    local apt_install=(apt-get install -y -q --no-install-recommends
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
    if [ "$need_update" = 1 ]; then
        log "apt-get update"
        apt-get update -q >&2
    fi
    if ! "${apt_install[@]}" "${missing[@]}" >&2; then
        [ "$need_update" = 0 ] || die "apt-get install failed"
        log "install failed with the current package lists: apt-get update and retry"
        apt-get update -q >&2
        "${apt_install[@]}" "${missing[@]}" >&2
    fi
    if [ "$REMOVE_POLICY_RC" = 1 ]; then rm -f /usr/sbin/policy-rc.d; REMOVE_POLICY_RC=0; fi
}

# ---------------------------------------------------------------- 2. dockerd
docker_up() { docker info >/dev/null 2>&1; }

dockerd_running() {
    local pid
    pid=$(cat /var/run/docker.pid 2>/dev/null || true)
    # A stale pid file from an ended session may name an unrelated process: check its name.
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] &&
        ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null # a zombie has ended
}

# The containerd a dockerd runs for itself. One left by a dockerd that died holds
# containerd's metadata lock, so the next dockerd's containerd never answers: dockerd
# then gives up with "timeout waiting for containerd to start" (seen once in CI).
MANAGED_CONTAINERD='containerd --config /var/run/docker/containerd/containerd.toml'

stop_orphaned_containerd() {
    local pids i
    pids=$(pgrep -f "^$MANAGED_CONTAINERD" || true)
    [ -n "$pids" ] || return 0
    log "dockerd: stopping containerd left by an earlier dockerd (pid $(echo $pids))"
    kill $pids 2>/dev/null || true
    for i in $(seq 1 20); do
        pgrep -f "^$MANAGED_CONTAINERD" >/dev/null || return 0
        sleep 0.5
    done
    kill -9 $(pgrep -f "^$MANAGED_CONTAINERD") 2>/dev/null || true
}

# Starts dockerd in the background; waits up to 90 s for it to answer. Fails early if it exits.
launch_dockerd() { # ATTEMPT
    local pid i
    if [ -z "$(ls -A /sys/fs/cgroup 2>/dev/null)" ] && command -v cgroupfs-mount >/dev/null 2>&1; then
        cgroupfs-mount || true
    fi
    stop_orphaned_containerd
    log "dockerd: starting in the background, attempt $1 (log: $DOCKERD_LOG)"
    # Close fd 9 (the provision lock) in the daemon, or it would hold the lock forever.
    nohup setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    for i in $(seq 1 90); do
        docker_up && { log "dockerd: ready after ${i}s"; return 0; }
        kill -0 "$pid" 2>/dev/null || { log "dockerd: exited after ${i}s"; return 1; }
        sleep 1
    done
    log "dockerd: not ready after 90 s; stopping it"
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    return 1
}

start_docker() {
    if docker_up; then
        log "dockerd: running"
        return
    fi
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        log "dockerd: systemctl start docker"
        systemctl start docker || true
    fi
    if dockerd_running; then
        # Another dockerd (systemd's, or one still starting): give it the same 90 s.
        local i
        for i in $(seq 1 90); do
            docker_up && { log "dockerd: ready after ${i}s"; return; }
            sleep 1
        done
        die "the running dockerd (pid $(cat /var/run/docker.pid)) did not answer within 90 s"
    fi
    local attempt
    for attempt in 1 2 3; do
        launch_dockerd "$attempt" && return
        tail -n 15 "$DOCKERD_LOG" >&2 2>/dev/null || true
    done
    ps -eo pid,stat,etime,args | grep -E '[d]ockerd|[c]ontainerd' >&2 || true
    die "dockerd did not start in 3 attempts (log: $DOCKERD_LOG)"
}

# ---------------------------------------------------------------- 3. images
# Copy an executable and the shared libraries ldd lists into ROOTFS.
add_binary() { # ROOTFS SRC DEST
    local rootfs=$1 src=$2 dest=$3 lib
    install -D -m 755 "$src" "$rootfs$dest"
    # a static binary makes ldd fail: no libraries then
    for lib in $( (ldd "$src" 2>/dev/null || true) |
        awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
        if [ ! -e "$rootfs$lib" ]; then
            mkdir -p "$rootfs$(dirname "$lib")"
            cp -L --preserve=mode "$lib" "$rootfs$lib"
        fi
    done
}

# Common skeleton: FHS dirs (not usr-merged, like the Alpine-based originals), static
# busybox with all its applet links (sh, wget, ...), passwd/group, nsswitch, CA bundle.
make_skeleton() { # ROOTFS PASSWD GROUP
    local rootfs=$1 applet
    mkdir -p "$rootfs"/{bin,sbin,etc,root,tmp,run,lib,lib64,usr/bin,usr/sbin,usr/lib,usr/local/bin,var/tmp,var/log}
    chmod 700 "$rootfs/root"
    chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
    ln -s ../run "$rootfs/var/run"
    install -m 755 /bin/busybox "$rootfs/bin/busybox"
    while read -r applet; do
        [ "$applet" != linuxrc ] || continue
        [ -e "$rootfs/$applet" ] || [ -L "$rootfs/$applet" ] || ln -s /bin/busybox "$rootfs/$applet"
    done < <(/bin/busybox --list-full)
    printf '%s\n' "$2" >"$rootfs/etc/passwd"
    printf '%s\n' "$3" >"$rootfs/etc/group"
    printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n' \
        >"$rootfs/etc/nsswitch.conf"
    install -D -m 644 /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
    # busybox wget does https by running "openssl s_client" (verifying the certificate
    # unless --no-check-certificate); its built-in TLS fallback is refused by OpenSSL 3
    # servers (it sends no signature_algorithms, so SHA-1 is implied).
    add_binary "$rootfs" /usr/bin/openssl /usr/bin/openssl
    mkdir -p "$rootfs/usr/lib/ssl"
    ln -s /etc/ssl/certs "$rootfs/usr/lib/ssl/certs"
    ln -s /etc/ssl/certs/ca-certificates.crt "$rootfs/usr/lib/ssl/cert.pem"
}

# The hash of everything an image is built from: this script, its files, package versions.
build_hash() { # IMAGE_SUBDIR PKG...
    local dir=$1
    shift
    {
        cat "$HERE/provision.sh"
        (cd "$IMAGES_DIR/$dir" && find . -type f | LC_ALL=C sort | xargs sha256sum)
        dpkg-query -W "$@"
        printf '%s\n' "${BUILD_HASH_EXTRA:-}" # what else the image is built from (see build_ui_image)
    } | sha256sum | cut -c1-16
}

image_is_current() { # TAG HASH
    [ "$FORCE_REBUILD" != 1 ] &&
        [ "$(docker image inspect -f '{{index .Config.Labels "private-registry.test.build-hash"}}' "$1" 2>/dev/null)" = "$2" ]
}

# docker import the rootfs as TAG with the given --change instructions.
import_rootfs() { # ROOTFS TAG CHANGE...
    local rootfs=$1 tag=$2 old_id new_id
    shift 2
    local changes=() c
    for c in "$@"; do changes+=(--change "$c"); done
    old_id=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
    tar --numeric-owner -C "$rootfs" -c . | docker import "${changes[@]}" - "$tag" >/dev/null
    new_id=$(docker image inspect -f '{{.Id}}' "$tag")
    if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
        docker image rm "$old_id" >/dev/null 2>&1 || true
    fi
}

pkg_labels() { # PKG... -> LABEL private-registry.test.deb.PKG="VERSION" ...
    local p out="LABEL"
    for p in "$@"; do out+=" private-registry.test.deb.$p=\"$(pkg_version "$p")\""; done
    printf '%s' "$out"
}

SKELETON_PKGS=(busybox-static libc6 ca-certificates openssl libssl3)
REGISTRY_PKGS=(docker-registry "${SKELETON_PKGS[@]}")
REGISTRY3_PKGS=("${SKELETON_PKGS[@]}")
UI_PKGS=(nginx nginx-common libnginx-mod-stream libpcre2-8-0 zlib1g libcrypt1 "${SKELETON_PKGS[@]}")
REDIS_PKGS=(redis-server redis-tools libjemalloc2 liblzf1 "${SKELETON_PKGS[@]}")

# build_image TAG BUILD_DIR SMOKE_FN POPULATE_FN PKG...: rebuilt only when the build hash
# (script, image files, package versions) changed; POPULATE_FN ROOTFS HASH lays out the
# root filesystem and imports it as TAG; SMOKE_FN TAG must pass, or the image is removed.
build_image() {
    local tag=$1 dir=$2 smoke=$3 populate=$4
    shift 4
    local hash rootfs t0=$SECONDS
    hash=$(build_hash "$dir" "$@")
    if image_is_current "$tag" "$hash"; then
        log "image $tag: cached (build hash $hash)"
        [ "$VERIFY" != 1 ] || "$smoke" "$tag"
        return
    fi
    log "image $tag: building"
    rootfs=$(mktemp -d /var/tmp/private-registry-rootfs.XXXXXX)
    TMP_PATHS+=("$rootfs")
    "$populate" "$rootfs" "$hash"
    rm -rf "$rootfs"
    log "image $tag: built in $((SECONDS - t0))s"
    if ! "$smoke" "$tag"; then
        docker image rm -f "$tag" >/dev/null 2>&1 || true
        die "image $tag failed its smoke test (image removed)"
    fi
}

populate_registry() { # ROOTFS HASH
    local rootfs=$1 hash=$2
    make_skeleton "$rootfs" \
        'root:x:0:0:root:/root:/bin/sh'$'\n''nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
        'root:x:0:'$'\n''nogroup:x:65534:'
    add_binary "$rootfs" /usr/bin/docker-registry /bin/registry
    install -D -m 644 "$IMAGES_DIR/registry/config.yml" "$rootfs/etc/docker/registry/config.yml"
    install -m 755 "$IMAGES_DIR/registry/entrypoint.sh" "$rootfs/entrypoint.sh"
    mkdir -p "$rootfs/var/lib/registry"
    import_rootfs "$rootfs" "$REGISTRY_TAG" \
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        'ENTRYPOINT ["/entrypoint.sh"]' \
        'CMD ["/etc/docker/registry/config.yml"]' \
        'VOLUME ["/var/lib/registry"]' \
        'EXPOSE 5000' \
        "LABEL private-registry.test=image private-registry.test.build-hash=\"$hash\" private-registry.test.stands-in-for=\"registry:2.8.2\"" \
        "$(pkg_labels "${REGISTRY_PKGS[@]}")"
}

# distribution v3.1.1's registry, built once per machine from its release source and cached
# by the source's digest (a few minutes on 2 cores): offline, with its vendored modules, the
# way its Dockerfile builds it (static, trimmed, version stamped). Prints the binary's path.
registry3_binary() {
    local out=$BUILD_CACHE/registry-v3.1.1-${REGISTRY3_SOURCE_SHA256:0:16}/registry src goroot t0=$SECONDS
    if [ -x "$out" ] && [ "$FORCE_REBUILD" != 1 ]; then
        printf '%s\n' "$out"
        return
    fi
    [ -r "$REGISTRY3_SOURCE" ] || die "$REGISTRY3_SOURCE is missing (set UPSTREAM_DIR)"
    echo "$REGISTRY3_SOURCE_SHA256  $REGISTRY3_SOURCE" | sha256sum -c --quiet - >&2 ||
        die "$REGISTRY3_SOURCE is not distribution v3.1.1's release source"
    goroot=$(bash "$HERE/go.sh")
    src=$(mktemp -d /var/tmp/private-registry-distribution.XXXXXX)
    TMP_PATHS+=("$src")
    tar -xzf "$REGISTRY3_SOURCE" -C "$src" --strip-components 1
    log "registry 3.1.1: building with $("$goroot/bin/go" version | cut -d' ' -f3) (a few minutes)"
    local pkg=github.com/distribution/distribution/v3
    mkdir -p "$(dirname "$out")"
    (cd "$src" && GOROOT=$goroot GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0 \
        GOCACHE=$src/.gocache GOPATH=$src/.gopath \
        "$goroot/bin/go" build -trimpath -o "$out.partial" -ldflags "-s -w \
            -X $pkg/version.version=3.1.1 -X $pkg/version.revision=$REGISTRY3_REVISION -X $pkg/version.mainpkg=$pkg" \
        ./cmd/registry) >&2
    mv "$out.partial" "$out"
    rm -rf "$src"
    log "registry 3.1.1: built in $((SECONDS - t0))s"
    printf '%s\n' "$out"
}

# Laid out like the official registry:3.1.1 image (docker-library's): /bin/registry,
# /entrypoint.sh, the default config at /etc/distribution/config.yml, tracing off.
populate_registry3() { # ROOTFS HASH
    local rootfs=$1 hash=$2 binary
    binary=$(registry3_binary)
    make_skeleton "$rootfs" \
        'root:x:0:0:root:/root:/bin/sh'$'\n''nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
        'root:x:0:'$'\n''nogroup:x:65534:'
    install -m 755 "$binary" "$rootfs/bin/registry"
    install -D -m 644 "$IMAGES_DIR/registry3/config.yml" "$rootfs/etc/distribution/config.yml"
    install -m 755 "$IMAGES_DIR/registry3/entrypoint.sh" "$rootfs/entrypoint.sh"
    mkdir -p "$rootfs/var/lib/registry"
    import_rootfs "$rootfs" "$REGISTRY3_TAG" \
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        'ENV OTEL_TRACES_EXPORTER=none' \
        'ENTRYPOINT ["/entrypoint.sh"]' \
        'CMD ["/etc/distribution/config.yml"]' \
        'VOLUME ["/var/lib/registry"]' \
        'EXPOSE 5000' \
        "LABEL private-registry.test=image private-registry.test.build-hash=\"$hash\" private-registry.test.stands-in-for=\"registry:3.1.1\" private-registry.test.source-sha256=\"$REGISTRY3_SOURCE_SHA256\"" \
        "$(pkg_labels "${REGISTRY3_PKGS[@]}")"
}

# joxit/docker-registry-ui's released files (dist/, nginx/, bin/, Dockerfile), one tarball
# per version in UPSTREAM_DIR, checked against these digests (UPSTREAM_DIR/README.md).
ui_source_sha256() { # VERSION
    case $1 in
        2.5.2) echo 26927a09d9115d03358e9c427e92bd1590d4c99dc8b28de0c33013ca03ca89f6 ;;
        2.6.0) echo f1aae9c3f66c08a082bca747558282b3f5c184231875a88ed0f215c864ca57bc ;;
        *) die "no joxit/docker-registry-ui $1 source known" ;;
    esac
}

# build_ui_image VERSION: private-registry-test/docker-registry-ui:VERSION, whose build hash
# also covers the release tarball's digest (a new tarball means a new digest here).
build_ui_image() {
    UI_VERSION=$1
    UI_SOURCE=$UPSTREAM_DIR/joxit-docker-registry-ui-$1.tar.gz
    UI_SOURCE_SHA256=$(ui_source_sha256 "$1")
    BUILD_HASH_EXTRA="$(basename "$UI_SOURCE") $UI_SOURCE_SHA256"
    build_image "$UI_TAG_PREFIX:$1" docker-registry-ui smoke_ui populate_ui "${UI_PKGS[@]}"
    BUILD_HASH_EXTRA=
}

# The published image is joxit's Dockerfile on nginx:alpine-slim: dist/ and favicon.ico in
# the web root, nginx/default.conf as the default site, bin/90-docker-registry-ui.sh run by
# nginx's entrypoint, WORKDIR the web root (the script edits ./index.html), three ENV values,
# and the chown. Here the same files go on Debian's nginx, laid out as the official image.
populate_ui() { # ROOTFS HASH (UI_VERSION, UI_SOURCE, UI_SOURCE_SHA256: see build_ui_image)
    local rootfs=$1 hash=$2 src f owned env
    [ -r "$UI_SOURCE" ] || die "$UI_SOURCE is missing (set UPSTREAM_DIR)"
    echo "$UI_SOURCE_SHA256  $UI_SOURCE" | sha256sum -c --quiet - >&2 ||
        die "$UI_SOURCE is not joxit/docker-registry-ui $UI_VERSION's release (sha256 differs)"
    src=$(mktemp -d /var/tmp/private-registry-joxit.XXXXXX)
    TMP_PATHS+=("$src")
    tar -xzf "$UI_SOURCE" -C "$src" --strip-components 1
    for f in dist/index.html dist/docker-registry-ui.js favicon.ico nginx/default.conf bin/90-docker-registry-ui.sh; do
        [ -f "$src/$f" ] || die "$UI_SOURCE has no $f"
    done
    # What is laid out below is what this Dockerfile does; its ENV lines are taken as they are.
    grep -qx 'WORKDIR /usr/share/nginx/html/' "$src/Dockerfile" || die "$UI_SOURCE: another WORKDIR"
    mapfile -t env < <(sed -n 's/^ENV \([A-Za-z_][A-Za-z0-9_]*\) \(.*\)$/ENV \1=\2/p' "$src/Dockerfile")
    [ ${#env[@]} -gt 0 ] || die "$UI_SOURCE: no ENV in its Dockerfile"
    # uid/gid 101 "nginx", as in the official nginx (and joxit) images
    make_skeleton "$rootfs" \
        'root:x:0:0:root:/root:/bin/sh'$'\n''nginx:x:101:101:nginx:/nonexistent:/sbin/nologin'$'\n''nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
        'root:x:0:'$'\n''nginx:x:101:nginx'$'\n''nogroup:x:65534:'
    add_binary "$rootfs" /usr/sbin/nginx /usr/sbin/nginx
    mkdir -p "$rootfs/etc/nginx/conf.d" "$rootfs/usr/share/nginx/html" "$rootfs/usr/lib/nginx/modules" \
        "$rootfs/docker-entrypoint.d"
    for f in mime.types fastcgi_params scgi_params uwsgi_params; do
        install -m 644 "/etc/nginx/$f" "$rootfs/etc/nginx/$f"
    done
    install -m 644 "$IMAGES_DIR/docker-registry-ui/nginx.conf" "$rootfs/etc/nginx/nginx.conf"
    # The stream module (the entrypoint's front): built into nginx.org's nginx, which the
    # published image runs; a dynamic module in Debian's, loaded from modules-enabled.
    install -m 644 /usr/lib/nginx/modules/ngx_stream_module.so "$rootfs/usr/lib/nginx/modules/"
    mkdir -p "$rootfs/etc/nginx/modules-enabled"
    install -m 644 /usr/share/nginx/modules-available/mod-stream.conf "$rootfs/etc/nginx/modules-enabled/50-mod-stream.conf"
    # 2.5.2's base image (nginx 1.25) wrote its pid to /var/run, which the script's non-root
    # edit looks for; 2.6.0's writes to /run.
    [ "$UI_VERSION" != 2.5.2 ] || sed -i 's,^pid .*,pid        /var/run/nginx.pid;,' "$rootfs/etc/nginx/nginx.conf"
    install -m 755 "$IMAGES_DIR/docker-registry-ui/docker-entrypoint.sh" "$rootfs/docker-entrypoint.sh"
    # Debian's busybox-static has no printenv applet; the script calls it for THEME_*.
    install -m 755 "$IMAGES_DIR/docker-registry-ui/printenv" "$rootfs/usr/bin/printenv"
    # joxit's files, modes kept (COPY keeps them)
    install -m 644 "$src/nginx/default.conf" "$rootfs/etc/nginx/conf.d/default.conf"
    cp -R --preserve=mode "$src/bin/90-docker-registry-ui.sh" "$rootfs/docker-entrypoint.d/"
    cp -R --preserve=mode "$src/dist/." "$src/favicon.ico" "$rootfs/usr/share/nginx/html/"
    # the paths compiled into Debian's nginx (nginx -V) and the official image's cache dir
    mkdir -p "$rootfs"/var/lib/nginx/{body,fastcgi,proxy,scgi,uwsgi} "$rootfs/var/cache/nginx" \
        "$rootfs/var/log/nginx" "$rootfs/var/lock"
    ln -s /dev/stdout "$rootfs/var/log/nginx/access.log"
    ln -s /dev/stderr "$rootfs/var/log/nginx/error.log"
    ln -s ../../lib/nginx/modules "$rootfs/usr/share/nginx/modules"
    # The Dockerfile's chown (2.6.0 adds /var/log/nginx), and Debian's nginx temp dirs, which
    # the official image keeps in /var/cache/nginx. Root in the container then needs
    # CAP_DAC_OVERRIDE to write there (the script's sed -i on index.html).
    read -r -a owned < <(sed -n 's/^RUN chown -R nginx:nginx //p' "$src/Dockerfile") || true # (no final newline)
    [ ${#owned[@]} -gt 0 ] || die "$UI_SOURCE: no chown in its Dockerfile"
    for f in "${owned[@]}" /var/lib/nginx; do chown -R -h 101:101 "$rootfs$f"; done
    import_rootfs "$rootfs" "$UI_TAG_PREFIX:$UI_VERSION" \
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        "${env[@]}" \
        'WORKDIR /usr/share/nginx/html/' \
        'ENTRYPOINT ["/docker-entrypoint.sh"]' \
        'CMD ["nginx", "-g", "daemon off;"]' \
        'EXPOSE 80' \
        "LABEL private-registry.test=image private-registry.test.build-hash=\"$hash\" private-registry.test.stands-in-for=\"joxit/docker-registry-ui:$UI_VERSION\" private-registry.test.source-sha256=\"$UI_SOURCE_SHA256\"" \
        "$(pkg_labels "${UI_PKGS[@]}")"
}

populate_redis() { # ROOTFS HASH
    local rootfs=$1 hash=$2
    # uid/gid 999 "redis", as in the official image
    make_skeleton "$rootfs" \
        'root:x:0:0:root:/root:/bin/sh'$'\n''redis:x:999:999::/home/redis:/usr/sbin/nologin'$'\n''nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
        'root:x:0:'$'\n''redis:x:999:'$'\n''nogroup:x:65534:'
    # Debian's redis-server is a link to redis-check-rdb (one binary, named by argv[0]).
    add_binary "$rootfs" "$(readlink -f /usr/bin/redis-server)" /usr/local/bin/redis-server
    add_binary "$rootfs" /usr/bin/redis-cli /usr/local/bin/redis-cli
    install -m 755 "$IMAGES_DIR/redis/docker-entrypoint.sh" "$rootfs/usr/local/bin/docker-entrypoint.sh"
    mkdir -p "$rootfs/data"
    chown 999:999 "$rootfs/data"
    import_rootfs "$rootfs" "$REDIS_TAG" \
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        'WORKDIR /data' \
        'ENTRYPOINT ["docker-entrypoint.sh"]' \
        'CMD ["redis-server"]' \
        'VOLUME ["/data"]' \
        'EXPOSE 6379' \
        "LABEL private-registry.test=image private-registry.test.build-hash=\"$hash\" private-registry.test.stands-in-for=\"redis:7.0.15\"" \
        "$(pkg_labels "${REDIS_PKGS[@]}")"
}

# ---------------------------------------------------------------- smoke tests
RUN_LABELS=(--label "$LIVE_LABEL" --label "$OWNER_LABEL")

check() { # DESCRIPTION COMMAND...
    local desc=$1
    shift
    if "$@"; then
        log "  ok: $desc"
    else
        log "  FAILED: $desc"
        return 1
    fi
}

contains() { grep -q -- "$2" <<<"$1"; } # TEXT PATTERN

host_port() { # CONTAINER PORT -> host port on 127.0.0.1
    docker port "$1" "$2/tcp" | awk -F: 'NR == 1 {print $NF}'
}

wait_http() { # URL [CURL ARGS...]: until any HTTP answer, 20 s max
    local url=$1 i
    shift
    for i in $(seq 1 80); do
        curl -s -o /dev/null "$@" "$url" && return 0
        sleep 0.25
    done
    return 1
}

http_status() { # URL [CURL ARGS...]
    local url=$1
    shift
    curl -s -o /dev/null -w '%{http_code}' "$@" "$url" || true
}

smoke_registry() { smoke_registry_version "$1" '2\.8\.2'; }
smoke_registry3() {
    smoke_registry_version "$1" ' 3\.1\.1' || return 1
    local out
    out=$(docker run --rm --pull never "${RUN_LABELS[@]}" "$1" sh -c 'echo "$OTEL_TRACES_EXPORTER:$(ls /etc/distribution)"' 2>&1) || true
    check "tracing off, config in /etc/distribution: $out" test "$out" = "none:config.yml" || return 1
}

smoke_registry_version() { # TAG VERSION_PATTERN
    local tag=$1 out cid port
    log "smoke test $tag"
    out=$(docker run --rm --pull never "${RUN_LABELS[@]}" "$tag" --version 2>&1)
    check "--version via entrypoint: $out" contains "$out" "$2" || return 1
    out=$(docker run --rm --pull never "${RUN_LABELS[@]}" "$tag" garbage-collect --help 2>&1) || true
    check "garbage-collect --help" contains "$out" '--dry-run' || return 1
    out=$(docker run --rm --pull never "${RUN_LABELS[@]}" "$tag" sh -c 'echo "$(id -u):$(readlink /usr/bin/wget)"' 2>&1) || true
    check "non-registry command exec'd (sh, busybox wget): $out" test "$out" = "0:/bin/busybox" || return 1
    cid=$(docker run -d --pull never "${RUN_LABELS[@]}" -p 127.0.0.1::5000 "$tag")
    port=$(host_port "$cid" 5000)
    wait_http "http://127.0.0.1:$port/v2/" || { docker logs "$cid" >&2; return 1; }
    check "default config: GET /v2/ -> 200" test "$(http_status "http://127.0.0.1:$port/v2/")" = 200 || return 1
    check "healthcheck: wget -q -O /dev/null http://127.0.0.1:5000/" \
        docker exec "$cid" wget -q -O /dev/null http://127.0.0.1:5000/ || return 1
    docker rm -f -v "$cid" >/dev/null
}

smoke_ui() {
    local tag=$1 out cid port dir net version
    version=${tag##*:}
    log "smoke test $tag"
    out=$(docker run --rm --pull never "${RUN_LABELS[@]}" "$tag" nginx -V 2>&1)
    check "nginx -V: $(grep -m1 "^nginx version" <<<"$out"), with ssl" contains "$out" '--with-http_ssl_module' || return 1
    # The front's config shape: the stream module from modules-enabled (nginx.org's builds
    # have it built in), a stream server to a unix socket with the PROXY protocol.
    out=$(docker run --rm --pull never "${RUN_LABELS[@]}" "$tag" sh -c \
        'printf "include /etc/nginx/modules-enabled/*.conf;\nevents {}\nstream { proxy_protocol on; proxy_half_close on; server { listen 81; proxy_pass unix:/run/x.sock; } }\n" > /tmp/f.conf && nginx -t -c /tmp/f.conf' 2>&1) || true
    check "the stream module loads: $out" contains "$out" 'test is successful' || return 1
    out=$(docker run --rm --pull never "${RUN_LABELS[@]}" "$tag" sh -c \
        'echo "$(pwd) $(grep -c "\${REGISTRY_TITLE}" index.html) $(stat -c %U index.html) $NGINX_PROXY_HEADER_Host"' 2>&1) || true
    check "another command runs untouched in the web root, index.html still a template, the Dockerfile's ENV: $out" \
        test "$out" = "/usr/share/nginx/html 1 nginx \$http_host" || return 1

    # As the program runs it (no capability but these), with settings in the env; THEME_*
    # goes through printenv. Three scripts of ours beside joxit's check the entrypoint's rules.
    dir=$(mktemp -d /var/tmp/private-registry-smoke.XXXXXX)
    TMP_PATHS+=("$dir")
    printf 'export SMOKE_SOURCED=yes\n' >"$dir/50-smoke.envsh"
    # shellcheck disable=SC2016 # expanded by the script
    printf '#!/bin/sh\necho "smoke: sourced=$SMOKE_SOURCED"\n' >"$dir/60-smoke.sh"
    printf '#!/bin/sh\necho "smoke: not executable, yet run"\n' >"$dir/70-smoke.sh"
    chmod 755 "$dir/50-smoke.envsh" "$dir/60-smoke.sh"
    chmod 644 "$dir/70-smoke.sh"
    cid=$(docker run -d --pull never "${RUN_LABELS[@]}" -p 127.0.0.1::80 \
        --cap-drop ALL --cap-add CHOWN --cap-add DAC_OVERRIDE --cap-add NET_BIND_SERVICE --cap-add SETGID --cap-add SETUID \
        -v "$dir/50-smoke.envsh:/docker-entrypoint.d/50-smoke.envsh:ro" -v "$dir/60-smoke.sh:/docker-entrypoint.d/60-smoke.sh:ro" \
        -v "$dir/70-smoke.sh:/docker-entrypoint.d/70-smoke.sh:ro" \
        -e 'REGISTRY_TITLE=Smoke title' -e DELETE_IMAGES=true -e SINGLE_REGISTRY=true -e REGISTRY_SECURED=true \
        -e CATALOG_ELEMENTS_LIMIT=500 -e SHOW_CONTENT_DIGEST=true -e TAGLIST_PAGE_SIZE=50 -e 'THEME_BACKGROUND=#123456' \
        -e ENABLE_VERSION_NOTIFICATION=false "$tag")
    port=$(host_port "$cid" 80)
    wait_http "http://127.0.0.1:$port/" || { docker logs "$cid" >&2; return 1; }
    out=$(docker logs "$cid" 2>&1)
    check "the entrypoint sources *.envsh, runs *.sh in order, skips a non-executable one" \
        test "$(grep -E 'smoke|90-docker' <<<"$out" | tr '\n' ';')" = \
        "/docker-entrypoint.sh: sourcing /docker-entrypoint.d/50-smoke.envsh;/docker-entrypoint.sh: running /docker-entrypoint.d/60-smoke.sh;smoke: sourced=yes;/docker-entrypoint.sh: skipping /docker-entrypoint.d/70-smoke.sh: not executable;/docker-entrypoint.sh: running /docker-entrypoint.d/90-docker-registry-ui.sh;" ||
        { printf '%s\n' "$out" >&2; return 1; }
    check "joxit's script ran without an error (printenv found, sed -i allowed)" \
        test -z "$(grep -iE 'not found|denied|can.t' <<<"$out")" || { printf '%s\n' "$out" >&2; return 1; }
    out=$(curl -fsS "http://127.0.0.1:$port/") || true
    check "index.html filled in from env (title, delete, digests, secured, limit, page size, THEME_* via printenv)" \
        node -e '
        const html = process.argv[1], want = {
            name: "Smoke title", "is-image-remove-activated": "true", "single-registry": "true",
            "is-registry-secured": "true", "catalog-elements-limit": "500", "show-content-digest": "true",
            "tags-per-page": "50", "theme-background": "#123456", "show-catalog-nb-tags": "false", "registry-url": "",
        };
        const bad = Object.entries(want).filter(([k, v]) => !html.includes(` ${k}="${v}"`));
        if (!html.includes("<docker-registry-ui") || html.includes("${")) bad.push(["template left", ""]);
        if (bad.length) { console.error(JSON.stringify(bad)); process.exit(1); }' "$out" || return 1
    if [ "$version" != 2.5.2 ]; then
        check "2.6.0's setting filled in: enable-version-notification=\"false\"" \
            contains "$out" 'enable-version-notification="false"' || return 1
    fi
    out=$(curl -sS -D - -o /dev/null "http://127.0.0.1:$port/docker-registry-ui.js")
    check "the UI's script is served, with no Content-Security-Policy of the image's own" \
        test "$(grep -ci '^content-security-policy' <<<"$out")$(grep -c '^HTTP/1.1 200' <<<"$out")" = 01 || return 1
    check "healthcheck: wget -q -O /dev/null http://127.0.0.1/" \
        docker exec "$cid" wget -q -O /dev/null http://127.0.0.1/ || return 1
    out=$(docker exec "$cid" ps -o user,args | grep 'nginx: ' | sort | uniq -c | tr -s ' ' | tr '\n' ';')
    check "nginx master runs as root: $out" contains "$out" 'root nginx: master' || return 1
    check "nginx workers run as nginx" contains "$out" 'nginx nginx: worker' || return 1
    docker rm -f -v "$cid" >/dev/null

    # TLS + resolver + map with a lookahead regex + proxy_pass with a variable, to a
    # registry container on a private network (alias "registry")
    dir=$(mktemp -d /var/tmp/private-registry-smoke.XXXXXX)
    TMP_PATHS+=("$dir")
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=ui.private-registry.test -addext subjectAltName=DNS:ui.private-registry.test \
        -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
    chmod 644 "$dir/tls.key"
    cat >"$dir/default.conf" <<'EOF'
map $http_user_agent $blocked_agent {
    "~^(docker\/1\.(3|4|5(?!\.[0-9]-dev))|Go ).*$" 1;
    default 0;
}
server {
    listen 443 ssl http2;
    server_name ui.private-registry.test;
    ssl_certificate     /etc/nginx/certs/tls.crt;
    ssl_certificate_key /etc/nginx/certs/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    resolver 127.0.0.11 valid=10s;
    root /usr/share/nginx/html;
    location /v2/ {
        if ($blocked_agent) { return 404; }
        set $upstream http://registry:5000;
        proxy_pass $upstream;
        proxy_set_header Host $http_host;
    }
    location / { index index.html; }
}
EOF
    net=private-registry-smoke-$$
    docker network create --label "$LIVE_LABEL" --label "$OWNER_LABEL" "$net" >/dev/null
    docker run -d --pull never "${RUN_LABELS[@]}" --network "$net" --network-alias registry "$REGISTRY_TAG" >/dev/null
    cid=$(docker run -d --pull never "${RUN_LABELS[@]}" --network "$net" -p 127.0.0.1::443 \
        -v "$dir/default.conf:/etc/nginx/conf.d/default.conf:ro" -v "$dir:/etc/nginx/certs:ro" "$tag")
    port=$(host_port "$cid" 443)
    local url="https://ui.private-registry.test:$port"
    local curl_tls=(--cacert "$dir/tls.crt" --resolve "ui.private-registry.test:$port:127.0.0.1")
    wait_http "$url/" "${curl_tls[@]}" || { docker logs "$cid" >&2; return 1; }
    check "listen 443 ssl: GET / -> 200 over TLS 1.3" \
        test "$(http_status "$url/" "${curl_tls[@]}" --tlsv1.3)" = 200 || return 1
    check "TLS 1.2 accepted" \
        test "$(http_status "$url/" "${curl_tls[@]}" --tlsv1.2 --tls-max 1.2)" = 200 || return 1
    check "proxy_pass \$upstream via resolver 127.0.0.11: GET /v2/ -> 200" \
        test "$(http_status "$url/v2/" "${curl_tls[@]}")" = 200 || return 1
    check "busybox wget https (via openssl s_client): wget --no-check-certificate https://127.0.0.1/" \
        docker exec "$cid" wget --no-check-certificate -q -O /dev/null https://127.0.0.1/ || return 1
    check "map lookahead: docker/1.5.0 -> 404" \
        test "$(http_status "$url/v2/" "${curl_tls[@]}" -A docker/1.5.0)" = 404 || return 1
    check "map lookahead: docker/1.5.0-dev, docker/24.0.7 -> 200" \
        test "$(http_status "$url/v2/" "${curl_tls[@]}" -A docker/1.5.0-dev)$(http_status "$url/v2/" "${curl_tls[@]}" -A docker/24.0.7)" = 200200 ||
        return 1
    remove_owned_containers
}

smoke_redis() {
    local tag=$1 out cid
    log "smoke test $tag"
    out=$(docker run --rm --pull never "${RUN_LABELS[@]}" "$tag" redis-server --version 2>&1)
    check "redis-server --version: $out" contains "$out" 'v=7\.0\.15' || return 1
    # As the program runs it: the redis user, no capability, nothing saved, protected mode off.
    cid=$(docker run -d --pull never "${RUN_LABELS[@]}" --user 999:999 --cap-drop ALL "$tag" \
        redis-server --save "" --appendonly no --maxmemory 64mb --maxmemory-policy allkeys-lru --protected-mode no)
    local i
    for i in $(seq 1 40); do docker exec "$cid" redis-cli ping >/dev/null 2>&1 && break; sleep 0.25; done
    check "redis-cli ping as the redis user: PONG" test "$(docker exec "$cid" redis-cli ping 2>&1)" = PONG || { docker logs "$cid" >&2; return 1; }
    out=$(docker exec "$cid" sh -c 'printf "SET k v\r\nGET k\r\nFLUSHDB\r\nGET k\r\n" | nc -w 2 127.0.0.1 6379 | tr -d "\r" | tr "\n" " "')
    check "RESP inline commands through busybox nc (the collector's FLUSHDB): $out" test "$out" = '+OK $1 v +OK $-1 ' || return 1
    docker rm -f -v "$cid" >/dev/null
}

# ---------------------------------------------------------------- 4. /etc/hosts
ensure_hosts() {
    # edit in place (no rename): /etc/hosts may be a bind mount
    if grep -qxF "$HOSTS_LINE" /etc/hosts; then
        [ "$(grep -cF "$HOSTS_MARK" /etc/hosts)" = 1 ] && { log "/etc/hosts: entry present"; return; }
    fi
    local content
    content=$(grep -vF "$HOSTS_MARK" /etc/hosts || true)
    printf '%s\n%s\n' "$content" "$HOSTS_LINE" >/etc/hosts
    log "/etc/hosts: added test hostnames"
}

# ---------------------------------------------------------------- main
install_packages
start_docker
build_image "$REGISTRY_TAG" registry smoke_registry populate_registry "${REGISTRY_PKGS[@]}"
build_image "$REGISTRY3_TAG" registry3 smoke_registry3 populate_registry3 "${REGISTRY3_PKGS[@]}"
for v in "${UI_VERSIONS[@]}"; do build_ui_image "$v"; done
build_image "$REDIS_TAG" redis smoke_redis populate_redis "${REDIS_PKGS[@]}"
ensure_hosts

label() { docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1"; }
{
    echo "== private-registry live-test environment (provisioned in $((SECONDS - START))s)"
    echo "docker:    $(docker version -f 'client {{.Client.Version}}, server {{.Server.Version}}')"
    echo "registry:  $REGISTRY_TAG  (docker-registry $(label "$REGISTRY_TAG" private-registry.test.deb.docker-registry), $(docker image inspect -f '{{.Id}}' "$REGISTRY_TAG" | cut -c8-19))"
    echo "registry3: $REGISTRY3_TAG  (distribution v3.1.1 source ${REGISTRY3_SOURCE_SHA256:0:12}, $(docker image inspect -f '{{.Id}}' "$REGISTRY3_TAG" | cut -c8-19))"
    for v in "${UI_VERSIONS[@]}"; do
        echo "ui:        $UI_TAG_PREFIX:$v  (joxit's release ${v}, source $(label "$UI_TAG_PREFIX:$v" private-registry.test.source-sha256 | cut -c1-12), nginx $(label "$UI_TAG_PREFIX:$v" private-registry.test.deb.nginx), $(docker image inspect -f '{{.Id}}' "$UI_TAG_PREFIX:$v" | cut -c8-19))"
    done
    echo "redis:     $REDIS_TAG  (redis-server $(label "$REDIS_TAG" private-registry.test.deb.redis-server), $(docker image inspect -f '{{.Id}}' "$REDIS_TAG" | cut -c8-19))"
    echo "chromium:  $(chromium --version 2>/dev/null | head -n 1)"
    echo "skopeo:    $(skopeo --version)"
    echo "hosts:     $(grep -F "$HOSTS_MARK" /etc/hosts | sed "s/ *$HOSTS_MARK//")"
}
