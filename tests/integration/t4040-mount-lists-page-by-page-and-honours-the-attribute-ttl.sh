#!/usr/bin/env bash
# t4040 — owns listings and attributes under the mount: a 3,000-file folder listed
# 100 names per storage page (FERRY_LIST_PAGE_SIZE) shows every name exactly once
# to ls, find and os.scandir, and its first entry arrives before the listing is
# done; so does a 25,000-blob folder listed in Azure's pages of 5,000 (5 pages,
# two of the kernel's 1 MiB readdir buffers: a mount keeps two pages of a listing,
# never the folder, so a bigger folder takes no other path; bench/mount.sh lists
# 100,000); a folder's listing can be read twice and rewound; a blob that changes in
# storage shows its new size once DATASET_MOUNT_ATTRIBUTE_CACHE_TTL has passed and
# keeps the old one when the TTL is unset (never expires).
# Both big folders are empty blobs written straight into a private Azurite's
# database (bulk_azurite): only their names matter here, and 3,000 Put Blobs would
# cost Azurite ~20 s of CPU.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN

c=$(new_container)
HUGE=25000
t0=$(date +%s)
bulk_azurite bulk flat/n 3000 huge/n "$HUGE"
echo "# 3,000 + $HUGE blobs in a private Azurite in $(seconds_since "$t0") s"
seq -f 'n%06g' 0 2999 >"$TEST_TMP/want"
flat=$BULK_URL/bulk/flat
export AZURE_STORAGE_CONNECTION_STRING=$BULK_CONN

step "a 3,000-file folder listed 100 names a page: ls, find and os.scandir see every name once"
mnt=$TEST_TMP/mnt
mount_at "$flat" "$mnt" FERRY_LIST_PAGE_SIZE=100
ls -f "$mnt" | grep -v '^\.\.\?$' | LC_ALL=C sort | diff "$TEST_TMP/want" - >/dev/null || fail "ls -f differs"
(cd "$mnt" && find . -type f -printf '%P\n' | LC_ALL=C sort) | diff "$TEST_TMP/want" - >/dev/null || fail "find differs"
$PY - "$mnt" "$TEST_TMP/want" <<-'PYEOF' || fail "os.scandir differs"
import os, sys
names = sorted(e.name for e in os.scandir(sys.argv[1]))
want = open(sys.argv[2]).read().split()
sys.exit(0 if names == want and len(set(names)) == len(names) else 1)
PYEOF
unmount_at "$mnt"

step "the first entry arrives before the listing is done (fresh mount, 30 pages)"
# readdir(3) reads 32 KiB of entries at a time: the first call needs a few pages.
# (Python's os.scandir asks the kernel for 1 MiB at once, about 12,000 entries.)
mount_at "$flat" "$mnt" FERRY_LIST_PAGE_SIZE=100
$PY - "$mnt" <<-'PYEOF' || fail "first entry not streamed"
import ctypes, sys, time
libc = ctypes.CDLL(None)
libc.opendir.restype = ctypes.c_void_p
libc.readdir.restype = ctypes.c_void_p
libc.readdir.argtypes = [ctypes.c_void_p]
libc.closedir.argtypes = [ctypes.c_void_p]
t0 = time.monotonic()
d = libc.opendir(sys.argv[1].encode())
assert libc.readdir(d)
t1 = time.monotonic()
n = 1
while libc.readdir(d):
    n += 1
t2 = time.monotonic()
libc.closedir(d)
print("# first entry after %.3f s, all %d after %.3f s" % (t1 - t0, n, t2 - t0))
sys.exit(0 if n >= 3000 and (t1 - t0) < (t2 - t0) / 2 else 1)
PYEOF

unmount_at "$mnt"

step "a $HUGE-blob folder: the first entry arrives before the listing is done, each name once"
# Storage pages of 5,000 names (the default and Azure's maximum): 5 pages.
mnt_huge=$TEST_TMP/mnt-huge
mount_at "$BULK_URL/bulk/huge" "$mnt_huge"
$PY - "$mnt_huge" "$HUGE" <<-'PYEOF' || fail "the $HUGE-blob listing was not streamed, or not every name once"
import ctypes, sys, time
class Dirent(ctypes.Structure):
    _fields_ = [("d_ino", ctypes.c_uint64), ("d_off", ctypes.c_int64), ("d_reclen", ctypes.c_ushort),
                ("d_type", ctypes.c_ubyte), ("d_name", ctypes.c_char * 256)]
libc = ctypes.CDLL(None)
libc.opendir.restype = ctypes.c_void_p
libc.readdir.restype = ctypes.POINTER(Dirent)
libc.readdir.argtypes = [ctypes.c_void_p]
libc.closedir.argtypes = [ctypes.c_void_p]
t0 = time.monotonic()
d = libc.opendir(sys.argv[1].encode())
e = libc.readdir(d)
assert e
t1 = time.monotonic()
names = [e.contents.d_name]
while True:
    e = libc.readdir(d)
    if not e:
        break
    names.append(e.contents.d_name)
t2 = time.monotonic()
libc.closedir(d)
names = [n for n in names if n not in (b".", b"..")]
want = [b"n%06d" % i for i in range(int(sys.argv[2]))]
print("# first entry after %.3f s, all %d after %.3f s" % (t1 - t0, len(names), t2 - t0))
ok = sorted(names) == want and (t1 - t0) < (t2 - t0) / 2
sys.exit(0 if ok else 1)
PYEOF
unmount_at "$mnt_huge"

mount_at "$flat" "$mnt" FERRY_LIST_PAGE_SIZE=100
step "a directory stream can be rewound and read again"
$PY - "$mnt" <<-'PYEOF' || fail "rewinddir/seekdir gave a different listing"
import ctypes, os, sys
libc = ctypes.CDLL(None)
libc.opendir.restype = ctypes.c_void_p
libc.readdir.restype = ctypes.c_void_p
libc.readdir.argtypes = [ctypes.c_void_p]
libc.rewinddir.argtypes = [ctypes.c_void_p]
libc.closedir.argtypes = [ctypes.c_void_p]
d = libc.opendir(sys.argv[1].encode())
def count():
    n = 0
    while libc.readdir(d):
        n += 1
    return n
a = count(); libc.rewinddir(d); b = count(); libc.closedir(d)
sys.exit(0 if a == b and a >= 3000 else 1)
PYEOF
unmount_at "$mnt"

step "attributes: unset TTL keeps the size seen first; a 1 s TTL shows the new size"
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
printf 'short\n' >"$TEST_TMP/v1"
printf 'a much longer second version\n' >"$TEST_TMP/v2"
expect_ok ferry upload "$TEST_TMP/v1" "$(az_uri "$c" attr/v.txt)"
m1=$TEST_TMP/mnt-never m2=$TEST_TMP/mnt-ttl
mount_at "$(az_uri "$c" attr)" "$m1"
mount_at "$(az_uri "$c" attr)" "$m2" DATASET_MOUNT_ATTRIBUTE_CACHE_TTL=1000
assert_eq 6 "$(stat -c %s "$m1/v.txt")" "size before the change (no TTL)"
assert_eq 6 "$(stat -c %s "$m2/v.txt")" "size before the change (1 s TTL)"
expect_ok ferry upload "$TEST_TMP/v2" "$(az_uri "$c" attr/v.txt)"
sleep 1.5
assert_eq 6 "$(stat -c %s "$m1/v.txt")" "size after the change with no TTL (never expires)"
assert_eq 29 "$(stat -c %s "$m2/v.txt")" "size after the change once the TTL passed"
assert_eq "a much longer second version" "$(cat "$m2/v.txt")" "content after the change"
unmount_at "$m1"
unmount_at "$m2"

step "no mount is left behind"
assert_no_mounts_under "$TEST_TMP"
echo "ok"
