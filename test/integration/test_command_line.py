"""The command line and start-up: configuration errors, --check-config, --version, and a
slotgate whose seeds do not answer yet (it must keep trying and answer -CLUSTERDOWN meanwhile)."""

import os
import re
import subprocess
import sys
import tempfile
import time

import pytest
import redis

from cluster import (HOST, free_port, log, slotgate_binary, spawn, stop_process,
                     wait_until)

BIN = slotgate_binary()
EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "config", "slotgate.example.yaml")


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30)


def test_version_and_help():
    out = run("--version")
    assert out.returncode == 0 and out.stdout.startswith("slotgate "), out
    # The version and the git revision it was built from (or "unknown" outside a git checkout).
    assert re.fullmatch(r"slotgate \d+\.\d+\.\d+ \(git [\w.-]+\)\n", out.stdout), out
    out = run("--help")
    assert out.returncode == 0 and "--seeds" in out.stdout and "--check-config" in out.stdout, out


def test_example_config_is_valid():
    out = run("--check-config", EXAMPLE)
    assert out.returncode == 0, out


def test_every_config_problem_is_listed_with_exit_2():
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write('listen: "nowhere"\nthreads: -1\ntimeouts:\n  connect_ms: abc\nbogus: 1\n'
                "limits:\n  max_pipeline: 0\n")
        path = f.name
    try:
        for args in (["--check-config", path], ["--config", path, "--seeds", "127.0.0.1:7000"]):
            out = run(*args)
            assert out.returncode == 2, out
            for needle in (":1: listen", ":2: threads", ":4: timeouts.connect_ms", ":5: bogus: unknown key",
                           ":7: limits.max_pipeline", "5 configuration problems"):
                assert needle in out.stderr, (needle, out.stderr)
    finally:
        os.unlink(path)


def test_no_seeds_and_bad_overrides_exit_2():
    out = run()
    assert out.returncode == 2 and "seeds: at least one seed is required" in out.stderr, out
    out = run("--seeds", "127.0.0.1:0")
    assert out.returncode == 2 and "--seeds" in out.stderr, out
    out = run("--seeds", "127.0.0.1:7000", "--listen", "no-port")
    assert out.returncode == 2 and "--listen" in out.stderr, out
    out = run("--seeds", "127.0.0.1:7000", "--log-level", "loud")
    assert out.returncode == 2 and "log.level" in out.stderr, out


def test_waits_for_a_seed_and_answers_clusterdown_meanwhile():
    """Seeds that answer nothing: slotgate stays up, says CLUSTERDOWN, and serves once a node
    appears at the seed address."""
    seed_port, listen_port = free_port(), free_port()
    work = tempfile.mkdtemp(prefix="slotgate-cli-")
    # No admin port: the default one (9121) may be taken by a demo (make run) on this machine.
    gate = spawn([BIN, "--seeds", f"{HOST}:{seed_port}", "--listen", f"{HOST}:{listen_port}", "--threads", "2",
                  "--admin-listen", "off"], os.path.join(work, "slotgate.log"))
    node = None
    try:
        client = redis.Redis(host=HOST, port=listen_port, socket_timeout=5)
        wait_until(lambda: _answers(client), 10, what="slotgate listening")
        for _ in range(3):
            try:
                client.set("k", "v")
                raise AssertionError("a write succeeded with no cluster")
            except redis.ResponseError as e:
                assert str(e).startswith("CLUSTERDOWN"), e
            time.sleep(0.3)
        assert gate.poll() is None, "slotgate exited while no seed answered"
        # A one-node cluster owning every slot appears at the seed address.
        node_dir = os.path.join(work, "node")
        os.makedirs(node_dir)
        node = spawn(["redis-server", "--port", str(seed_port), "--bind", HOST, "--cluster-enabled", "yes",
                      "--cluster-config-file", os.path.join(node_dir, "nodes.conf"), "--cluster-port",
                      str(free_port()), "--save", "", "--appendonly", "no", "--dir", node_dir],
                     os.path.join(node_dir, "redis.log"))
        direct = redis.Redis(host=HOST, port=seed_port, socket_timeout=5)
        wait_until(lambda: _answers(direct), 10, what="redis-server up")
        direct.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        wait_until(lambda: b"cluster_state:ok" in direct.execute_command("CLUSTER", "INFO"), 10,
                   what="one-node cluster ok")
        wait_until(lambda: _set_works(client), 15, what="slotgate serving after the seed appeared")
        assert direct.get("k") == b"v"
    finally:
        if node:
            stop_process(node)
        stop_process(gate)
        log(open(os.path.join(work, "slotgate.log")).read()[-1500:])


def _answers(client):
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


def _set_works(client):
    try:
        return client.set("k", "v")
    except redis.ResponseError:
        return False


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
