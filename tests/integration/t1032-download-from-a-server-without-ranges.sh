#!/usr/bin/env bash
# t1032 — owns downloads from HTTP servers that cannot serve byte ranges (Python's
# http.server, some CDNs): a file larger than a transfer part is fetched whole, in
# one request, instead of failing on "the server ignored a range request"; a
# folder index of such a server (HTML links) lists and downloads too.
source "$(dirname "$0")/lib.sh"

mkdir -p "$TEST_TMP/www/sub"
mkdata_random "$TEST_TMP/www/big.bin" 30M
printf 'hello\n' >"$TEST_TMP/www/sub/a.txt"
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$TEST_TMP/www" && exec timeout 120 $PY -m http.server "$port" --bind 127.0.0.1) >/dev/null 2>&1 &
server=$!
at_exit "kill $server 2>/dev/null"
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done

step "a 30 MiB file (several 8 MiB parts) comes back whole from a server without ranges"
expect_ok ferry download "http://127.0.0.1:$port/big.bin" "$TEST_TMP/out"
assert_file_same "$TEST_TMP/www/big.bin" "$TEST_TMP/out/big.bin"

step "a folder of that server (HTML index) downloads with its sub-folders"
expect_ok ferry download "http://127.0.0.1:$port/sub/" "$TEST_TMP/out2"
assert_file_same "$TEST_TMP/www/sub/a.txt" "$TEST_TMP/out2/a.txt"
echo "ok"
