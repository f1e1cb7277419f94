"""Checks shared by the TLS integration tests (test/integration/test_tls*.py)."""

import os
import re
import time

import redis

from cluster import HOST, Slotgate, log, slotgate_binary, tail, wait_until


def peer_ports(pid):
    """Remote ports of the established TCP connections process `pid` holds (from /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = []
    with open(f"/proc/{pid}/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and fields[9] in inodes:  # ESTABLISHED
                ports.append(int(fields[2].split(":")[1], 16))
    return ports


def warning_lines(text, words):
    """Warning and error lines of a slotgate log that contain one of `words` (any case)."""
    return [line for line in text.splitlines()
            if re.search(r" [WE] \[|\"level\": ?\"(warn|error)", line)
            and any(w in line.lower() for w in words)]


def assert_nodes_refused(cluster, backend_tls, reason_words):
    """A slotgate whose TLS links to the nodes must fail (untrusted, misnamed or expired
    certificates): one clear warning naming a node and the reason, /readyz 503 with a reason,
    clients get an error within seconds (never a hang), slotgate stays up. Returns /readyz's
    text."""
    with Slotgate(slotgate_binary(), cluster.seeds(), certs=cluster.certs, backend_tls=backend_tls,
                  admin=True, ready="listening", log_level="info") as g:
        wait_until(lambda: g.admin_get("/readyz")[0] == 503, 10, what="/readyz 503")
        r = g.client(socket_timeout=15)
        for i in range(3):
            t0 = time.monotonic()
            try:
                r.set(f"tls:refused:{i}", "x")
                raise AssertionError("a write succeeded through nodes slotgate must not trust")
            except redis.ResponseError as e:
                err = e
            took = time.monotonic() - t0
            assert took < 12, f"the error took {took:.1f} s"
        log(f"client error after {took:.2f}s: {err}")
        status, why = g.admin_get("/readyz")
        assert status == 503 and why.strip(), (status, why)
        # It says why: the nodes' certificates, not just "not ready".
        assert any(w in why.lower() for w in ("tls", "certificate")), f"/readyz does not say why: {why!r}"
        time.sleep(1.0)  # a few retries' worth, to count the log lines
        text = tail(g.logfile, 100000)
        lines = warning_lines(text, reason_words)
        assert lines, f"no warning naming the reason {reason_words}:\n{text[-3000:]}"
        assert any(f"{HOST}:{n.port}" in line for line in lines for n in cluster.nodes), lines[:5]
        log(f"/readyz: {why.strip()}; log: {lines[0]}")
        # One clear line per peer and cause, not one per attempt.
        assert len(lines) <= 10 * len(cluster.nodes), f"{len(lines)} lines: {lines[:5]}"
        assert g.alive()
        return why
