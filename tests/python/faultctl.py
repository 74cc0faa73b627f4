"""faultctl.py — the fault proxy's control endpoint (tests/fixtures/faultproxy.py) from
pytest: T8_FAULT_CTL names it. Shared by the fsspec tests that count requests."""
import json
import os
import urllib.request

import pytest


def fault(cmd, body=None):
    """POST <ctl>/cmd with body (clear, schedule, every, ...)."""
    req = urllib.request.Request(os.environ["T8_FAULT_CTL"] + "/" + cmd, data=(body or "").encode(), method="POST")
    urllib.request.urlopen(req, timeout=5).read()


def fault_stats():
    """The proxy's counters since the last clear."""
    return json.load(urllib.request.urlopen(os.environ["T8_FAULT_CTL"] + "/stats", timeout=5))


def fault_log():
    """'METHOD PATH' of every request since the last clear."""
    text = urllib.request.urlopen(os.environ["T8_FAULT_CTL"] + "/log", timeout=5).read().decode()
    return text.splitlines()


@pytest.fixture
def delayed():
    """A pytest fixture: every data request through the fault proxy waits 0.2 s (so reads in
    flight overlap and can be counted); the proxy is cleared afterwards. Import it into a
    test module to use it."""
    fault("clear")
    fault("delay", "0.2")
    fault("every", "1 delay")
    yield
    fault("clear")
    fault("delay", "0.3")
