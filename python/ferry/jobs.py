"""ferry.run — run a command job (Azure ML's job YAML) from Python and get its record.

    job = ferry.run("job.yml", set={"inputs.epochs": 3})
    job.status, job.exit_code, job.outputs["model"]["uri"]

The job runs in the `ferry` program, spawned next to the library (build/ferry beside
build/libferry.so, or $FERRY_BIN, or `ferry` on PATH), not inside the interpreter: running a job
forks the command, installs signal handlers and waits for children, none of which a library
may do to a Python process (docs/architecture.md, "Python"). Its stdout and stderr pass through
to this process's; when it ends, its record is read with `ferry job show NAME --json`.

Ctrl-C: the job runs in its own session (the terminal's SIGINT reaches only Python), and a
KeyboardInterrupt while waiting is forwarded to it as one SIGINT, so ferry cancels the job as
`ferry run` does on Ctrl-C (the command stopped, outputs not uploaded, the record Canceled);
then the KeyboardInterrupt goes on.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading

from ferry._lib import _lib_path

__all__ = ["run", "JobError", "JobRecord"]


class JobError(ValueError):
    """The job could not be run: a bad job file, a bad --set, an unknown datastore ... The
    message is ferry's (file and line where it has them; never a credential)."""


class JobRecord(dict):
    """The job's record (`ferry job show NAME --json`): name, status (Completed, Failed,
    Canceled), exit_code, start_time, end_time, inputs, outputs (by name), folder, ... as keys
    and as attributes."""

    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError:
            raise AttributeError(k) from None


_SUMMARY = re.compile(r"^ferry: job (\S+) (\w+) \(exit code (-?\d+)\)\s*$")


def ferry_bin():
    """The ferry program: $FERRY_BIN, else next to libferry.so, else on PATH."""
    env = os.environ.get("FERRY_BIN")
    if env:
        return env
    try:
        cand = os.path.join(os.path.dirname(_lib_path()), "ferry")
        if os.access(cand, os.X_OK):
            return cand
    except ImportError:
        pass
    found = shutil.which("ferry")
    if found:
        return found
    raise FileNotFoundError("ferry: the ferry program was not found next to libferry.so or on PATH "
                            "(run `make`, or set FERRY_BIN)")


def _value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return str(v)


def run(job_file, set=None, name=None, compute=None, home=None, env=None, quiet=False):  # noqa: A002 — Azure's word
    """Run job file `job_file` and return its JobRecord once it has ended (a failed command is a
    record with status Failed and its exit code, not an exception). set: {"inputs.epochs": 3, ...}
    as `ferry run --set`; name, compute: as `--name`, `--compute`; home: the workspace
    ($FERRY_HOME); env: extra environment for ferry (settings such as RSLEX_DOWNLOADER_THREADS);
    quiet: do not echo ferry's stderr. Raises JobError when ferry refuses the job (bad job file),
    FileNotFoundError when there is no ferry program."""
    argv = [ferry_bin(), "run", os.fspath(job_file)]
    if name is not None:
        argv += ["--name", str(name)]
    if compute is not None:
        argv += ["--compute", str(compute)]
    for k, v in (set or {}).items():
        argv += ["--set", "%s=%s" % (k, _value(v))]
    e = dict(os.environ)
    if home is not None:
        e["FERRY_HOME"] = os.fspath(home)
    e.update({k: str(v) for k, v in (env or {}).items()})
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, env=e, start_new_session=True)
    lines = []

    def pump():
        for raw in p.stderr:
            line = raw.decode("utf-8", "replace")
            lines.append(line)
            if not quiet:
                try:
                    sys.stderr.write(line)
                    sys.stderr.flush()
                except (OSError, ValueError):
                    pass

    th = threading.Thread(target=pump, name="ferry-run-stderr", daemon=True)
    th.start()
    try:
        rc = p.wait()
    except KeyboardInterrupt:
        p.send_signal(signal.SIGINT)  # ferry cancels the job and records it
        try:
            p.wait()
        except KeyboardInterrupt:
            p.kill()
            p.wait()
        th.join()
        raise
    th.join()
    p.stderr.close()
    job = None
    for line in reversed(lines):
        m = _SUMMARY.match(line)
        if m:
            job = m.group(1)
            break
    if job is None:
        errs = [ln.strip()[len("ferry: error: "):] for ln in lines if ln.startswith("ferry: error: ")]
        msg = "; ".join(errs) or "".join(lines[-5:]).strip() or "ferry run exited with %d" % rc
        raise JobError(msg)
    show = subprocess.run([argv[0], "job", "show", job, "--json"], stdin=subprocess.DEVNULL,
                          capture_output=True, env=e)
    if show.returncode != 0:
        raise JobError("job %s ran, but its record cannot be read: %s"
                       % (job, show.stderr.decode("utf-8", "replace").strip()))
    rec = JobRecord(json.loads(show.stdout))
    rec["outputs"] = {o.get("name"): o for o in rec.get("outputs") or []}
    rec["inputs"] = {i.get("name"): i for i in rec.get("inputs") or []}
    return rec
