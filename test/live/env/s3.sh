#!/usr/bin/env bash
# A real S3 store for the live tests: Ceph's RADOS Gateway from Debian packages (one
# monitor, one in-memory OSD, radosgw), all in one directory, on this host only.
#
#   s3.sh start    start it unless it answers already (about 15 s from nothing); idempotent
#                  (start-locked: the same, by a caller that holds the start lock)
#   s3.sh stop     stop the daemons and remove their data
#   s3.sh env      print S3_ENDPOINT_HOST=..., S3_ENDPOINT_CONTAINERS=..., S3_ACCESS_KEY=..., S3_SECRET_KEY=...
#
# radosgw listens on 127.0.0.1 (for the tests) and on the address of the docker0 bridge,
# which is how containers on any bridge network reach this host. Auth between the daemons
# is off (`ms_mon_client_mode=crc` makes radosgw work without it); S3 requests are signed
# with the test user's keys, as against any S3 store.
set -euo pipefail

DIR=${S3_DIR:-/var/tmp/private-registry-s3}
PORT=${S3_PORT:-7480}
ACCESS_KEY=private-registry-test
SECRET_KEY=private-registry-test-secret-key-0123456789
CONF=$DIR/ceph.conf

log() { printf '[s3 %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

bridge_address() {
    ip -4 -o addr show docker0 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }'
}

answers() { # S3 answers an anonymous request (403 or 200: any S3 answer)
    curl -s -o /dev/null -m 2 "http://127.0.0.1:$PORT/" 2>/dev/null
}

print_env() {
    echo "S3_ENDPOINT_HOST=http://127.0.0.1:$PORT"
    echo "S3_ENDPOINT_CONTAINERS=http://$(bridge_address):$PORT"
    echo "S3_ACCESS_KEY=$ACCESS_KEY"
    echo "S3_SECRET_KEY=$SECRET_KEY"
}

write_config() {
    local fsid bridge
    fsid=$(uuidgen)
    bridge=$(bridge_address)
    [ -n "$bridge" ] || die "no docker0 bridge address: is dockerd running?"
    cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon_host = v1:127.0.0.1:6789
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_crush_chooseleaf_type = 0
mon_data_avail_warn = 1
mon_data_avail_crit = 0
mon_warn_on_pool_no_redundancy = false
run_dir = $DIR/run
log_file = $DIR/log/\$name.log
admin_socket = $DIR/run/\$name.asok
keyring = $DIR/keyring
[mon.a]
mon_data = $DIR/mon
[osd.0]
osd_data = $DIR/osd
osd_objectstore = memstore
memstore_device_bytes = 4294967296
[client.rgw]
rgw_frontends = beast endpoint=127.0.0.1:$PORT endpoint=$bridge:$PORT
rgw_data = $DIR/rgw
rgw_gc_obj_min_wait = 5
rgw_gc_processor_period = 5
rgw_gc_processor_max_time = 5
EOF
}

start_daemon() { # NAME COMMAND...
    local name=$1
    shift
    # -f, output to a file: an inherited stdout would keep the caller's pipes open.
    # 9>&-: the start lock must not outlive this script in the daemons.
    setsid "$@" -f -c "$CONF" >"$DIR/log/$name.out" 2>&1 </dev/null 9>&- &
}

# Auth is off, so a monitor client may send its first command before it has the monitor
# map, with the fsid still zero; the monitor refuses it ("wrong fsid", EPERM) and the new OSD
# exits. The same command sent again, once the map is there, is accepted.
with_mon_retries() { # COMMAND...
    local attempt
    for attempt in 1 2 3 4 5 6 7 8; do
        "$@" && return 0
        log "$1 failed (attempt $attempt of 8); trying again"
        sleep 0.5
    done
    tail -n 20 "$DIR"/log/*.out >&2
    die "$1 failed 8 times (logs: $DIR/log)"
}

create_osd() { # OSD-UUID: the first OSD gets id 0
    local id
    id=$(timeout 30 ceph -c "$CONF" osd create "$1" 2>>"$DIR/log/mkfs.out") || return 1
    [ "$id" = 0 ] || die "ceph osd create returned '$id'"
}

start_osd() { # true once the OSD is past init, false if it exited (or hung) before that
    : >"$DIR/log/osd.0.log"
    start_daemon osd ceph-osd -i 0
    local pid=$! tries
    for tries in $(seq 1 60); do
        grep -q "done with init" "$DIR/log/osd.0.log" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.5
    done
    log "the OSD was not past init after $((tries / 2)) s"
    kill -9 "$pid" 2>/dev/null || true
    return 1
}

start() {
    if answers; then log "radosgw answers on 127.0.0.1:$PORT"; return; fi
    command -v radosgw >/dev/null || die "radosgw is not installed (provision.sh installs it)"
    stop_daemons
    rm -rf "$DIR"
    mkdir -p "$DIR"/{run,log,mon,osd,rgw}
    write_config
    ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    monmaptool --create --add a v1:127.0.0.1:6789 --fsid "$(awk '/^fsid/ {print $3}' "$CONF")" "$DIR/monmap" >/dev/null
    ceph-mon --mkfs -i a --monmap "$DIR/monmap" -c "$CONF" >"$DIR/log/mkfs.out" 2>&1
    start_daemon mon ceph-mon -i a
    local osd_uuid
    osd_uuid=$(uuidgen)
    with_mon_retries create_osd "$osd_uuid"
    ceph-osd -i 0 --mkfs --osd-uuid "$osd_uuid" -c "$CONF" >>"$DIR/log/mkfs.out" 2>&1
    with_mon_retries start_osd
    start_daemon rgw radosgw -n client.rgw
    for _ in $(seq 1 120); do
        answers && break
        sleep 0.5
    done
    answers || { tail -n 20 "$DIR"/log/*.out >&2; die "radosgw did not answer within 60 s (logs: $DIR/log)"; }
    timeout 60 radosgw-admin -c "$CONF" user create --uid=private-registry-test --display-name=test \
        --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
    log "radosgw answers on 127.0.0.1:$PORT and $(bridge_address):$PORT"
}

stop_daemons() {
    local name
    for name in radosgw ceph-osd ceph-mon; do pkill -x "$name" 2>/dev/null || true; done
    for name in radosgw ceph-osd ceph-mon; do
        for _ in $(seq 1 40); do pgrep -x "$name" >/dev/null || break; sleep 0.25; done
        pkill -9 -x "$name" 2>/dev/null || true
    done
}

case "${1:-}" in
    start)
        mkdir -p /run/lock
        exec 9>/run/lock/private-registry-s3.lock
        # Another start may be under way (about 15 s; minutes when it has to retry).
        flock -w 360 9
        # A start that still fails (with_mon_retries gave up, or radosgw never answered):
        # once, start again from nothing (a radosgw that came up late, without the test
        # user, is stopped too).
        bash "$0" start-locked || {
            log "the start failed; starting again from nothing"
            stop_daemons
            rm -rf "$DIR"
            bash "$0" start-locked
        } ;;
    start-locked) start ;;
    stop) stop_daemons; rm -rf "$DIR" ;;
    env) print_env ;;
    *) echo "usage: s3.sh start | stop | env" >&2; exit 64 ;;
esac
