"""The unix socket (unix_socket / --unix-socket): plain clients served on it beside the TCP port
(pipelined, MULTI, pub/sub, redis-cli -s, redis-benchmark -s), its file mode, a stale file from a
crashed run replaced, a path a live process serves refused, the file kept on reload and removed on
exit, `listen: off` with the socket alone, and the configuration checks (exit 2, every problem).
"""

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

import pytest
import redis

from cluster import HOST, free_port, slotgate_binary, spawn, stop_process, tail, wait_until

DIR = tempfile.mkdtemp(prefix="slotgate-unix-")
SOCK = os.path.join(DIR, "slotgate.sock")
BIN = slotgate_binary()

# The module's slotgate serves SOCK beside its TCP port.
pytestmark = [pytest.mark.slotgate(extra_args=["--unix-socket", SOCK])]


@pytest.fixture(scope="module", autouse=True)
def _socket_dir():
    yield
    shutil.rmtree(DIR, ignore_errors=True)


def unix_client(path=SOCK, **kwargs):
    kwargs.setdefault("socket_timeout", 30)
    return redis.Redis(unix_socket_path=path, **kwargs)


def test_socket_file_and_mode(cluster, gate):
    st = os.stat(SOCK)
    assert stat.S_ISSOCK(st.st_mode), oct(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)  # unix_socket_perm's default


def test_commands_and_pipeline(cluster, gate):
    r = unix_client()
    assert r.ping()
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.set(f"unix:key:{i}", i)
    assert all(p.execute())
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.get(f"unix:key:{i}")
    assert p.execute() == [str(i).encode() for i in range(1000)]
    # The same data through TCP, and on the nodes themselves.
    assert gate.client().get("unix:key:999") == b"999"
    owner = cluster.owner_of("unix:key:5")
    assert cluster.client(owner).get("unix:key:5") == b"5"
    assert r.mget([f"unix:key:{i}" for i in range(0, 100, 10)]) == [str(i).encode() for i in range(0, 100, 10)]
    # CLIENT LIST shows the client as Redis does for its unix socket: addr=PATH:0.
    r.client_setname("unix-client")
    entry = next(c for c in r.client_list() if c.get("name") == "unix-client")
    assert entry["addr"] == SOCK + ":0", entry
    r.close()


def test_multi(cluster, gate):
    r = unix_client()
    p = r.pipeline(transaction=True)
    p.set("{unixtx}:a", 1)
    p.incr("{unixtx}:a")
    p.get("{unixtx}:a")
    assert p.execute() == [True, 2, b"2"]
    r.close()


def test_pubsub(cluster, gate):
    r = unix_client()
    sub = r.pubsub()
    sub.subscribe("unix:chan")
    wait_until(lambda: sub.get_message(timeout=0.5) is not None, 10, what="subscribe confirmation")
    # Published over TCP, received on the unix socket.
    wait_until(lambda: gate.client().publish("unix:chan", "hello") >= 1, 10, what="a subscriber")
    msg = wait_until(lambda: sub.get_message(timeout=0.5), 10, what="the message")
    assert msg["type"] == "message" and msg["data"] == b"hello", msg
    sub.close()
    r.close()


def test_redis_cli_and_benchmark(cluster, gate):
    out = subprocess.run(["redis-cli", "-s", SOCK, "set", "unix:cli", "v"], capture_output=True, text=True,
                         timeout=30)
    assert out.stdout.strip() == "OK", out
    out = subprocess.run(["redis-cli", "-s", SOCK, "get", "unix:cli"], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "v", out
    out = subprocess.run(["redis-benchmark", "-s", SOCK, "-n", "2000", "-c", "10", "-P", "8", "-t", "set,get", "-q"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "SET" in out.stdout and "GET" in out.stdout, out


def test_reload_keeps_the_socket(cluster, gate):
    before = os.stat(SOCK).st_ino
    gate.proc.send_signal(signal.SIGHUP)
    time.sleep(1)
    assert os.stat(SOCK).st_ino == before
    assert unix_client().ping()


def _start(args, logfile):
    proc = spawn([BIN, *args], logfile)
    return proc


def test_stale_file_replaced_live_one_refused(cluster, gate):
    # A live slotgate serves SOCK: a second one on the same path must refuse to start.
    log_path = os.path.join(DIR, "second.log")
    proc = _start(["--seeds", cluster.seeds(), "--listen", f"{HOST}:{free_port()}", "--admin-listen", "off",
                   "--unix-socket", SOCK], log_path)
    assert proc.wait(timeout=20) != 0
    assert "in use" in tail(log_path, 20), tail(log_path, 20)
    assert unix_client().ping()  # the first one still serves its socket

    # A socket file nobody listens on (what a crashed run leaves) is replaced.
    stale = os.path.join(DIR, "stale.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(stale)
    s.close()
    assert os.path.exists(stale)
    log_path = os.path.join(DIR, "stale.log")
    proc = _start(["--seeds", cluster.seeds(), "--listen", "off", "--admin-listen", "off",
                   "--unix-socket", stale], log_path)
    try:
        wait_until(lambda: _serves(stale), 20, what="slotgate on the replaced socket")
        assert "stale" in tail(log_path, 40), tail(log_path, 40)
    finally:
        code, _ = stop_process(proc, grace=15)
    assert code == 0, tail(log_path, 20)
    assert not os.path.exists(stale), "the socket file must be removed on exit"

    # A path that is not a socket is never removed.
    plain = os.path.join(DIR, "plain-file")
    with open(plain, "w") as f:
        f.write("keep me")
    log_path = os.path.join(DIR, "plain.log")
    proc = _start(["--seeds", cluster.seeds(), "--listen", "off", "--admin-listen", "off",
                   "--unix-socket", plain], log_path)
    assert proc.wait(timeout=20) != 0
    assert "not a socket" in tail(log_path, 20), tail(log_path, 20)
    assert open(plain).read() == "keep me"


def _serves(path):
    """slotgate answers on the socket with the cluster's map in hand (DBSIZE needs the topology;
    PING is answered before it is known)."""
    try:
        c = unix_client(path, socket_timeout=2)
        try:
            c.dbsize()
            return True
        finally:
            c.close()
    except (redis.RedisError, OSError):
        return False


def test_config_file_mode_listen_off_and_removal(cluster, gate):
    path = os.path.join(DIR, "only.sock")
    config = os.path.join(DIR, "only.yaml")
    seeds = ", ".join(f'"{n.addr}"' for n in cluster.masters())
    with open(config, "w") as f:
        f.write(f'listen: off\nunix_socket: {path}\nunix_socket_perm: "0600"\nseeds: [{seeds}]\nthreads: 2\n'
                f"admin:\n  listen: off\n")
    out = subprocess.run([BIN, "--check-config", config], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out
    log_path = os.path.join(DIR, "only.log")
    proc = _start(["--config", config], log_path)
    try:
        wait_until(lambda: _serves(path), 20, what="slotgate on the unix socket alone")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        # Both workers serve the socket: many connections at once all work.
        clients = [unix_client(path) for _ in range(20)]
        for i, c in enumerate(clients):
            assert c.set(f"unix:only:{i}", i)
        for c in clients:
            c.close()
        # Commands a client sent before SIGTERM (in the socket, or being answered) all get replies.
        u = socket.socket(socket.AF_UNIX)
        u.settimeout(30)
        u.connect(path)
        u.sendall(b"*2\r\n$4\r\nINCR\r\n$17\r\nunix:only:counter\r\n" * 500)
        proc.send_signal(signal.SIGTERM)
        received = b""
        while received.count(b"\r\n") < 500:
            chunk = u.recv(65536)
            if not chunk:
                break
            received += chunk
        u.close()
        assert received.split(b"\r\n")[:500] == [b":%d" % i for i in range(1, 501)], "a reply was lost"
        assert proc.wait(timeout=20) == 0, tail(log_path, 20)
    finally:
        stop_process(proc, grace=15)
    assert not os.path.exists(path), "the socket file must be removed on exit"


def test_config_problems_listed(cluster, gate):
    config = os.path.join(DIR, "bad.yaml")
    with open(config, "w") as f:
        f.write(f'listen: off\nunix_socket_perm: "0999"\nseeds: ["{HOST}:7000"]\n'
                f"unix_socket_x: 1\n")
    out = subprocess.run([BIN, "--check-config", config], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2, out
    assert "unix_socket_perm" in out.stderr and "octal" in out.stderr, out.stderr
    assert "did you mean" in out.stderr, out.stderr
    with open(config, "w") as f:
        f.write(f'listen: off\nseeds: ["{HOST}:7000"]\nunix_socket: {"/tmp/" + "x" * 120}\n')
    out = subprocess.run([BIN, "--check-config", config], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "at most 107" in out.stderr, out
    with open(config, "w") as f:
        f.write(f'listen: off\nseeds: ["{HOST}:7000"]\n')
    out = subprocess.run([BIN, "--check-config", config], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "nothing would serve clients" in out.stderr, out


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
