"""Helpers for the tests of stateful clients (transactions, blocking commands, pub/sub, scripts,
connection state): RESP3 replies read byte for byte, moving one slot by hand, finding the backend
connections slotgate opened on a node, and a slotgate whose clients must AUTH first."""

import time

import redis

from cluster import HOST, RespError, Slotgate, encode_command, tag_for_slot, wait_until


def skey(slot, name):
    """A key in `slot` (by hashtag)."""
    return f"{{{tag_for_slot(slot)}}}:{name}"


def key_on(cluster, master, name, index=0):
    """A key whose slot `master` owns now."""
    return skey(cluster.slots_of(master)[index], name)


def is_redirect(reply):
    """True for a MOVED/ASK error reply (raw RespError, redis-py exception or text)."""
    text = str(reply)
    return isinstance(reply, (RespError, Exception)) and (text.startswith("MOVED ") or
                                                          text.startswith("ASK "))


# ----------------------------------------------------------------------------------------------
# RESP3
# ----------------------------------------------------------------------------------------------

def read_reply3(conn):
    """Reads one RESP2 or RESP3 reply from a RawConnection. Returns (value, raw bytes).
    Values: bytes (simple/bulk/verbatim), int (integer/big number), None (any null), bool,
    RespError (simple or blob error), ("double", text), list (array), ("set", [..]),
    ("push", [..]), ("map", [(k, v), ..]), ("attr", map, value)."""
    raw = bytearray()

    def line():
        data = conn._line()
        raw.extend(data + b"\r\n")
        return data

    def exact(n):
        data = conn._exact(n)
        raw.extend(data + b"\r\n")
        return data

    def one():
        data = line()
        kind, rest = data[:1], data[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            return RespError(rest.decode("utf-8", "replace"))
        if kind in (b":", b"("):
            return int(rest)
        if kind in (b"$", b"="):
            n = int(rest)
            return None if n < 0 else exact(n)
        if kind == b"!":
            return RespError(exact(int(rest)).decode("utf-8", "replace"))
        if kind == b"_":
            return None
        if kind == b",":
            return ("double", rest)
        if kind == b"#":
            return rest == b"t"
        if kind in (b"*", b"~", b">"):
            n = int(rest)
            if n < 0:
                return None
            items = [one() for _ in range(n)]
            if kind == b"*":
                return items
            return ("set" if kind == b"~" else "push", items)
        if kind == b"%":
            return ("map", [(one(), one()) for _ in range(int(rest))])
        if kind == b"|":
            attrs = [(one(), one()) for _ in range(int(rest))]
            return ("attr", attrs, one())
        raise ValueError(f"unexpected RESP3 type byte in line {data[:80]!r}")

    value = one()
    return value, bytes(raw)


def call3(conn, *args):
    """Sends one command on a RawConnection and reads one RESP2/RESP3 reply: (value, raw)."""
    conn.send(encode_command(*args))
    return read_reply3(conn)


def map_dict(value):
    """A RESP3 map value (or RESP2 flat array of pairs) as a dict."""
    if isinstance(value, tuple) and value[0] == "map":
        return dict(value[1])
    assert isinstance(value, list) and len(value) % 2 == 0, value
    return dict(zip(value[0::2], value[1::2]))


# ----------------------------------------------------------------------------------------------
# Cluster manipulation
# ----------------------------------------------------------------------------------------------

def move_slot(cluster, slot, dst, check_replicas=True):
    """Migrates one slot with its keys to master dst by hand (SETSLOT IMPORTING/MIGRATING,
    MIGRATE, SETSLOT NODE on every master), then waits for the cluster to agree."""
    src = cluster.slot_owners()[slot]
    if src is dst:
        return src
    cd, cs = cluster.client(dst), cluster.client(src)
    cd.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src.id)
    cs.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst.id)
    for _ in range(10000):
        keys = cs.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100)
        if not keys:
            break
        cs.execute_command("MIGRATE", dst.host, dst.port, "", 0, 5000, "KEYS", *keys)
    cd.execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst.id)
    cs.execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst.id)
    for m in cluster.masters():
        if m is not src and m is not dst:
            cluster.client(m).execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst.id)
    cluster.wait_stable(check_replicas=check_replicas)
    assert cluster.slot_owners()[slot] is dst
    return src


def other_master(cluster, node):
    return next(m for m in cluster.masters() if m is not node)


def live_nodes(cluster):
    return [n for n in cluster.nodes if n.proc is not None and n.proc.poll() is None]


def client_list(cluster, node):
    """CLIENT LIST of one node as dicts (strings)."""
    return cluster.client(node).client_list()


def blocked_clients(cluster, nodes=None):
    """Sum of INFO clients blocked_clients over nodes (default: live masters)."""
    total = 0
    for n in nodes or cluster.masters():
        total += int(cluster.client(n).info("clients").get("blocked_clients", 0))
    return total


# ----------------------------------------------------------------------------------------------
# A slotgate with a config file (users, backend credentials)
# ----------------------------------------------------------------------------------------------

class ConfiguredSlotgate(Slotgate):
    """A Slotgate started with `--config <yaml text>`; when probe_auth=(user, password) is given,
    the start-up probe authenticates first (with users configured, a bare SET gets NOAUTH)."""

    def __init__(self, binary, seeds, config_text, probe_auth=None, **kwargs):
        self.config_text = config_text
        self.probe_auth = probe_auth
        super().__init__(binary, seeds, **kwargs)

    def start(self):
        path = f"{self.dir}/slotgate.yaml"
        with open(path, "w") as f:
            f.write(self.config_text)
        if "--config" not in self.extra_args:
            self.extra_args = ["--config", path] + self.extra_args
        return super().start()

    def _wait_ready(self):
        if self.probe_auth is None:
            return super()._wait_ready()
        from cluster import _ExitedEarly
        deadline = time.monotonic() + self.READY_TIMEOUT
        last = None
        user, password = self.probe_auth
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise _ExitedEarly(f"slotgate exited during start-up with code {self.proc.returncode}")
            try:
                c = redis.Redis(host=HOST, port=self.port, username=user, password=password,
                                socket_timeout=2, socket_connect_timeout=1)
                try:
                    # DBSIZE goes to every primary: it answers once slotgate knows the cluster
                    # (PING is answered locally, before that).
                    c.dbsize()
                    return
                finally:
                    c.close()
            except (redis.RedisError, OSError) as e:
                last = e
            time.sleep(0.1)
        raise TimeoutError(f"slotgate not ready after {self.READY_TIMEOUT}s (last error: {last!r})")


def wait_for(pred, timeout, what):
    return wait_until(pred, timeout, interval=0.05, what=what)
