#!/usr/bin/python3
"""The layering rules of slotgate, and their check (ctest: `layers`, so `make test` runs it).

The rules live here and nowhere else. A folder ("layer") may include its own headers and those of
the layers it builds on, directly or through them; never a layer above or beside it. A library
from outside the project may be included only by the layers named for it below. The folder
libraries in the CMakeLists.txt files are checked against the same rules, so a link line cannot
allow what an include may not do.

Usage: check_layers.py [SOURCE_DIR]   (default: the repository this script is in)
Prints each offending line as path:line and exits 1; prints one line and exits 0 when all is kept.
"""

import os
import re
import sys

# Each layer (a folder, relative to the repository) and the layers it builds on directly.
LAYERS = {
    "common": [],                                    # pure helpers: buffers, crc16, log, stats
    "common/uv": ["common"],                         # the only libuv user
    "common/tls": ["common"],                        # TLS contexts and the byte filter (OpenSSL)
    "config": ["common"],                            # settings; the only YAML user
    "proxy/resp": ["common"],                        # RESP bytes (pure)
    "proxy/command": ["proxy/resp"],                 # command table, keys, slots (pure)
    "proxy/route": ["proxy/command"],                # plan: where a command goes (pure)
    "proxy/cluster": ["proxy/resp"],                 # the cluster model and its parsers (pure)
    "proxy/backend": ["proxy/resp", "config", "common/uv", "common/tls"],  # talking to a node
    "proxy/discovery": ["proxy/cluster", "proxy/command", "proxy/backend"],  # tracker, bus observer
    "proxy/request": ["proxy/route", "proxy/cluster", "proxy/backend"],   # a request's life
    "proxy/state": ["proxy/request"],                # a client's Redis connection state
    "proxy/session": ["proxy/state", "proxy/request"],  # one client's I/O
    "proxy/admin": ["proxy/session"],                # HTTP admin, metrics, INFO, readiness
    "proxy": ["proxy/admin", "proxy/discovery", "proxy/session"],  # main, server, worker: wiring
}

# Code that is no layer, and the layers whose headers it may include.
CONSUMERS = {
    "fuzz": ["config", "proxy/route", "proxy/cluster"],  # fuzz targets: the pure parsers only
    "test/support": list(LAYERS),                      # fakes and helpers for the unit tests
}
# test/unit/X may include what the layer it tests (common, config, uv: common/uv, tls: common/tls,
# or proxy/X) may, and test/support.
UNIT_TESTS = "test/unit"

# Libraries and system headers with a home: the include's prefix and the only places that may use it.
EXTERNAL = [
    ("uv.h", ["common/uv"]),
    ("sys/socket.h", ["common/uv"]),
    ("netinet/", ["common/uv"]),
    ("liburing.h", ["common/uv"]),   # the io_uring transport
    ("sys/mman.h", ["common/uv", "common"]),  # common: the slab pool maps its slabs
    ("arpa/inet.h", ["common/uv", "common/tls", "config"]),
    ("yaml-cpp/", ["config"]),
    ("spdlog/", ["common"]),       # everyone else logs through common/log.h
    ("openssl/", ["common", "common/tls", "test/unit/tls"]),  # common: the digests only
    ("CLI/", ["proxy"]),           # the command line: main.cc
    ("catch2/", ["test"]),
]

SOURCE_ROOTS = ["common", "config", "proxy", "test", "fuzz"]
SUFFIXES = (".h", ".hh", ".hpp", ".cc", ".cpp", ".c")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def closure(layer):
    """The layers `layer` may include: itself and everything it builds on, transitively."""
    seen, todo = set(), [layer]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(LAYERS[name])
    return seen


def owner_of(path):
    """(name, may include) for a source file, or (None, reason) when no rule covers it."""
    folder = os.path.dirname(path)
    if folder in LAYERS:
        return folder, closure(folder)
    for consumer, uses in CONSUMERS.items():
        if folder == consumer or folder.startswith(consumer + "/"):
            allowed = {consumer}
            for layer in uses:
                allowed |= closure(layer)
            return consumer, allowed
    if folder == UNIT_TESTS:
        return UNIT_TESTS, set()
    if folder.startswith(UNIT_TESTS + "/"):
        tested = folder[len(UNIT_TESTS) + 1:].split("/")[0]
        layer = {"common": "common", "config": "config", "uv": "common/uv", "tls": "common/tls"}.get(
            tested, "proxy/" + tested)
        if layer not in LAYERS:
            return None, f"{folder}/ tests no layer in LAYERS"
        return folder, closure(layer) | {"test/support"}
    return None, f"{folder}/ is in no layer: add it to LAYERS in tools/check_layers.py"


def target_of(include):
    """The layer (or test/support) a quoted include points into, or None."""
    folder = os.path.dirname(include)
    if folder in LAYERS or folder == "test/support":
        return folder
    return None


def external_home(include, owner, path):
    """None if `include` (an <...> header) may be used here, else the folders that may use it."""
    for prefix, homes in EXTERNAL:
        if include == prefix or (prefix.endswith("/") and include.startswith(prefix)):
            for home in homes:
                if owner == home or path.startswith(home + "/"):
                    if home in ("proxy", "common") and owner != home:
                        continue  # "proxy" means proxy/*.cc, not its sub-folders; same for common
                    return None
            return homes
    return None


def check_sources(root):
    problems, files = [], 0
    for top in SOURCE_ROOTS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "build")))
            for name in sorted(filenames):
                if not name.endswith(SUFFIXES):
                    continue
                full = os.path.join(dirpath, name)
                path = os.path.relpath(full, root)
                files += 1
                owner, allowed = owner_of(path)
                with open(full, encoding="utf-8", errors="replace") as f:
                    lines = f.read().split("\n")
                for number, line in enumerate(lines, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    kind, include = m.groups()
                    if owner is None:
                        problems.append(f"{path}:{number}: {allowed}")
                        break
                    if kind == "<":
                        homes = external_home(include, owner, path)
                        if homes:
                            problems.append(f"{path}:{number}: <{include}> belongs to {', '.join(homes)} only")
                        continue
                    target = target_of(include)
                    if target is None:
                        problems.append(f'{path}:{number}: "{include}" is in no layer (include by full path '
                                        "from the repository root)")
                    elif target not in allowed:
                        problems.append(f'{path}:{number}: {owner} may not include "{include}" ({target}); '
                                        f"{owner} builds on: {', '.join(sorted(allowed - {owner})) or 'nothing'}")
    return problems, files


LIBRARY = re.compile(r"\bslotgate_(\w+)\b")


def layer_of_library(name):
    """The layer a CMake library name stands for (slotgate_uv: common/uv), or None."""
    m = LIBRARY.fullmatch(name)
    if not m:
        return None
    short = m.group(1)
    if short in ("uv", "tls"):
        return "common/" + short
    if short in ("common", "config"):
        return short
    return "proxy/" + short if "proxy/" + short in LAYERS else None


def check_cmake(root):
    """Every link from one folder library to another goes down the layers."""
    problems = []
    calls = re.compile(r"\b(slotgate_folder_lib|target_link_libraries)\s*\(([^)]*)\)", re.S)
    for folder in ("common", "config", "proxy"):
        path = os.path.join(folder, "CMakeLists.txt")
        full = os.path.join(root, path)
        if not os.path.exists(full):
            continue
        with open(full, encoding="utf-8") as f:
            text = f.read()
        text = re.sub(r"#[^\n]*", "", text)
        for m in calls.finditer(text):
            words = m.group(2).split()
            if not words:
                continue
            lib, rest = words[0], words[1:]
            if m.group(1) == "slotgate_folder_lib":
                rest = rest[1:]  # the folder name
            layer = layer_of_library(lib)
            if layer is None:
                continue  # the executable: it wires everything
            line = text.count("\n", 0, m.start()) + 1
            for dep in rest:
                target = layer_of_library(dep)
                if target is not None and target not in closure(layer):
                    problems.append(f"{path}:{line}: {lib} links {dep}, but {layer} may not use {target}")
    return problems


def check_rules():
    problems = []
    for layer, below in LAYERS.items():
        for name in below:
            if name not in LAYERS:
                problems.append(f"tools/check_layers.py: {layer} builds on {name}, which is no layer")
    if problems:
        return problems
    for layer in LAYERS:
        for name in LAYERS[layer]:
            if layer in closure(name):
                problems.append(f"tools/check_layers.py: {layer} and {name} build on each other")
    return problems


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    problems = check_rules()
    if not problems:
        found, files = check_sources(root)
        problems = found + check_cmake(root)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} layering violation(s); the rules are in tools/check_layers.py")
        return 1
    print(f"layers kept: {files} files checked against {len(LAYERS)} layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
