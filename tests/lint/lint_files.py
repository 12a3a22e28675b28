#!/usr/bin/python3
"""Helpers shared by tests/lint/tidy.sh and tests/lint/cppcheck.sh.

files SRC BUILD   prints the project's own C files in BUILD/compile_commands.json, one per line,
                  each once: the .c files of the rooms below (a room that does not exist yet is
                  simply absent), never a file generated into the build tree.
db SRC BUILD OUT  writes OUT/compile_commands.json with only the entries of those files (each once).
HS_LINT_ROOMS="common pkcs11" limits both to those rooms (a quicker run while fixing).
report TOOL DIR   reads the per-file logs TOOL left in DIR, prints each finding once (a header's
                  finding shows up in every file that includes it), then a count per room; exits 1
                  when there is any finding or a log says the tool failed, 0 otherwise.
"""
import json
import os
import re
import sys

ROOMS = ["common", "pkcs11", "signer", "store", "service", "aws", "api", "keyceremony", "client",
         "authorizer",
         "tests/testlib"]
# A diagnostic's first line, as both tools print it here: path:line:col: severity: text
DIAG = re.compile(r"^(?P<path>/[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<sev>warning|error|style|"
                  r"performance|portability|information): ")


def room_of(rel):
    for room in sorted(ROOMS, key=len, reverse=True):
        if rel.startswith(room + "/"):
            return room
    return None


def own_entries(src, build):
    """The compile commands of the rooms' own .c files, each file once, as (path, entry)."""
    src = os.path.realpath(src)
    build = os.path.realpath(build)
    with open(os.path.join(build, "compile_commands.json"), encoding="utf-8") as f:
        entries = json.load(f)
    only = os.environ.get("HS_LINT_ROOMS", "").split() or ROOMS
    seen = set()
    for e in entries:
        path = os.path.realpath(os.path.join(e.get("directory", ""), e["file"]))
        if path.startswith(build + os.sep) or not path.startswith(src + os.sep):
            continue
        rel = os.path.relpath(path, src)
        room = room_of(rel)
        if not rel.endswith(".c") or room is None or room not in only or path in seen:
            continue
        seen.add(path)
        yield path, e
    if not seen:
        raise SystemExit("no project C files in compile_commands.json")


def cmd_files(src, build):
    for path, _ in own_entries(src, build):
        print(path)
    return 0


def cmd_db(src, build, out):
    entries = [dict(e, file=path) for path, e in own_entries(src, build)]
    with open(os.path.join(out, "compile_commands.json"), "w", encoding="utf-8") as f:
        json.dump(entries, f, indent=1)
    return 0


def cmd_report(tool, logdir, src):
    src = os.path.realpath(src)
    findings = {}  # first line -> whole block
    failed = []
    for name in sorted(os.listdir(logdir)):
        with open(os.path.join(logdir, name), encoding="utf-8", errors="replace") as f:
            text = f.read()
        if name.endswith(".rc"):
            if text.strip() not in ("0", ""):
                failed.append(name[:-3])
            continue
        block = None
        for line in text.splitlines():
            m = DIAG.match(line)
            if m and m.group("sev") != "information":
                block = [line]
                findings.setdefault(line, block)
            elif block is not None and line.strip() and not line.startswith(("Suppressed ",
                                                                               "Use -header-filter",
                                                                               "Error while ")):
                block.append(line)
    per_room = {room: 0 for room in ROOMS}
    other = 0
    for first in findings:
        rel = os.path.relpath(DIAG.match(first).group("path"), src)
        room = room_of(rel)
        if room is None:
            other += 1
        else:
            per_room[room] += 1
        print("\n".join(findings[first]))
    summary = ", ".join(f"{room} {n}" for room, n in per_room.items())
    if other:
        summary += f", elsewhere {other}"
    print(f"{tool}: {len(findings)} findings ({summary})")
    if failed and not findings:
        print(f"{tool} failed without a finding on: {', '.join(failed)}", file=sys.stderr)
    return 1 if findings or failed else 0


def main(argv):
    if len(argv) == 4 and argv[1] == "files":
        return cmd_files(argv[2], argv[3])
    if len(argv) == 5 and argv[1] == "db":
        return cmd_db(argv[2], argv[3], argv[4])
    if len(argv) == 5 and argv[1] == "report":
        return cmd_report(argv[2], argv[3], argv[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
