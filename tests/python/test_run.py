"""ferry.run: jobs from Python through the ferry program (run by t8021; see that script).

Environment (from t8021): T8_TMP (a scratch folder), T8_KEY (the account key of datastore
runds, which no message, record or repr may contain), T8_FERRY (build/ferry).
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import ferry

T = os.environ["T8_TMP"]
KEY = os.environ["T8_KEY"]
FERRY = os.environ["T8_FERRY"]


def job(name, text):
    path = os.path.join(T, name)
    with open(path, "w") as f:
        f.write(textwrap.dedent(text))
    return path


def test_success_returns_the_record_with_set_values_and_outputs(capfd):
    f = job("ok.yml", """\
        command: mkdir -p ${{outputs.o}} && echo "epochs=${{inputs.epochs}}" > ${{outputs.o}}/a.txt && echo ran-${{inputs.epochs}}
        inputs:
          epochs: 1
        outputs:
          o:
            type: uri_folder
            mode: upload
        """)
    rec = ferry.run(f, set={"inputs.epochs": 3})
    assert rec.status == "Completed" and rec.exit_code == 0, rec
    assert rec["name"] == rec.name and rec.name
    assert rec.inputs["epochs"]["literal"] == "3", rec.inputs
    uri = rec.outputs["o"]["uri"]
    assert uri.startswith("azureml://datastores/workspaceblobstore/paths/") and rec.name in uri, uri
    assert ferry.filesystem().cat_file(uri + "a.txt") == b"epochs=3\n"
    out = capfd.readouterr()
    assert "ran-3" in out.out  # the command's output passes through
    assert "ferry: job %s Completed (exit code 0)" % rec.name in out.err
    # the record is the CLI's
    shown = subprocess.run([FERRY, "job", "show", rec.name], capture_output=True, text=True, check=True).stdout
    assert "status:          Completed" in shown and "exit_code:       0" in shown
    assert json.loads(subprocess.run([FERRY, "job", "show", rec.name, "--json"], capture_output=True,
                                     check=True).stdout)["status"] == "Completed"


def test_a_failing_command_is_a_failed_record_with_its_exit_code():
    f = job("fail.yml", """\
        command: echo failing; exit 7
        """)
    rec = ferry.run(f, name="py-fail-%d" % os.getpid(), quiet=True)
    assert rec.name == "py-fail-%d" % os.getpid()
    assert rec.status == "Failed" and rec.exit_code == 7, rec


def test_a_bad_job_file_raises_job_error_with_file_and_line():
    f = job("bad.yml", """\
        command: echo hi
        inputs:
          epochs: {type: integer, default: x}
        """)
    with pytest.raises(ferry.JobError) as ei:
        ferry.run(f, quiet=True)
    assert isinstance(ei.value, ValueError)
    assert "bad.yml:3" in str(ei.value) and "inputs.epochs" in str(ei.value), ei.value
    with pytest.raises(ferry.JobError, match="no-such-job.yml"):
        ferry.run(os.path.join(T, "no-such-job.yml"), quiet=True)
    ok = job("ok2.yml", "command: echo hi\n")
    with pytest.raises(ferry.JobError, match="nope"):
        ferry.run(ok, set={"nope": 1}, quiet=True)


def test_no_credential_in_records_errors_or_reprs(capfd):
    f = job("ds.yml", """\
        command: cat ${{inputs.d}} && exit 3
        inputs:
          d:
            type: uri_file
            path: azureml://datastores/runds/paths/in.txt
            mode: download
        """)
    rec = ferry.run(f)
    assert rec.exit_code == 3 and rec.status == "Failed"
    assert KEY not in repr(rec) and KEY not in json.dumps(rec)
    bad = job("badds.yml", """\
        command: cat ${{inputs.d}}
        inputs:
          d:
            type: uri_file
            path: azureml://datastores/badkey/paths/in.txt
            mode: download
        """)
    try:
        r = ferry.run(bad)
        assert r.status == "Failed" and r.exit_code != 0, r
        text = repr(r)
    except ferry.JobError as e:
        text = str(e) + repr(e)
    assert KEY not in text
    out = capfd.readouterr()
    assert "hello from storage" in out.out
    assert KEY not in out.out and KEY not in out.err


def test_ctrl_c_cancels_the_job():
    marker, pidfile = os.path.join(T, "started"), os.path.join(T, "cmd.pid")
    f = job("slow.yml", """\
        command: echo $$ > %s && touch %s && exec sleep 120
        """ % (pidfile, marker))
    name = "py-cancel-%d" % os.getpid()
    script = textwrap.dedent("""\
        import sys, ferry
        try:
            ferry.run(sys.argv[1], name=sys.argv[2], quiet=True)
            print("finished")
        except KeyboardInterrupt:
            print("interrupted")
        """)
    p = subprocess.Popen([sys.executable, "-c", script, f, name], stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not os.path.exists(marker):
        assert time.time() < deadline and p.poll() is None, "the job did not start"
        time.sleep(0.1)
    pid = int(open(pidfile).read())
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=60)
    assert out.strip() == "interrupted", out
    rec = json.loads(subprocess.run([FERRY, "job", "show", name, "--json"], capture_output=True, check=True).stdout)
    assert rec["status"] == "Canceled", rec
    deadline = time.time() + 10
    while True:  # the command is gone (ferry waited for it before it exited)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        assert time.time() < deadline, "the job's command survived Ctrl-C"
        time.sleep(0.1)


def test_ferry_bin_names_the_program(monkeypatch):
    log = os.path.join(T, "wrapper.log")
    wrapper = os.path.join(T, "ferry-wrapper")
    with open(wrapper, "w") as w:
        w.write("#!/bin/sh\necho \"$@\" >> %s\nexec %s \"$@\"\n" % (log, FERRY))
    os.chmod(wrapper, 0o755)
    monkeypatch.setenv("FERRY_BIN", wrapper)
    rec = ferry.run(job("ok3.yml", "command: echo hi\n"), quiet=True)
    assert rec.status == "Completed"
    lines = open(log).read().splitlines()
    assert lines[0].startswith("run ") and lines[1] == "job show %s --json" % rec.name, lines
