#!/usr/bin/python3
"""Generates proxy/command/command_table_data.cc from a real redis-server.

Starts a throw-away redis-server on a free loopback port (temp dir, no persistence), reads
COMMAND INFO (arity, flags, key specs, tips, subcommands) and COMMAND DOCS (group) and writes
one CommandSpec row per command and subcommand, sorted by name. The proxy's own handling of each
command (Handler, and from it Policy and Merge; ProxyFlag bits) comes from the hand-maintained
tables below, not from Redis. It needs a live server: there is no offline mode.

Usage:
  /usr/bin/python3 tools/gen_command_table.py            # rewrite the data file
  /usr/bin/python3 tools/gen_command_table.py --check    # exit 1 if the file is stale
Options: --redis-server PATH (default: redis-server on PATH), --output PATH, --port N (the
temporary server's loopback port; default: any free one).
Needs the redis module (redis-py) for /usr/bin/python3.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import redis

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUTPUT = os.path.join(REPO_ROOT, "proxy", "command", "command_table_data.cc")
SCRIPT_NAME = "tools/gen_command_table.py"

# ---------------------------------------------------------------------------------------------
# Proxy handling. Names are top-level commands or "container|subcommand".
#
# HANDLER: what slotgate does with a command (command_spec.h, enum Handler). Anything not listed
# is kForward, except: commands flagged "blocking" are kBlocking, unlisted CLIENT subcommands are
# kClientUnsupported, and CLUSTER subcommands (and the CLUSTER container) are kUnsupported.
# The Policy (where it goes) follows from the handler (HANDLER_POLICY); so does the Merge, from
# the response tip where Redis gives one (merge_of).
# ---------------------------------------------------------------------------------------------
HANDLER = {}


def _handle(handler, names):
    for name in names.split():
        assert name not in HANDLER, "listed twice: " + name
        HANDLER[name] = handler


# Routed by policy, nothing more.
_handle("kSplit", "mget mset del unlink exists touch")
_handle("kAllPrimaries", """
    keys dbsize flushall flushdb randomkey info
    script|kill
    function|load function|delete function|flush function|restore function|kill
""")
_handle("kAllNodes", "config|set config|resetstat")
_handle("kSlotArg", "cluster|countkeysinslot cluster|getkeysinslot")
_handle("kCursor", "scan")
_handle("kUnsupported", """
    monitor sync psync replicaof slaveof failover shutdown debug asking cluster
""")
# Routed by policy, with something more.
_handle("kPublish", "publish")
_handle("kConfigGet", "config|get")
_handle("kSlowlogGet", "slowlog|get")
_handle("kSlowlogLen", "slowlog|len")
_handle("kSlowlogReset", "slowlog|reset")
_handle("kSlowlogHelp", "slowlog|help")
_handle("kEval", "eval eval_ro")
_handle("kEvalsha", "evalsha evalsha_ro")
_handle("kScriptLoad", "script|load")
_handle("kScriptFlush", "script|flush")
_handle("kScriptExists", "script|exists")
_handle("kPubsubIntrospection", """
    pubsub|channels pubsub|numsub pubsub|numpat pubsub|shardchannels pubsub|shardnumsub
""")
# Answered by the proxy.
_handle("kPing", "ping")
_handle("kEcho", "echo")
_handle("kQuit", "quit")
_handle("kSelect", "select")
_handle("kReadMode", "readonly readwrite")
_handle("kClusterKeyslot", "cluster|keyslot")
_handle("kClusterInfo", "cluster|info")
_handle("kClusterSlots", "cluster|slots")
_handle("kClusterShards", "cluster|shards")
_handle("kClusterNodes", "cluster|nodes")
_handle("kClusterMyid", "cluster|myid")
# The client connection's state.
_handle("kMulti", "multi")
_handle("kExec", "exec")
_handle("kDiscard", "discard")
_handle("kWatch", "watch")
_handle("kUnwatch", "unwatch")
_handle("kBlockingStreamRead", "xread xreadgroup")
_handle("kWait", "wait")
_handle("kSubscribe", "subscribe")
_handle("kPsubscribe", "psubscribe")
_handle("kSsubscribe", "ssubscribe")
_handle("kUnsubscribe", "unsubscribe")
_handle("kPunsubscribe", "punsubscribe")
_handle("kSunsubscribe", "sunsubscribe")
_handle("kAuth", "auth")
_handle("kHello", "hello")
_handle("kReset", "reset")
_handle("kClientSetname", "client|setname")
_handle("kClientGetname", "client|getname")
_handle("kClientId", "client|id")
_handle("kClientInfo", "client|info")
_handle("kClientList", "client|list")
_handle("kClientKill", "client|kill")
_handle("kClientNoEvict", "client|no-evict")
_handle("kClientReply", "client|reply")
_handle("kClientGetredir", "client|getredir")
_handle("kClientHelp", "client|help")
_handle("kClientUnblock", "client|unblock")
_handle("kClientUnsupported", "client")

# Containers whose unlisted subcommands get one handler.
CONTAINER_HANDLER = {"client": "kClientUnsupported", "cluster": "kUnsupported"}

# The Policy of each handler (command_spec.h says the same beside each Handler).
HANDLER_POLICY = {
    "kForward": "kForward", "kSplit": "kSplit", "kAllPrimaries": "kAllPrimaries",
    "kAllNodes": "kAllNodes", "kSlotArg": "kSlotArg", "kCursor": "kCursor",
    "kUnsupported": "kUnsupported",
    "kPublish": "kForward", "kConfigGet": "kForward", "kSlowlogGet": "kForward",
    "kSlowlogLen": "kForward", "kSlowlogReset": "kForward", "kSlowlogHelp": "kForward",
    "kEval": "kForward", "kEvalsha": "kForward", "kScriptLoad": "kAllPrimaries",
    "kScriptFlush": "kAllPrimaries", "kScriptExists": "kAllPrimaries",
    "kPubsubIntrospection": "kAllPrimaries",
}
for _h in """kPing kEcho kQuit kSelect kReadMode kClusterKeyslot kClusterInfo kClusterSlots
             kClusterShards kClusterNodes kClusterMyid""".split():
    HANDLER_POLICY[_h] = "kLocal"
for _h in """kMulti kExec kDiscard kWatch kUnwatch kBlocking kBlockingStreamRead kWait kSubscribe
             kPsubscribe kSsubscribe kUnsubscribe kPunsubscribe kSunsubscribe kAuth kHello kReset
             kClientSetname kClientGetname kClientId kClientInfo kClientList kClientKill
             kClientNoEvict kClientReply kClientGetredir kClientHelp kClientUnblock
             kClientUnsupported""".split():
    HANDLER_POLICY[_h] = "kStateful"

# Merges the proxy chooses itself: Redis tags these "special" or not at all.
MERGE = {
    "randomkey": "kRandomNonNull",
    "info": "kInfo",
    # Channels live on every node (PUBLISH reaches them all) or on one shard: merged as a set.
    "pubsub|channels": "kUnion", "pubsub|shardchannels": "kUnion",
    "pubsub|numsub": "kSumByName", "pubsub|shardnumsub": "kSumByName",
    "pubsub|numpat": "kSum",
    # OK if any node stopped a script, else UNKILLABLE if one said so, else NOTBUSY.
    "script|kill": "kKillScript", "function|kill": "kKillScript",
}
RESPONSE_TIP_MERGE = {
    "kAggSum": "kSum", "kAggMin": "kMin", "kAggMax": "kMax", "kAggLogicalAnd": "kLogicalAnd",
    "kAggLogicalOr": "kLogicalOr", "kAllSucceeded": "kAllSucceeded",
    "kOneSucceeded": "kOneSucceeded", "kSpecial": "kNone",
}

# The proxy's attributes (command_spec.h, enum ProxyFlag), by name; the "admin" and "blocking"
# flags of Redis add some (proxy_flags_of).
PROXY_FLAGS = {}


def _flag(flag, names):
    for name in names.split():
        PROXY_FLAGS.setdefault(name, []).append(flag)


_flag("kProxyNoAuth", "auth hello quit ping")
_flag("kProxyAdminOnly", """
    flushall flushdb keys client|kill script|flush script|kill
    function|flush function|delete function|restore function|load function|kill config|set
""")
_flag("kProxyOverBudget", "info")
_flag("kProxySubscribedOk", """
    subscribe psubscribe ssubscribe unsubscribe punsubscribe sunsubscribe ping quit reset
""")
_flag("kProxyNotQueued", "multi exec discard watch quit reset")
_flag("kProxyRunsAlone", """
    exec watch wait reset subscribe psubscribe ssubscribe unsubscribe punsubscribe sunsubscribe
""")
_flag("kProxyWaits", "wait")
# Scripts may run long (past busy-reply-threshold): a lane of their own, so they never hold up the
# shared pipelined connection.
_flag("kProxySlow", "eval eval_ro evalsha evalsha_ro fcall fcall_ro")
# Keyless: always the owner of slot 0, so a script, its KILL and FUNCTION STATS meet on one node.
_flag("kProxyOnePrimary", "eval eval_ro evalsha evalsha_ro fcall fcall_ro function|stats")
PROXY_FLAG_ORDER = ["kProxyNoAuth", "kProxyAdminOnly", "kProxyOverBudget", "kProxySubscribedOk",
                    "kProxyNotQueued", "kProxyRunsAlone", "kProxyWaits", "kProxySlow",
                    "kProxyOnePrimary", "kProxyIdleLink"]

# ---------------------------------------------------------------------------------------------
# Mapping of Redis's words onto command_spec.h.
# ---------------------------------------------------------------------------------------------
COMMAND_FLAGS = {
    "write": "kFlagWrite",
    "readonly": "kFlagReadonly",
    "denyoom": "kFlagDenyOom",
    "admin": "kFlagAdmin",
    "pubsub": "kFlagPubsub",
    "noscript": "kFlagNoscript",
    "blocking": "kFlagBlocking",
    "loading": "kFlagLoading",
    "stale": "kFlagStale",
    "skip_monitor": "kFlagSkipMonitor",
    "skip_slowlog": "kFlagSkipSlowlog",
    "fast": "kFlagFast",
    "no_auth": "kFlagNoAuth",
    "may_replicate": "kFlagMayReplicate",
    "no_multi": "kFlagNoMulti",
    "movablekeys": "kFlagMovableKeys",
    "allow_busy": "kFlagAllowBusy",
    "no_mandatory_keys": "kFlagNoMandatoryKeys",
}  # others ("asking", "no_async_loading", ...) are ignored

KEY_FLAGS = {
    "ro": "kKeyRO",
    "rw": "kKeyRW",
    "ow": "kKeyOW",
    "rm": "kKeyRM",
    "incomplete": "kKeyIncomplete",
    "variable_flags": "kKeyVariableFlags",
}  # others (access/update/insert/delete, not_key) have no bit

REQUEST_TIPS = {
    "all_nodes": "kAllNodes",
    "all_shards": "kAllShards",
    "multi_shard": "kMultiShard",
    "special": "kSpecial",
}
RESPONSE_TIPS = {
    "one_succeeded": "kOneSucceeded",
    "all_succeeded": "kAllSucceeded",
    "agg_logical_and": "kAggLogicalAnd",
    "agg_logical_or": "kAggLogicalOr",
    "agg_min": "kAggMin",
    "agg_max": "kAggMax",
    "agg_sum": "kAggSum",
    "special": "kSpecial",
}


def fail(msg):
    sys.exit("gen_command_table: " + msg)


# ---------------------------------------------------------------------------------------------
# Temporary server.
# ---------------------------------------------------------------------------------------------
def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TempServer:
    """A redis-server on a free loopback port in a temp dir; stopped and removed on exit."""

    def __init__(self, binary, port=None):
        self.binary = binary
        self.fixed_port = port
        self.proc = None
        self.dir = None
        self.port = None

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="slotgate-gen-")
        # The port may be taken between free_port() and the bind: retry a few times.
        for _ in range(1 if self.fixed_port else 5):
            self.port = self.fixed_port or free_port()
            self.proc = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                 "--dir", self.dir, "--save", "", "--appendonly", "no",
                 "--daemonize", "no", "--logfile", os.path.join(self.dir, "redis.log")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if self._wait_ready():
                return self
            self._stop()
        self._cleanup()
        fail("could not start %s (see its log in a temp dir)" % self.binary)

    def _wait_ready(self):
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1).ping()
                return True
            except redis.exceptions.RedisError:
                time.sleep(0.05)
        return False

    def _stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def _cleanup(self):
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __exit__(self, *exc):
        self._stop()
        self._cleanup()


def raw_command(conn, *args):
    """Sends one command and returns the raw RESP2 reply (no redis-py response callbacks)."""
    conn.send_command(*args)
    return conn.read_response()


def fetch(binary, port=None):
    with TempServer(binary, port) as server:
        client = redis.Redis(host="127.0.0.1", port=server.port)
        version = client.info("server")["redis_version"]
        conn = client.connection_pool.get_connection("COMMAND")
        try:
            info = raw_command(conn, "COMMAND", "INFO")
            docs = raw_command(conn, "COMMAND", "DOCS")
        finally:
            client.connection_pool.release(conn)
    return version, info, docs


# ---------------------------------------------------------------------------------------------
# Parsing the raw replies.
# ---------------------------------------------------------------------------------------------
def text(b):
    return b.decode() if isinstance(b, bytes) else b


def pairs(flat):
    """A RESP2 flattened map [k1, v1, k2, v2, ...] as a dict with str keys."""
    return {text(flat[i]): flat[i + 1] for i in range(0, len(flat), 2)}


def parse_groups(docs):
    groups = {}

    def walk(name, fields):
        fields = pairs(fields)
        groups[text(name)] = text(fields.get("group", b""))
        subs = fields.get("subcommands") or []
        for i in range(0, len(subs), 2):
            walk(subs[i], subs[i + 1])

    for i in range(0, len(docs), 2):
        walk(docs[i], docs[i + 1])
    return groups


def parse_key_spec(raw, where):
    spec = pairs(raw)
    begin = pairs(spec["begin_search"])
    find = pairs(spec["find_keys"])
    out = {"flags": [text(f) for f in spec.get("flags", [])]}

    begin_type = text(begin["type"])
    begin_spec = pairs(begin["spec"])
    if begin_type == "index":
        out["begin"] = ("kIndex", int(begin_spec["index"]))
    elif begin_type == "keyword":
        out["begin"] = ("kKeyword", text(begin_spec["keyword"]).upper(),
                        int(begin_spec["startfrom"]))
    elif begin_type == "unknown":
        out["begin"] = ("kUnknown",)
    else:
        fail("%s: unexpected begin_search type %r" % (where, begin_type))

    find_type = text(find["type"])
    find_spec = pairs(find["spec"])
    if find_type == "range":
        out["find"] = ("kRange", int(find_spec["lastkey"]), int(find_spec["keystep"]),
                       int(find_spec["limit"]))
    elif find_type == "keynum":
        out["find"] = ("kKeynum", int(find_spec["keynumidx"]), int(find_spec["firstkey"]),
                       int(find_spec["keystep"]))
    elif find_type == "unknown":
        out["find"] = ("kUnknown",)
    else:
        fail("%s: unexpected find_keys type %r" % (where, find_type))
    return out


def parse_command(raw, groups):
    # COMMAND INFO row: name, arity, flags, first, last, step, acl categories, tips, key specs,
    # subcommands.
    name = text(raw[0]).lower()
    cmd = {
        "name": name,
        "arity": int(raw[1]),
        "flags": [text(f) for f in raw[2]],
        "tips": [text(t) for t in raw[7]],
        "key_specs": [parse_key_spec(s, name) for s in raw[8]],
        "subcommands": sorted((parse_command(s, groups) for s in raw[9]),
                              key=lambda c: c["name"]),
        "group": groups.get(name, ""),
    }
    if name not in groups:
        print("warning: no COMMAND DOCS group for %s" % name, file=sys.stderr)
    return cmd


# ---------------------------------------------------------------------------------------------
# Policy and tips.
# ---------------------------------------------------------------------------------------------
def handler_of(cmd, container):
    name = cmd["name"]
    if name in HANDLER:
        return HANDLER[name]
    if container in CONTAINER_HANDLER:
        return CONTAINER_HANDLER[container]
    if "blocking" in cmd["flags"]:
        return "kBlocking"
    return "kForward"


def merge_of(cmd, policy, response_tip):
    """The reply merge of a split or fanned-out command; kNone for the rest."""
    if cmd["name"] in MERGE:
        return MERGE[cmd["name"]]
    if policy == "kAllNodes":
        return "kAllSucceeded"
    if policy not in ("kSplit", "kAllPrimaries"):
        return "kNone"
    if response_tip == "kDefault":
        return "kArrayByIndex" if policy == "kSplit" else "kConcat"
    return RESPONSE_TIP_MERGE[response_tip]


def proxy_flags_of(cmd, policy):
    flags = set(PROXY_FLAGS.get(cmd["name"], []))
    if "admin" in cmd["flags"]:
        flags.add("kProxyAdminOnly")
    if "blocking" in cmd["flags"]:
        flags.update(("kProxyRunsAlone", "kProxyWaits"))
    # What Redis serves while a script is busy, when slotgate forwards it (SCRIPT KILL, FUNCTION
    # KILL, FUNCTION STATS): on a link with nothing in flight, so it reaches the node at once.
    # (Not the replication commands Redis flags admin, such as REPLCONF.)
    if ("allow_busy" in cmd["flags"] and "admin" not in cmd["flags"]
            and policy in ("kForward", "kAllPrimaries")):
        flags.add("kProxyIdleLink")
    return [f for f in PROXY_FLAG_ORDER if f in flags]


def tips_of(cmd):
    request, response, nondeterministic = "kDefault", "kDefault", False
    for tip in cmd["tips"]:
        kind, _, value = tip.partition(":")
        if kind == "request_policy":
            if value not in REQUEST_TIPS:
                fail("%s: unknown request policy %r" % (cmd["name"], value))
            request = REQUEST_TIPS[value]
        elif kind == "response_policy":
            if value not in RESPONSE_TIPS:
                fail("%s: unknown response policy %r" % (cmd["name"], value))
            response = RESPONSE_TIPS[value]
        elif tip == "nondeterministic_output":
            nondeterministic = True
        # Other tips (nondeterministic_output_order) are not represented.
    return request, response, nondeterministic


def check_names(commands):
    known = set()
    for cmd in commands:
        known.add(cmd["name"])
        known.update(s["name"] for s in cmd["subcommands"])
    for table, names in (("HANDLER", HANDLER), ("MERGE", MERGE), ("PROXY_FLAGS", PROXY_FLAGS)):
        unknown = sorted(set(names) - known)
        if unknown:
            fail("%s names unknown commands: %s" % (table, ", ".join(unknown)))
    missing = sorted(set(HANDLER.values()) - set(HANDLER_POLICY))
    if missing:
        fail("HANDLER_POLICY lacks " + ", ".join(missing))


# ---------------------------------------------------------------------------------------------
# Emitting C++.
# ---------------------------------------------------------------------------------------------
def ident(name):
    """"object|encoding" -> "ObjectEncoding", "restore-asking" -> "RestoreAsking"."""
    return "".join(part.capitalize() for part in re.split(r"[^a-z0-9]+", name) if part)


WIDTH = 100


def wrap(lines, indent, atoms):
    """Appends "{atom atom ...}," greedily wrapped at WIDTH; continuation lines get one more space.

    Each atom carries its own trailing separator ("," or " |")."""
    line = indent + "{"
    for i, atom in enumerate(atoms):
        piece = atom + ("}," if i == len(atoms) - 1 else "")
        candidate = line + ("" if line.endswith("{") else " ") + piece
        if len(candidate) > WIDTH and not line.endswith("{"):
            lines.append(line)
            line = indent + " " + piece
        else:
            line = candidate
    lines.append(line)


def flag_atoms(names, last):
    """["kA |", "kB,"] for names [kA, kB]; "0," when empty. last: drop the trailing comma."""
    if not names:
        return ["0" if last else "0,"]
    atoms = [n + " |" for n in names[:-1]]
    atoms.append(names[-1] + ("" if last else ","))
    return atoms


def cpp_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def key_spec_atoms(spec):
    # Every field is named (GCC's -Wmissing-field-initializers wants them all), unused ones as 0.
    index, keyword, startfrom = 0, "nullptr", 0
    lastkey, keystep, limit, keynumidx, firstkey = 0, 0, 0, 0, 0
    begin, find = spec["begin"], spec["find"]
    if begin[0] == "kIndex":
        index = begin[1]
    elif begin[0] == "kKeyword":
        keyword, startfrom = cpp_string(begin[1]), begin[2]
    if find[0] == "kRange":
        lastkey, keystep, limit = find[1], find[2], find[3]
    elif find[0] == "kKeynum":
        keynumidx, firstkey, keystep = find[1], find[2], find[3]
    atoms = [
        ".begin = BeginSearch::%s," % begin[0], ".index = %d," % index,
        ".keyword = %s," % keyword, ".startfrom = %d," % startfrom,
        ".find = FindKeys::%s," % find[0], ".lastkey = %d," % lastkey,
        ".keystep = %d," % keystep, ".limit = %d," % limit,
        ".keynumidx = %d," % keynumidx, ".firstkey = %d," % firstkey,
    ]
    bits = [KEY_FLAGS[f.lower()] for f in spec["flags"] if f.lower() in KEY_FLAGS]
    flags = flag_atoms(bits, last=True)
    flags[0] = ".flags = " + flags[0]
    return atoms + flags


def emit_row(cmd, container, lines, indent="    "):
    # Counts must fit CommandSpec's key_spec_count (uint8_t) and subcommand_count (uint16_t).
    if len(cmd["key_specs"]) > 255 or len(cmd["subcommands"]) > 65535:
        fail("%s: too many key specs or subcommands for CommandSpec" % cmd["name"])
    request, response, nondeterministic = tips_of(cmd)
    atoms = [cpp_string(cmd["name"]) + ",", cpp_string(cmd["group"]) + ",", "%d," % cmd["arity"]]
    atoms += flag_atoms([COMMAND_FLAGS[f] for f in cmd["flags"] if f in COMMAND_FLAGS], last=False)
    if cmd["key_specs"]:
        atoms += ["kKeys%s," % ident(cmd["name"]), "%d," % len(cmd["key_specs"])]
    else:
        atoms += ["nullptr,", "0,"]
    if cmd["subcommands"]:
        atoms += ["kSub%s," % ident(cmd["name"]), "%d," % len(cmd["subcommands"])]
    else:
        atoms += ["nullptr,", "0,"]
    handler = handler_of(cmd, container)
    policy = HANDLER_POLICY[handler]
    atoms += ["RequestTip::%s," % request, "ResponseTip::%s," % response,
              "%s," % ("true" if nondeterministic else "false"),
              "Policy::%s," % policy, "Handler::%s," % handler,
              "Merge::%s," % merge_of(cmd, policy, response)]
    atoms += flag_atoms(proxy_flags_of(cmd, policy), last=True)
    wrap(lines, indent, atoms)


def emit_key_spec_arrays(cmd, lines):
    if not cmd["key_specs"]:
        return
    lines.append("constexpr KeySpec kKeys%s[] = {" % ident(cmd["name"]))
    for spec in cmd["key_specs"]:
        wrap(lines, "    ", key_spec_atoms(spec))
    lines.append("};")


def render(version, commands):
    lines = [
        "// GENERATED FILE, DO NOT EDIT BY HAND.",
        "// Generated by %s from redis-server %s (COMMAND INFO, COMMAND DOCS)." % (
            SCRIPT_NAME, version),
        "// To change a row (e.g. a Handler), edit the script and regenerate:",
        "//   /usr/bin/python3 %s" % SCRIPT_NAME,
        "// Rows: {name, group, arity, flags,",
        "//        key_specs, key_spec_count, subcommands, subcommand_count,",
        "//        request_tip, response_tip, nondeterministic, policy, handler, merge, proxy_flags}",
        "#include <span>",
        "",
        "#include \"proxy/command/command_table.h\"",
        "",
        "namespace slotgate::command {",
        "namespace {",
        "",
        "// Key specs, one array per command or subcommand that has any.",
    ]
    seen = {}
    for cmd in commands:
        for c in [cmd] + cmd["subcommands"]:
            other = seen.setdefault(ident(c["name"]), c["name"])
            if other != c["name"]:
                fail("identifier clash: %s and %s" % (other, c["name"]))
            emit_key_spec_arrays(c, lines)
    lines.append("")
    lines.append("// Subcommands of container commands, sorted by name.")
    for cmd in commands:
        if not cmd["subcommands"]:
            continue
        lines.append("constexpr CommandSpec kSub%s[] = {" % ident(cmd["name"]))
        for sub in cmd["subcommands"]:
            emit_row(sub, cmd["name"], lines)
        lines.append("};")
    lines.append("")
    lines.append("// Top-level commands, sorted by name (findCommand binary-searches this).")
    lines.append("constexpr CommandSpec kCommands[] = {")
    for cmd in commands:
        emit_row(cmd, None, lines)
    lines.append("};")
    lines.append("")
    lines.append("}  // namespace")
    lines.append("")
    lines.append("std::span<const CommandSpec> allCommands() { return kCommands; }")
    lines.append("")
    lines.append("}  // namespace slotgate::command")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-server", default=shutil.which("redis-server") or "redis-server")
    parser.add_argument("--output", default=DEFAULT_OUTPUT)
    parser.add_argument("--port", type=int, default=None,
                        help="loopback port for the temporary server (default: any free one)")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the output file differs")
    args = parser.parse_args()

    version, info, docs = fetch(args.redis_server, args.port)
    if not version.startswith("7.0."):
        print("warning: the table is meant to come from Redis 7.0, got %s" % version,
              file=sys.stderr)
    groups = parse_groups(docs)
    commands = sorted((parse_command(c, groups) for c in info), key=lambda c: c["name"])
    check_names(commands)
    out = render(version, commands)

    subs = sum(len(c["subcommands"]) for c in commands)
    if args.check:
        try:
            with open(args.output) as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != out:
            print("%s is stale; regenerate with %s" % (args.output, SCRIPT_NAME), file=sys.stderr)
            return 1
        print("%s is up to date (%d commands, %d subcommands)" % (args.output, len(commands), subs))
        return 0
    with open(args.output, "w") as f:
        f.write(out)
    print("wrote %s: %d commands, %d subcommands, redis %s" % (
        args.output, len(commands), subs, version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
