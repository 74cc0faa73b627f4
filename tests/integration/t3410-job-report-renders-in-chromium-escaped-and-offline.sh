#!/usr/bin/env bash
# t3410 — owns `ferry job report` (docs/jobs.md "The job report"): one self-contained
# HTML file per job — no script, nothing loaded from the network — that headless
# Chromium renders without a console message; its plots hold one point per interval
# of the job's time series; every string from the job (display name, description,
# tags, the command) is escaped, so a `<script>` in them is text, never code; the
# verdict line is there; without a name the last job is reported; --out and --open
# work. A screenshot is kept in build/test-logs/t3410-…/report.png.
source "$(dirname "$0")/lib.sh"
command -v chromium >/dev/null || skip "chromium is not installed (setup.sh installs it)"
export FERRY_CMD_TIMEOUT=120
out=$ROOT/build/test-logs/$TEST_NAME
mkdir -p "$out"
check() { $PY "$ROOT/tests/fixtures/chromium_check.py" "$@"; }
field() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

step "the checker itself sees a script error and a script element (it can fail)"
printf '<!DOCTYPE html><html><body><script>nosuch();</script><p>x</p></body></html>\n' >"$TEST_TMP/bad.html"
check "$TEST_TMP/bad.html" "$TEST_TMP/bad.png" >"$TEST_TMP/bad.json"
[[ $(field "$TEST_TMP/bad.json" 'len(d["console"]) > 0 and d["dom_scripts"] == 1') == True ]] ||
	fail "the Chromium checker missed an uncaught error: $(cat "$TEST_TMP/bad.json")"

step "a job whose names and command hold HTML runs and records a series"
mkdir -p "$TEST_TMP/data" "$TEST_TMP/job"
mkdata_random "$TEST_TMP/data/a.bin" 32M
cat >"$TEST_TMP/job/html.yml" <<YML
display_name: "<script>window.pwned=1</script>"
description: "quotes \" ' & <b>bold</b>"
tags: {"<i>tag</i>": "<u>v</u>"}
command: >-
  cat \${{inputs.d}}/a.bin >/dev/null && echo '<img src=x onerror=alert(1)>' && sleep 3
  && cat \${{inputs.e}}/a.bin | md5sum
inputs:
  d: {type: uri_folder, path: $TEST_TMP/data, mode: ro_mount}
  e: {type: uri_folder, path: $TEST_TMP/data, mode: download}
YML
expect_ok ferry run "$TEST_TMP/job/html.yml" --name first
expect_ok ferry run "$TEST_TMP/job/html.yml" --name html_job
series=$FERRY_HOME/jobs/html_job/series.jsonl
samples=$(($(wc -l <"$series") - 1))
echo "# $samples samples"
((samples >= 4)) || fail "a job of more than 3 s has $samples samples"

step "ferry job report without a name reports the last job, at <job folder>/report.html"
expect_ok ferry job report
page=$FERRY_HOME/jobs/html_job/report.html
assert_eq "$page" "$(cat "$TEST_TMP/last.stdout")" "the path printed"
[[ -s $page ]] || fail "no report at $page"

step "--out writes where asked and --open prints a file:// URL"
expect_ok ferry job report first --out "$TEST_TMP/first.html" --open
assert_eq "file://$TEST_TMP/first.html" "$(cat "$TEST_TMP/last.stdout")" "--open's URL"
assert_contains "$TEST_TMP/first.html" '<span id="job-name">first</span>'
expect_fail "nosuch" ferry job report nosuch

step "everything from the job is escaped; the page loads nothing and holds no script"
for raw in '<script>window.pwned=1</script>' "<b>bold</b>" '<i>tag</i>' '<img src=x onerror=alert(1)>'; do
	assert_not_contains "$page" "$raw" "unescaped job text"
done
assert_contains "$page" '&lt;script&gt;window.pwned=1&lt;/script&gt;'
assert_contains "$page" 'quotes &quot; &#39; &amp; &lt;b&gt;bold&lt;/b&gt;'
assert_contains "$page" "&lt;img src=x onerror=alert(1)&gt;"
if grep -Eio '<(script|link|img|iframe|object|embed)|<[a-z][^>]*[[:space:]](src|href)[[:space:]]*=|url\(|@import' "$page"; then
	fail "the report refers to something outside itself"
fi

step "headless Chromium renders it with no console message; every plot line has one point per interval"
check "$page" "$out/report.png" >"$TEST_TMP/page.json"
assert_eq "[]" "$(field "$TEST_TMP/page.json" 'd["console"]')" "console messages"
assert_eq 0 "$(field "$TEST_TMP/page.json" 'd["dom_scripts"]')" "script elements in the rendered page"
assert_eq "throughput wait hitrate disk cpu memory diskio" \
	"$(field "$TEST_TMP/page.json" '" ".join(dict.fromkeys(l["plot"] for l in d["lines"]))')" "plots"
assert_eq "$((samples - 1))" "$(field "$TEST_TMP/page.json" 'sorted(set(l["points"] for l in d["lines"]))[0]')" \
	"fewest points in a line"
assert_eq "$((samples - 1))" "$(field "$TEST_TMP/page.json" 'sorted(set(l["points"] for l in d["lines"]))[-1]')" \
	"most points in a line"
assert_eq html_job "$(field "$TEST_TMP/page.json" 'd["texts"]["job-name"]')" "the job's name as shown"
verdict=$(field "$TEST_TMP/page.json" 'd["texts"]["verdict"]')
echo "# verdict: $verdict"
[[ $verdict =~ ^(Data-bound|Partly\ data-bound|Not\ data-bound):\ the\ command\ waited\ on\ data\ for\ [0-9]+%\ of\ its\ run ]] ||
	fail "no verdict line: '$verdict'"
(($(field "$TEST_TMP/page.json" 'd["screenshot"]') > 10000)) || fail "no screenshot at $out/report.png"
echo "# screenshot: $out/report.png"
