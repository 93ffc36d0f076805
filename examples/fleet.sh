#!/bin/sh
# A local fleet demo for `make fleet`: one etcd server (Debian's
# etcd-server) and three mantrid nodes sharing their rules through it, all
# on loopback ports, with their data in a temporary folder. Ctrl-C stops
# every process this script started (by PID) and removes the folder.
set -eu
BIN=${BIN:-bin}
command -v etcd >/dev/null 2>&1 || { echo "make fleet: etcd not found; install it with 'make fleet-deps'" >&2; exit 1; }
dir=$(mktemp -d /tmp/mantrid-fleet.XXXXXX)
chmod 755 "$dir"
pids=""
cleanup() {
	trap - INT TERM EXIT
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	rm -rf "$dir"
	echo "fleet stopped"
}
trap cleanup INT TERM EXIT

etcd --name demo --data-dir "$dir/etcd" \
	--listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
	--listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
	--initial-cluster demo=http://127.0.0.1:23800 --auto-compaction-retention 1 >"$dir/etcd.log" 2>&1 &
pids="$!"
for i in 1 2 3; do
	mkdir -p "$dir/node$i"
	echo '{"hosts": {}, "stats": {}}' >"$dir/node$i/state.json"
	cat >"$dir/node$i/mantrid.conf" <<EOF
bind = 127.0.0.1:808$i
bind_management = 127.0.0.1:804$i
state_file = $dir/node$i/state.json
static_dir = $dir/node$i/static
uid = $(id -u)
gid = $(id -g)
etcd_endpoints = http://127.0.0.1:23790
node_name = node$i
EOF
	"$BIN/mantrid" -c "$dir/node$i/mantrid.conf" >"$dir/node$i/log" 2>&1 &
	pids="$pids $!"
done
sleep 1
cat <<EOF
A fleet of three Mantrid nodes on one etcd (data and logs in $dir):
  etcd      http://127.0.0.1:23790
  node1     public 127.0.0.1:8081, REST API 127.0.0.1:8041
  node2     public 127.0.0.1:8082, REST API 127.0.0.1:8042
  node3     public 127.0.0.1:8083, REST API 127.0.0.1:8043

Try:
  curl -X PUT -d '["redirect",{"redirect_to":"https://example.com"},false]' http://127.0.0.1:8041/hostname/demo.test/
  curl -i -H 'Host: demo.test' http://127.0.0.1:8083/        # node3 answers the rule set on node1
  curl http://127.0.0.1:8042/process/                        # "etcd": {"connected": true, ...}
  ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:23790 get --prefix /mantrid/
  kill -STOP <etcd pid> / kill -CONT: nodes keep serving, writes answer 503 store_unavailable
PIDs: etcd $(echo $pids | cut -d' ' -f1), nodes $(echo $pids | cut -d' ' -f2-)
Ctrl-C stops them all.
EOF
wait
