#!/usr/bin/python3
"""Fails when C++ code outside proxy/command/ compares a command's name as a string.

What a command does is a column of the command table (Handler, Merge, ProxyFlag bits in
proxy/command/command_spec.h); code switches on those, never on "get" or "client|kill". This
check finds a string literal that is a command name (from the generated table and slotgate's own
rows: "get", "config|get", the "config|" prefix, or a subcommand's own name such as "setname")
used in a comparison: `==` / `!=`, strcmp and friends, equalsIgnoreCase, isOneOf(...),
starts_with / ends_with, compare(), or a lookup of the table by a literal name
(findCommand("eval")). Comments and string contents are not code; tests are not scanned.

Words that are arguments rather than command names (HELLO's AUTH option, CLIENT LIST's TYPE
pubsub, INFO's field "role") are listed in ALLOWED with the reason; an entry allows a hit whose
file is `path`, whose line contains `fragment` and whose literal is inside that fragment.

Usage: /usr/bin/python3 tools/check_command_names.py [--root DIR]   (exit 1 on a finding)
"""

import argparse
import os
import re
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT_NAME = "tools/check_command_names.py"
SCANNED = ("proxy", "common", "config")
EXEMPT = ("proxy/command/",)  # the table itself and its lookups
TABLE = "proxy/command/command_table_data.cc"
PROXY_ROWS = "proxy/command/proxy_commands.cc"

# (path, fragment of the line, why the literal there is not a command name)
ALLOWED = [
    ("proxy/state/connection_state.cc", 'option == "auth"', "HELLO's AUTH option"),
    ("proxy/state/connection_state.cc", 'option == "setname"', "HELLO's SETNAME option"),
    ("proxy/state/connection_state.cc", 'option == "type"', "CLIENT LIST / KILL's TYPE filter"),
    ("proxy/state/connection_state.cc", 'option == "id"', "CLIENT LIST / KILL's ID filter"),
    ("proxy/state/connection_state.cc", '{"normal", "pubsub", "master", "replica", "slave"}',
     "client types of CLIENT LIST / KILL TYPE"),
    ("proxy/state/client_registry.cc", 'type == "pubsub"', "the client type pubsub"),
    ("proxy/request/info_merge.cc", 'key == "role"', "INFO's replication field role"),
    ("proxy/request/info_merge.cc", 'name == "stats"', "INFO section name"),
    ("proxy/request/info_merge.cc", 'name == "memory"', "INFO section name"),
    ("proxy/request/info_merge.cc", 'name == "cluster"', "INFO section name"),
    ("proxy/request/info_merge.cc", 'key.starts_with("slave")', "INFO's replication fields slaveN"),
    # The first element of a node's push message says its kind; for confirmations the kind is
    # spelled like the command, but it is a protocol word of the reply, not the request's name.
    ("proxy/state/subscriptions.cc", 'kind == "subscribe"', "kind of a node's push message"),
    ("proxy/state/subscriptions.cc", 'kind == "unsubscribe"', "kind of a node's push message"),
    ("proxy/state/subscriptions.cc", 'kind == "psubscribe"', "kind of a node's push message"),
    ("proxy/state/subscriptions.cc", 'kind == "punsubscribe"', "kind of a node's push message"),
    ("proxy/state/subscriptions.cc", 'kind == "ssubscribe"', "kind of a node's push message"),
    ("proxy/state/subscriptions_shard.cc", 'kind == "ssubscribe"', "kind of a node's push message"),
    ("proxy/state/subscriptions_shard.cc", 'kind == "sunsubscribe"', "kind of a node's push message"),
    ("proxy/request/slotgate_command.cc", 'equalsIgnoreCase(argv[2], "get")',
     "SLOTGATE CONFIG's verb, an argument"),
    ("proxy/request/slotgate_command.cc", 'equalsIgnoreCase(argv[2], "set")',
     "SLOTGATE CONFIG's verb, an argument"),
]

LITERAL = r'"((?:[^"\\\n]|\\.)*)"'
NAME_CHARS = re.compile(r"^[A-Za-z][A-Za-z0-9_.|-]*$")
CASE_INSENSITIVE = re.compile(r"(?:str(?:n)?casecmp|equalsIgnoreCase|iequals)\s*\(")
# A literal right after / before an (in)equality operator.
EQUALITY = re.compile(r'(?:[!=]=\s*' + LITERAL + r')|(?:' + LITERAL + r'\s*[!=]=)')
# Calls whose literal arguments are compared with something.
CALLS = re.compile(r"\b(?:str(?:n)?(?:case)?cmp|equalsIgnoreCase|iequals|isOneOf|starts_with|"
                   r"ends_with|compare|findCommand|findSubcommand)\s*\(")


def command_names(root):
    """Full names, "container|" prefixes and subcommand names of the table and slotgate's rows."""
    names, subs = set(), set()
    with open(os.path.join(root, TABLE)) as f:
        rows = re.findall(r'^\s*\{"([a-z0-9_.|-]+)", "[a-z-]*", -?\d+,', f.read(), re.M)
    with open(os.path.join(root, PROXY_ROWS)) as f:
        rows += [n for n in re.findall(LITERAL, f.read()) if "|" in n or n == "slotgate"]
    if len(rows) < 300:
        sys.exit("check_command_names: found only %d rows in %s" % (len(rows), TABLE))
    for name in rows:
        names.add(name)
        if "|" in name:
            container, sub = name.split("|", 1)
            names.add(container + "|")
            subs.add(sub)
    return names, subs


def strip_comments(text):
    """The text with comments blanked (newlines kept) and string literals left as they are."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def call_arguments(code, open_paren):
    """The text between the parenthesis at `open_paren` and its match (literals respected)."""
    depth, i = 0, open_paren
    while i < len(code):
        c = code[i]
        if c == '"':
            j = i + 1
            while j < len(code) and code[j] != '"':
                j += 2 if code[j] == "\\" else 1
            i = j
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return code[open_paren + 1:i]
        i += 1
    return code[open_paren + 1:]


def findings(path, code, names, subs):
    """(line number, literal, context) for each command name compared in `code`."""
    def is_name(literal, insensitive):
        if not NAME_CHARS.match(literal):
            return False
        word = literal.lower() if insensitive else literal
        if word != word.lower():
            return False
        return word in names or word in subs

    hits = []
    for m in EQUALITY.finditer(code):
        literal = m.group(1) if m.group(1) is not None else m.group(2)
        if is_name(literal, False):
            hits.append((code.count("\n", 0, m.start()) + 1, literal))
    for m in CALLS.finditer(code):
        args = call_arguments(code, m.end() - 1)
        insensitive = bool(CASE_INSENSITIVE.match(m.group(0)))
        for lit in re.finditer(LITERAL, args):
            literal = lit.group(1)
            # starts_with("client|"), starts_with("slowlog"): a prefix of a name counts too.
            prefix = m.group(0).startswith(("starts_with", "ends_with")) and any(
                n.startswith(literal) for n in names) and len(literal) > 2
            if is_name(literal, insensitive) or (prefix and literal == literal.lower()):
                line = code.count("\n", 0, m.end() + lit.start()) + 1
                hits.append((line, literal))
    return sorted(set(hits))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=REPO_ROOT)
    args = parser.parse_args()
    names, subs = command_names(args.root)

    bad, used = [], set()
    for top in SCANNED:
        for dirpath, _, files in os.walk(os.path.join(args.root, top)):
            for file in sorted(files):
                if not file.endswith((".cc", ".h")):
                    continue
                full = os.path.join(dirpath, file)
                path = os.path.relpath(full, args.root).replace(os.sep, "/")
                if path.startswith(EXEMPT):
                    continue
                with open(full, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                lines = text.split("\n")
                for line, literal in findings(path, strip_comments(text), names, subs):
                    source = " ".join(lines[line - 1].split())
                    # An entry allows only the literals inside its own fragment.
                    allowed = [i for i, (p, fragment, _) in enumerate(ALLOWED)
                               if p == path and " ".join(fragment.split()) in source
                               and '"%s"' % literal in fragment]
                    if allowed:
                        used.update(allowed)
                        continue
                    bad.append('%s:%d: "%s" compared as a command name: %s' % (
                        path, line, literal, source))
    for i, (path, fragment, _) in enumerate(ALLOWED):
        if i not in used:
            print("check_command_names: note: allowed %s: %s matches nothing now" % (path, fragment),
                  file=sys.stderr)
    if bad:
        print("\n".join(bad))
        print("\n%d command-name comparison(s) outside proxy/command/: switch on the row's Handler,"
              " Merge or ProxyFlag bits (proxy/command/command_spec.h) instead, or, for an argument"
              " that merely looks like a command name, add it to ALLOWED in %s." % (
                  len(bad), SCRIPT_NAME))
        return 1
    print("no command-name comparisons outside proxy/command/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
