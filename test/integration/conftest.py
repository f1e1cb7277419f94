"""pytest fixtures for the integration tests: a real Redis Cluster on loopback, a slotgate in front
of it and a standalone redis-server to compare replies with, each started once per test module.

A test file is a module of plain `test_*` functions that name the fixtures they use:

    import sys

    import pytest

    # Only the settings that differ from the defaults; each is a keyword argument of
    # RedisCluster(...) or Slotgate(...) in test/support/cluster.py. Defaults: 3 masters with one
    # replica each, node timeout 2000 ms; slotgate with 2 threads, log level debug, no extra
    # arguments, admin port off.
    pytestmark = [pytest.mark.cluster(replicas_per_master=0, node_timeout=1000),
                  pytest.mark.slotgate(threads=1, log_level="info", admin=True)]


    def test_set_then_get(cluster, gate):
        r = gate.client()
        assert r.set("k", "v") is True
        assert cluster.client(cluster.owner_of("k")).get("k") == b"v"


    if __name__ == "__main__":
        sys.exit(pytest.main([__file__, *sys.argv[1:]]))

A TLS cluster is one mark away: `pytest.mark.cluster(tls=True)` (TLS and plain ports), "only"
(TLS alone) or "mutual" (TLS alone, client certificates required); the bus and replication are
TLS too, the certificates are made with openssl at start (cluster.certs, test/support/tls_certs.py)
and the `gate` then talks TLS to the nodes. `pytest.mark.slotgate(client_tls=True)` (or "mutual")
makes slotgate serve TLS clients as well: gate.client(tls=True), gate.cli_args(tls=True).

Fixtures (module scope: the tests of a file share them and run in file order, so a test may rely
on what an earlier one left behind only where the file says so):
  cluster    RedisCluster, started with the module's `cluster` mark
  gate       Slotgate in front of `cluster`, started with the module's `slotgate` mark
  reference  Reference, one standalone redis-server (test/support/reference.py)
A file that needs more (a second slotgate, a differently configured one) defines its own
module-scoped fixture next to its tests, like `gate_off` in test_topology.py.

After each passing test, every fixture it used that has a check_alive() method (a Slotgate) is
checked: a slotgate that died fails the test. When a test fails, the tail of the log of every
slotgate it used and of the cluster's nodes is added to its report. A slotgate that crashed or
exited badly when stopped fails the module's last test at teardown.

Run from the top of the repository (SLOTGATE_BIN defaults to build/slotgate):
    /usr/bin/python3 -m pytest test/integration/test_pipeline.py      # one file
    /usr/bin/python3 -m pytest -k test_pipeline_errors_stay_in_place  # one test, by name
`make test` runs each file as its own ctest test (`integration: test_x`, see test/CMakeLists.txt); a
new test_*.py here is picked up at the next build, with no CMake edit. `python3 test_x.py` (with
PYTHONPATH=test/support) hands the file to pytest too.
"""

import os
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "support"))
if not os.environ.get("SLOTGATE_BIN") and os.access(os.path.join(ROOT, "build", "slotgate"), os.X_OK):
    os.environ["SLOTGATE_BIN"] = os.path.join(ROOT, "build", "slotgate")

from cluster import RedisCluster, Slotgate, log, slotgate_binary, tail  # noqa: E402
from reference import Reference  # noqa: E402

GATE_LOG_LINES = 80
NODE_LOG_LINES = 20


def _settings(request, mark_name):
    mark = request.node.get_closest_marker(mark_name)
    return dict(mark.kwargs) if mark else {}


@pytest.fixture(scope="module")
def cluster(request):
    with RedisCluster(**_settings(request, "cluster")) as c:
        log(f"cluster up: {[n.addr + '/' + n.role for n in c.nodes]}")
        yield c


def gate_settings(request, cluster):
    """The module's `slotgate` mark, plus what a TLS cluster needs: its certificates and TLS to the
    nodes (presenting a client certificate when the nodes ask for one), unless the mark says."""
    settings = _settings(request, "slotgate")
    if cluster.tls:
        settings.setdefault("certs", cluster.certs)
        settings.setdefault("backend_tls", "mutual" if cluster.tls == "mutual" else True)
    return settings


@pytest.fixture(scope="module")
def gate(request, cluster):
    with Slotgate(slotgate_binary(), cluster.seeds(), **gate_settings(request, cluster)) as g:
        log(f"slotgate up on {g.addr}")
        yield g


@pytest.fixture(scope="module")
def reference():
    with Reference() as r:
        yield r


@pytest.hookimpl(trylast=True)
def pytest_runtest_call(item):
    """Runs after the test body, only if it passed: the slotgates it used must still be alive."""
    for value in item.funcargs.values():
        if hasattr(value, "check_alive"):
            value.check_alive()


def _slotgates(value):
    if isinstance(value, Slotgate):
        return [value]
    inner = getattr(value, "gate", None)  # a wrapper that starts its slotgate on first use
    return [inner] if isinstance(inner, Slotgate) else []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed or call.when != "call":
        return
    funcargs = getattr(item, "funcargs", {})
    for name, value in funcargs.items():
        for g in _slotgates(value):
            if g.dir:
                report.sections.append((f"tail of {g.logfile} ({name})", tail(g.logfile, GATE_LOG_LINES)))
    for value in funcargs.values():
        if isinstance(value, RedisCluster):
            for n in value.nodes:
                report.sections.append((f"tail of {n.logfile} ({n.addr})", tail(n.logfile, NODE_LOG_LINES)))
