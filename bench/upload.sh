#!/usr/bin/env bash
# shellcheck disable=SC2016 # bench_on_exit takes code, expanded at exit
# upload.sh — owns the write benchmark: `ferry upload` against `rclone copy`, and
# writes through `ferry mount --rw` against `rclone mount --vfs-cache-mode writes`,
# on the same Azurite, in one run, printing one table with ratios (rclone time /
# ferry time: > 1 means ferry is faster).
#
# Rows: one big file (BENCH_BIG_MIB), and BENCH_SMALL_COUNT files of 64 KiB in 20
# folders. Upload rows time the command. Mount rows time `cp -r` of the data into a
# fresh mount plus the wait until storage holds every byte (ferry's close returns
# once the file is uploaded; rclone uploads after close, so its rows include that
# wait, measured by listing the container until the sizes add up); every result is
# then downloaded and compared with the source. The closing table (bench_table) adds CPU
# (the command's; mount rows: cp's plus the mount daemon's) and peak RSS (the command's
# largest process; mount rows: the daemon's) and compares ferry with the best peer.
#
#   bench/upload.sh                      BENCH_SCALE=small (256 MiB, 500 files)
#   BENCH_SCALE=full bench/upload.sh     1 GiB, 2,000 small files
#
# Uses the running fixtures when AZURITE_URL is set, else starts its own.
set -euo pipefail

source "$(dirname "$0")/lib.sh" upload rclone

case ${BENCH_SCALE:-small} in
full) big=1024 small_n=2000 ;;
small) big=256 small_n=500 ;;
*) echo "bench: BENCH_SCALE is full or small" >&2; exit 2 ;;
esac
big=${BENCH_BIG_MIB:-$big} small_n=${BENCH_SMALL_COUNT:-$small_n}
TMO=${BENCH_TIMEOUT:-300}

server_pid=
bench_on_exit 'if grep -qF " $MNT " /proc/self/mountinfo; then umount -l "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"; fi'
bench_on_exit '[[ -z $server_pid ]] || kill "$server_pid" 2>/dev/null'
unset AZURE_STORAGE_SAS_TOKEN AZURE_STORAGE_ACCOUNT AZURE_STORAGE_KEY
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN

echo "bench: making data: 1 x $big MiB, $small_n x 64 KiB" >&2
DATA=$WORK/data
mkdir -p "$DATA/big" "$DATA/small"
openssl rand $((big * 1048576)) >"$DATA/big/file.bin"
$PY - "$DATA/small" "$small_n" <<'PYEOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%02d" % (i % 20))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "s%05d.bin" % i), "wb") as f:
        f.write(os.urandom(65536))
PYEOF
container=ubench-$$-$RANDOM
$PY tests/fixtures/azcli.py mkcontainer "$container"
sas=$($PY tests/fixtures/azcli.py sas --perms rwdlac --hours 12)
export RCLONE_CONFIG_AZ_TYPE=azureblob RCLONE_CONFIG_AZ_SAS_URL="$AZURITE_URL/$container?$sas"

now() { date +%s.%N; }
# stored_bytes PREFIX — total size of the blobs below PREFIX (0 if none).
stored_bytes() { "$FERRY" ls "$AZURITE_URL/$container/$1" -R 2>/dev/null | awk -F'\t' '$1 != "-" {s += $1} END {print s + 0}'; }
wait_stored() { # wait_stored PREFIX BYTES — until storage holds BYTES below PREFIX
	local end=$(($(date +%s) + TMO))
	while [[ $(stored_bytes "$1") -lt $2 ]]; do
		(($(date +%s) < end)) || return 1
		sleep 0.2
	done
}
check() { # check PREFIX SRC — download and compare
	rm -rf "$WORK/check"
	"$FERRY" download "$AZURITE_URL/$container/$1" "$WORK/check" >/dev/null 2>&1
	diff -r "$2" "$WORK/check" >/dev/null || { echo "bench: $1 differs from $2" >&2; exit 1; }
	rm -rf "$WORK/check"
}

mount_tool() { # mount_tool TOOL PREFIX
	case $1 in
	ferry-mount)
		"$FERRY" mount --rw "$AZURITE_URL/$container/$2" "$MNT" --cache-dir "$WORK/cache-ferry"
		server_pid=$(grep -o "served by process [0-9]*" "$FERRY_HOME/logs/mount.log" | tail -1 | awk '{print $4}')
		;;
	rclone-mount)
		rclone mount --config /dev/null --vfs-cache-mode writes --vfs-write-back 0s \
			--cache-dir "$WORK/cache-rclone" "az:$container/$2" "$MNT" >"$WORK/rclone.log" 2>&1 &
		server_pid=$!
		for _ in $(seq 1 100); do grep -qF " $MNT " /proc/self/mountinfo && break; sleep 0.1; done
		;;
	esac
}
unmount_tool() {
	read -r daemon_cpu daemon_rss < <(bench_proc "$server_pid") # the daemon's CPU and peak RSS
	umount "$MNT" 2>/dev/null || umount -l "$MNT"
	for _ in $(seq 1 300); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
	kill "$server_pid" 2>/dev/null || true
	server_pid=
	rm -rf "$WORK/cache-ferry" "$WORK/cache-rclone"
}

declare -A R
for what in big small; do
	src=$DATA/$what
	bytes=$(find "$src" -type f -printf "%s\n" | awk "{s += \$1} END {print s + 0}")
	for tool in ferry-upload rclone-copy ferry-mount rclone-mount; do
		echo "bench: $what, $tool" >&2
		prefix=$tool/$what
		srv0=$(bench_servers_cpu)
		t0=$(now)
		case $tool in
		ferry-upload) bench_time timeout "$TMO" "$FERRY" upload "$src" "$AZURITE_URL/$container/$prefix" >/dev/null 2>&1 ;;
		rclone-copy) bench_time timeout "$TMO" rclone copy --config /dev/null --transfers 8 "$src" "az:$container/$prefix" >/dev/null 2>&1 ;;
		*)
			mount_tool "$tool" "$prefix"
			t0=$(now)
			bench_time timeout "$TMO" cp -r "$src/." "$MNT/"
			wait_stored "$prefix" "$bytes" || echo "bench: $tool did not land within $TMO s" >&2
			;;
		esac
		t1=$(now)
		((BT_RC == 0)) || echo "bench: $what, $tool exited with $BT_RC" >&2
		srv=$(bench_servers_since "$srv0")
		cpu=$BT_CPU rss=$BT_RSS
		if [[ $tool == *mount ]]; then
			unmount_tool
			cpu=$(bench_add "$cpu" "$daemon_cpu") rss=$daemon_rss # cp's CPU + the daemon's; the daemon's RSS
		fi
		R[$tool,$what]=$($PY -c "print('%.2f' % ($t1 - $t0))")
		check "$prefix" "$src"
		label="1 x $big MiB"
		[[ $what == small ]] && label="$small_n x 64 KiB in 20 folders"
		bench_row "$([[ $tool == *mount ]] && echo "rw mount: cp -r until stored," || echo "upload:") $label" "$tool" \
			"${R[$tool,$what]}" "$cpu" "$rss" "$srv"
	done
done

printf '%-34s %12s %12s %14s %14s   %s\n' "row (seconds)" ferry-upload rclone-copy ferry-mount rclone-mount \
	"rclone-copy/ferry-upload  rclone-mount/ferry-mount"
for what in big small; do
	label="1 x $big MiB"
	[[ $what == small ]] && label="$small_n x 64 KiB in 20 folders"
	printf '%-34s %12s %12s %14s %14s' "$label" "${R[ferry-upload,$what]}" "${R[rclone-copy,$what]}" \
		"${R[ferry-mount,$what]}" "${R[rclone-mount,$what]}"
	$PY -c 'import sys; a,b,c,d=map(float,sys.argv[1:]); print("   %10.2fx  %24.2fx" % (b/a, d/c))' \
		"${R[ferry-upload,$what]}" "${R[rclone-copy,$what]}" "${R[ferry-mount,$what]}" "${R[rclone-mount,$what]}"
done
bench_table
