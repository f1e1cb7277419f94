"""Scripts through slotgate: slotgate remembers scripts seen in SCRIPT LOAD and EVAL, and when a
node answers NOSCRIPT to an EVALSHA (its script cache was flushed, a replica was promoted, ...) it
loads the script there and retries, invisibly to the client. An unknown sha still gets NOSCRIPT.
"""

import hashlib
import sys
import time

import pytest
import redis

from reference import norm
from cluster import log
from state_helpers import key_on, live_nodes

pytestmark = pytest.mark.cluster(node_timeout=1000)

NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."

SET_GET = "redis.call('SET', KEYS[1], ARGV[1]); return {redis.call('GET', KEYS[1]), ARGV[2]}"
INCR_BY = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
READ = "return redis.call('GET', KEYS[1])"


def sha(text):
    return hashlib.sha1(text.encode()).hexdigest()


def script_exists(cluster, node, digest):
    return cluster.client(node).execute_command("SCRIPT", "EXISTS", digest)[0] == 1


def test_script_load_then_evalsha_after_flush_on_each_master(cluster, gate):
    r = gate.client()
    digest = r.execute_command("SCRIPT", "LOAD", SET_GET)
    assert digest == sha(SET_GET).encode(), digest
    for m in cluster.masters():
        assert script_exists(cluster, m, digest.decode()), f"SCRIPT LOAD did not reach {m}"
    for i, m in enumerate(cluster.masters()):
        k = key_on(cluster, m, "sc:k", index=i)
        cluster.client(m).execute_command("SCRIPT", "FLUSH")
        assert not script_exists(cluster, m, digest.decode())
        got = r.evalsha(digest, 1, k, f"val{i}", "extra")
        assert got == [f"val{i}".encode(), b"extra"], got
        assert cluster.client(m).get(k) == f"val{i}".encode()
        assert script_exists(cluster, m, digest.decode()), f"slotgate did not load the script on {m}"
    # EVALSHA_RO as well (read-only variant).
    m = cluster.masters()[0]
    cluster.client(m).execute_command("SCRIPT", "FLUSH")
    d_read = r.execute_command("SCRIPT", "LOAD", READ)
    cluster.client(m).execute_command("SCRIPT", "FLUSH")
    k = key_on(cluster, m, "sc:k", index=0)
    assert r.execute_command("EVALSHA_RO", d_read, 1, k) == b"val0"


def test_eval_is_remembered(cluster, gate):
    r = gate.client()
    m = cluster.masters()
    k0 = key_on(cluster, m[0], "ev:n")
    r.delete(k0)
    assert r.eval(INCR_BY, 1, k0, 5) == 5  # EVAL on m[0] only
    digest = sha(INCR_BY)
    for node in cluster.masters():
        cluster.client(node).execute_command("SCRIPT", "FLUSH")
    assert r.evalsha(digest, 1, k0, 2) == 7
    # Also on masters where the script never ran.
    for i, node in enumerate(m[1:]):
        k = key_on(cluster, node, "ev:n")
        r.delete(k)
        assert not script_exists(cluster, node, digest)
        assert r.evalsha(digest, 1, k, 10 + i) == 10 + i
        assert cluster.client(node).get(k) == str(10 + i).encode()
    # A script run only through EVAL with a key-less call still counts.
    text = "return 'keyless-" + str(time.time()) + "'"
    assert r.eval(text, 0).startswith(b"keyless-")
    for node in cluster.masters():
        cluster.client(node).execute_command("SCRIPT", "FLUSH")
    assert r.evalsha(sha(text), 0).startswith(b"keyless-")


def test_unknown_sha_gets_noscript(cluster, gate, reference):
    k = key_on(cluster, cluster.masters()[1], "ns:k")
    with gate.raw() as g, reference.raw() as ref:
        for cmd in (["EVALSHA", "f" * 40, 0], ["EVALSHA", "a" * 40, 1, k],
                    ["EVALSHA", sha("return 'never loaded'"), 1, k, "arg"], ["EVALSHA_RO", "b" * 40, 1, k],
                    ["EVALSHA", "short", 0]):
            gv, rv = norm(g.call(*cmd)), norm(ref.call(*cmd))
            assert gv == rv, f"{cmd}: slotgate {gv!r}, redis {rv!r}"
        assert norm(g.call("EVALSHA", "f" * 40, 0)) == ("error", NOSCRIPT)
    # A script loaded directly on one node (not through slotgate) is not known to slotgate.
    m = cluster.masters()[2]
    text = "return 'direct-only'"
    d = cluster.client(m).execute_command("SCRIPT", "LOAD", text).decode()
    other = next(x for x in cluster.masters() if x is not m)
    try:
        gate.client().evalsha(d, 1, key_on(cluster, other, "ns:x"))
        raise AssertionError("EVALSHA of a script slotgate never saw succeeded on another node")
    except redis.ResponseError as e:
        assert str(e) == "No matching script. Please use EVAL.", e


def test_script_exists_and_flush_through_slotgate(cluster, gate):
    r = gate.client()
    d = r.execute_command("SCRIPT", "LOAD", "return 42").decode()
    assert r.execute_command("SCRIPT", "EXISTS", d, "0" * 40) == [1, 0]
    assert r.execute_command("SCRIPT", "FLUSH") in (b"OK", True)
    for m in cluster.masters():
        assert not script_exists(cluster, m, d)


def test_script_flush_through_slotgate_forgets_scripts(cluster, gate):
    """After a client's own SCRIPT FLUSH, EVALSHA gets NOSCRIPT as on a standalone Redis: slotgate
    must not bring flushed scripts back."""
    r = gate.client()
    text = "return 'flushed-" + str(time.time()) + "'"
    d = r.execute_command("SCRIPT", "LOAD", text).decode()
    k = key_on(cluster, cluster.masters()[0], "fl:k")
    assert r.evalsha(d, 1, k).startswith(b"flushed-")
    assert r.execute_command("SCRIPT", "FLUSH") in (b"OK", True)
    try:
        r.evalsha(d, 1, k)
        raise AssertionError("EVALSHA of a script flushed through slotgate still ran")
    except redis.ResponseError as e:
        assert str(e) == "No matching script. Please use EVAL.", e


def test_evalsha_after_failover_to_replica_that_never_saw_it(cluster, gate):
    """SCRIPT LOAD, then a replica that never saw it is promoted; EVALSHA through slotgate works."""
    r = gate.client()
    digest = r.execute_command("SCRIPT", "LOAD", SET_GET).decode()
    old = cluster.masters()[1]
    replica = next(n for n in cluster.replicas() if n.master_id == old.id)
    k = key_on(cluster, old, "fo:k", index=3)
    assert r.evalsha(digest, 1, k, "before", "x") == [b"before", b"x"]
    cluster.client(replica).execute_command("SCRIPT", "FLUSH")
    assert not script_exists(cluster, replica, digest)
    log(f"CLUSTER FAILOVER on {replica} (replica of {old})")
    assert cluster.client(replica).execute_command("CLUSTER", "FAILOVER") in (b"OK", True)
    wait_start = time.monotonic()
    while time.monotonic() - wait_start < 30:
        role = cluster.client(replica).execute_command("ROLE")[0]
        if role == b"master":
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"{replica} was not promoted within 30 s")
    cluster.wait_stable(30)
    assert cluster.owner_of(k).port == replica.port
    assert not script_exists(cluster, replica, digest)
    got = r.evalsha(digest, 1, k, "after", "y")  # must not surface NOSCRIPT (nor anything else)
    assert got == [b"after", b"y"], got
    assert cluster.client(replica).get(k) == b"after"
    assert script_exists(cluster, replica, digest)
    assert {n.port for n in live_nodes(cluster)} == {n.port for n in cluster.nodes}


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
