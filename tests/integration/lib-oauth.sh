# lib-oauth.sh — owns what the identity tests (t3080-t3099) need beyond the suite's
# fixtures: an Azurite of their own that speaks HTTPS and checks OAuth tokens
# (`--oauth basic`; Azurite accepts bearer tokens over HTTPS only), a certificate
# made here with openssl and trusted through CURL_CA_BUNDLE, and local token
# endpoints (tests/fixtures/tokenserver.py) in the managed-identity and
# client-credentials formats. Sourced after lib.sh; everything it starts is
# stopped when the test exits.
#
# After `oauth_azurite`: AZURITE_URL/AZURITE_KEY point at the HTTPS Azurite (so
# azcli and new_container work on it), OAUTH_URL is the same, CURL_CA_BUNDLE is set.
# `token_server NAME [ARGS...]` starts one endpoint; its URL is in TS_URL_<NAME>,
# its log of issued tokens (one line each) in $TEST_TMP/ts-NAME.log and every token
# it minted in $TEST_TMP/ts-NAME.tokens.

_OAUTH_PIDS=()
_oauth_cleanup() {
	local p i
	for p in "${_OAUTH_PIDS[@]}"; do
		kill -- -"$p" 2>/dev/null || kill "$p" 2>/dev/null || true
	done
	# gone before the test's folder is removed (Azurite writes on its way out)
	for p in "${_OAUTH_PIDS[@]}"; do
		for ((i = 0; i < 50; i++)); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 -- -"$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}
at_exit _oauth_cleanup

_free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# oauth_azurite — start the HTTPS + OAuth Azurite (skips when Azurite or openssl is missing).
oauth_azurite() {
	local bin=$ROOT/tools/node_modules/.bin/azurite-blob
	[[ -x $bin ]] || skip "Azurite not installed ($bin); run ./setup.sh"
	command -v openssl >/dev/null || skip "openssl missing"
	local d=$TEST_TMP/oauth
	mkdir -p "$d/data"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
		-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		-keyout "$d/key.pem" -out "$d/cert.pem" 2>"$d/openssl.log" || fail "openssl: $(cat "$d/openssl.log")"
	export CURL_CA_BUNDLE=$d/cert.pem
	AZURITE_KEY=$(sed -n 's/^exports.EMULATOR_ACCOUNT_KEY = Buffer.from("\([^"]*\)".*/\1/p' \
		"$ROOT/tools/node_modules/azurite/dist/src/common/utils/constants.js")
	[[ -n $AZURITE_KEY ]] || fail "could not read Azurite's account key"
	export AZURITE_KEY
	local try port pid
	for try in 1 2 3; do
		port=$(_free_port)
		setsid "$bin" --blobHost 127.0.0.1 --blobPort "$port" -l "$d/data" -s -L --loose \
			--skipApiVersionCheck --oauth basic --cert "$d/cert.pem" --key "$d/key.pem" \
			</dev/null >"$d/azurite.log" 2>&1 &
		pid=$!
		_OAUTH_PIDS+=("$pid")
		local i
		for ((i = 0; i < 600; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			if curl -s -o /dev/null --max-time 2 --cacert "$d/cert.pem" \
				"https://127.0.0.1:$port/devstoreaccount1?comp=list"; then
				sleep 0.3
				kill -0 "$pid" 2>/dev/null && break 2
			fi
			sleep 0.1
		done
		[[ $try -lt 3 ]] || fail "the HTTPS Azurite did not start: $(tail -5 "$d/azurite.log")"
	done
	export AZURITE_URL=https://127.0.0.1:$port/devstoreaccount1
	export OAUTH_URL=$AZURITE_URL
	export AZURITE_CONN="DefaultEndpointsProtocol=https;AccountName=devstoreaccount1;AccountKey=$AZURITE_KEY;BlobEndpoint=$AZURITE_URL;"
}

# token_server NAME [tokenserver.py ARGS...] — start a token endpoint; sets TS_URL_<NAME>.
token_server() {
	local name=$1
	shift
	local pf=$TEST_TMP/ts-$name.port
	setsid $PY "$ROOT/tests/fixtures/tokenserver.py" --port-file "$pf" --log "$TEST_TMP/ts-$name.log" \
		--tokens "$TEST_TMP/ts-$name.tokens" "$@" </dev/null >"$TEST_TMP/ts-$name.out" 2>&1 &
	_OAUTH_PIDS+=("$!")
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -s $pf ]] && break
		sleep 0.1
	done
	[[ -s $pf ]] || fail "token server $name did not start: $(cat "$TEST_TMP/ts-$name.out")"
	printf -v "TS_URL_$name" 'http://127.0.0.1:%s' "$(cat "$pf")"
}

# tokens_issued NAME — how many tokens server NAME has minted.
tokens_issued() { wc -l <"$TEST_TMP/ts-$1.log" | tr -d ' '; }

# no_identity_env — none of the token sources set (each test sets the one it shows).
no_identity_env() {
	unset IDENTITY_ENDPOINT IDENTITY_HEADER MSI_ENDPOINT MSI_SECRET AZURE_ACCESS_TOKEN \
		AZURE_ACCESS_TOKEN_FILE AZURE_AUTHORITY_HOST DEFAULT_IDENTITY_CLIENT_ID FERRY_IDENTITY \
		FERRY_IDENTITY_CLIENT_ID AZURE_STORAGE_CONNECTION_STRING AZURE_STORAGE_KEY \
		AZURE_STORAGE_ACCOUNT AZURE_STORAGE_SAS_TOKEN
	export AZURE_CONFIG_DIR=$TEST_TMP/no-azure-cli
	# a closed port: "no instance metadata service here", refused at once
	export FERRY_IMDS_ENDPOINT=http://127.0.0.1:$(_free_port)
}

# assert_no_tokens NAME FILE... — no token minted by server NAME appears in any FILE.
assert_no_tokens() {
	local name=$1 f t
	shift
	[[ -s $TEST_TMP/ts-$name.tokens ]] || return 0
	for f in "$@"; do
		[[ -e $f ]] || continue
		while IFS= read -r t; do
			# the signature part alone is unique enough and catches partial leaks too
			if grep -qaF -- "${t##*.}" "$f"; then fail "a token of $name appears in $f"; fi
		done <"$TEST_TMP/ts-$name.tokens"
	done
}
