#!/usr/bin/env bash
# t3020 — owns load-time errors: malformed YAML, an unknown field, an ill-typed
# field, a forbidden mode, a not-yet-supported mode, a reference to a missing
# input, and an unknown datastore each fail with a message naming the file and
# line (or the input and datastore), exit 1, and never run the command.
source "$(dirname "$0")/lib.sh"

marker=$TEST_TMP/ran
job=$TEST_TMP/job.yml
try() { # try NEEDLE... — the job in $job fails with every NEEDLE, command never ran
	expect_fail "$1" ferry run "$job"
	local n
	for n in "$@"; do assert_contains "$LAST_STDERR" "$n" "stderr"; done
	[[ ! -e $marker ]] || fail "the command ran"
}

step "malformed YAML names the file, the line and libyaml's problem"
printf 'command: touch %s\ninputs:\n  a: [1, 2\n' "$marker" >"$job"
try "$job:" "malformed YAML"

step "an unknown field names its line and the field"
printf 'command: touch %s\ndisplay_name: x\ncolour: blue\n' "$marker" >"$job"
try "$job:3: field 'colour'"

step "a list where a map is expected names the field"
printf 'command: touch %s\nenvironment_variables:\n  - A=1\n' "$marker" >"$job"
try "$job:3: field 'environment_variables'" "expected a map"

step "a forbidden mode names the input, its type and mode, and the allowed modes"
printf 'command: touch %s\ninputs:\n  data:\n    type: uri_file\n    path: ./x.csv\n    mode: upload\n' "$marker" >"$job"
try "$job:6:" "input 'data'" "uri_file" "upload" "ro_mount, download, direct"

step "an output mode meant for inputs is refused"
printf 'command: touch %s\noutputs:\n  out:\n    mode: download\n' "$marker" >"$job"
try "output 'out'" "rw_mount, upload"

step "a reference to an input the job does not define"
printf 'command: touch %s ${{inputs.nothere}}\n' "$marker" >"$job"
try "$job:1:" "input 'nothere'"

step "a reference to an output the job does not define"
printf 'command: touch %s ${{outputs.nothere}}\n' "$marker" >"$job"
try "output 'nothere'"

step "an unknown datastore in an input path names the datastore and the known ones"
printf 'command: touch %s ${{inputs.d}}\ninputs:\n  d:\n    path: azureml://datastores/nosuchstore/paths/x/\n    mode: download\n' "$marker" >"$job"
try "nosuchstore" "workspaceblobstore" "input 'd'"
[[ ! -d $FERRY_HOME/jobs ]] || [[ -z $(ls "$FERRY_HOME/jobs") ]] || fail "a job folder was created: $(ls "$FERRY_HOME/jobs")"

step "an unknown datastore in an output path"
printf 'command: touch %s\noutputs:\n  o:\n    path: azureml://datastores/nosuchstore/paths/x/\n    mode: upload\n' "$marker" >"$job"
try "nosuchstore" "output 'o'"

step "a missing job file"
expect_fail "cannot read job file" ferry run "$TEST_TMP/nope.yml"
