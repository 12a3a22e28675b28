#!/usr/bin/python3
"""hsmsign's structural rules, checked over the C sources of the tree (../shared/STYLE.md).

  rules.py must-use ROOT   every function (and function pointer) returning hs_result is declared
                           HS_RESULT / HS_MUST_USE, so gcc refuses a dropped result; run by the
                           build (target hs_rules) before anything compiles.
  rules.py layers ROOT     includes name their room ("pkcs11/p11_pool.h"), never point up the
                           layers, and <room>/internal.h is included only from inside <room>.
  rules.py argv-user ROOT  no shell script under tests/, scripts/ or infra/ hands a secret to a
                           program on its command line (ps, /proc/PID/cmdline) as curl's
                           --user/-u ID:SECRET: an argument after --user that the shell fills in
                           ("$akid:$(cat f)", "$creds", printf's %s), or after -u with a filled-in
                           part after its colon. Write a 0600 curl config and pass -K FILE
                           (tests/integration/lib.sh: sigv4_curl_cfg). A line that must keep it
                           (http_load's --user AKID:SECRET_FILE names a file) says why with
                           "# lint: allow-argv-user (REASON)".
  rules.py self-test       plants each kind of violation in a temporary tree and checks that it
                           is reported (a check that cannot fail is a defect).

Exit 0 when clean, 1 with one "file:line: rule: message" line per finding.
"""
import os
import re
import subprocess
import sys
import tempfile

# Which rooms each room may include (itself always). Dependencies point down only:
# common <- pkcs11 <- signer <- store/service <- api; aws sits under store and api;
# keyceremony on signer; client on aws and common. tests/ may include anything.
ALLOWED = {
    "common": set(),
    "pkcs11": {"common"},
    "signer": {"common", "pkcs11"},
    "aws": {"common"},
    "store": {"common", "pkcs11", "signer", "aws"},
    "service": {"common", "pkcs11", "signer", "store"},
    "api": {"common", "pkcs11", "signer", "store", "service", "aws"},
    "keyceremony": {"common", "pkcs11", "signer"},
    "client": {"common", "aws"},
    "authorizer": {"common", "aws"},
}
ROOMS = set(ALLOWED) | {"tests"}

INCLUDE_RX = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
# A declaration of a function or function pointer whose return type is hs_result.
DECL_RX = re.compile(r'(?:^|[^\w])hs_result\s+(?:\(\s*\*\s*)?[A-Za-z_]\w*\s*\)?\s*\(')
MUST_USE_RX = re.compile(r'\b(HS_MUST_USE|HS_RESULT)\b')
# curl's --user / -u and the argument after it (after "=", blanks, or a literal \n in a printf
# format that prints curl's arguments one per line).
ARGV_USER_RX = re.compile(r'(?:^|[\s(\'"]|\\n)(--user|-u)(?:=|\s+|\\n)(\S+)')
ARGV_USER_ALLOW_RX = re.compile(r'#\s*lint:\s*allow-argv-user\s*\(\s*\S[^)]*\)')
# A part the shell (or printf) fills in: $var, ${var}, $(cmd), `cmd`, %s.
FILLED_RX = re.compile(r'\$|`|%s')
SCRIPT_ROOTS = ("tests", "scripts", "infra")


def repo_files(root, exts):
    """Files of the repository ending in one of exts, relative to root: git's tracked and
    untracked-but-not-ignored files, or (no git) a walk that skips build trees, hidden
    directories and node_modules."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-co", "--exclude-standard"] +
                             ["*" + e for e in exts],
                             capture_output=True, text=True, check=True).stdout
        files = [f for f in out.split() if os.path.exists(os.path.join(root, f))]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for d, _, names in os.walk(root):
            if "/build" in d or "/." in d or "node_modules" in d:
                continue
            files += [os.path.relpath(os.path.join(d, n), root) for n in names
                      if n.endswith(tuple(exts))]
    return files


def c_sources(root):
    return sorted(f for f in repo_files(root, (".c", ".h")) if f.split("/")[0] in ROOMS)


def shell_scripts(root):
    return sorted(f for f in repo_files(root, (".sh",))
                  if f.split("/")[0] in SCRIPT_ROOTS and "node_modules" not in f.split("/"))


def argv_user_findings(name, text):
    """The lines of one shell script that pass a filled-in secret to --user / -u."""
    findings = []
    for i, line in enumerate(text.split("\n"), 1):
        if line.lstrip().startswith("#") or ARGV_USER_ALLOW_RX.search(line):
            continue
        for m in ARGV_USER_RX.finditer(line):
            opt, value = m.group(1), m.group(2)
            secret_part = value if opt == "--user" else value.partition(":")[2]
            if opt == "-u" and ":" not in value:
                continue
            if FILLED_RX.search(secret_part):
                findings.append(f"{name}:{i}: argv-user: {opt} {value} puts a secret on a "
                                "command line; write a 0600 curl config and pass -K FILE "
                                "(lib.sh sigv4_curl_cfg)")
                break
    return findings


def check_argv_user(root):
    findings = []
    for f in shell_scripts(root):
        with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
            findings += argv_user_findings(f, fh.read())
    return findings


def strip_comments(text):
    """Blanks /* */ and // comments and string literals, keeping line numbers."""
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    return re.sub(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"', blank, text, flags=re.S)


def check_must_use(root):
    findings = []
    for f in c_sources(root):
        if f == "common/hs_err.h":
            continue  # defines hs_result and the macros themselves
        with open(os.path.join(root, f), encoding="utf-8") as fh:
            lines = strip_comments(fh.read()).split("\n")
        for i, line in enumerate(lines, 1):
            for m in DECL_RX.finditer(line):
                before = line[:m.start() + 1]
                prev = lines[i - 2] if i > 1 else ""
                if MUST_USE_RX.search(before) or re.search(r"\bHS_MUST_USE\s*$", prev):
                    continue
                findings.append(f"{f}:{i}: must-use: a function returning hs_result must be "
                                "declared HS_RESULT (function pointers: HS_MUST_USE hs_result)")
    return findings


def check_layers(root):
    findings = []
    for f in c_sources(root):
        room = f.split("/")[0]
        folder = os.path.dirname(f)
        with open(os.path.join(root, f), encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                m = INCLUDE_RX.match(line)
                if not m:
                    continue
                inc = m.group(1)
                parts = inc.split("/")
                if len(parts) < 2 or parts[0] not in ROOMS:
                    findings.append(f'{f}:{i}: room: include "{inc}" must name its room '
                                    '("pkcs11/p11_pool.h")')
                    continue
                if not os.path.exists(os.path.join(root, inc)):
                    findings.append(f'{f}:{i}: room: "{inc}" is not a file of the tree')
                    continue
                if parts[-1] == "internal.h" and os.path.dirname(inc) != folder:
                    findings.append(f'{f}:{i}: internal: "{inc}" is internal to '
                                    f'{os.path.dirname(inc)}/')
                    continue
                target = parts[0]
                if room == "tests" or target == room:
                    continue
                if target == "tests" or target not in ALLOWED[room]:
                    findings.append(f'{f}:{i}: layers: {room}/ may not include {target}/ '
                                    f'("{inc}"); {room}/ sits on '
                                    f'{", ".join(sorted(ALLOWED[room])) or "nothing"}')
    return findings


def self_test():
    cases = {
        "common/hs_err.h": "typedef struct hs_result { int code; } hs_result;\n",
        "common/a.h": '#include "common/hs_err.h"\n',
        "pkcs11/p11_x.c": ('#include "signer/s.h"\n'        # up the layers
                           '#include "p11_x.h"\n'            # no room
                           'static hs_result p11_f(void);\n'  # not must-use
                           'struct t { hs_result (*op)(int); };\n'  # pointer not must-use
                           'static HS_RESULT p11_g(void);\n'  # fine
                           '/* hs_result p11_c(void); */\n'),  # comment: fine
        "pkcs11/p11_x.h": "",
        "signer/s.h": "",
        "signer/internal.h": "",
        "api/api_y.c": '#include "signer/internal.h"\n#include "keyceremony/kc.h"\n',
        "keyceremony/kc.h": "",
        "client/cli.c": '#include "common/a.h"\n#include "api/none.h"\n',
        "tests/t.c": '#include "api/api_y.c"\n',
        "tests/t.sh": ('curl --aws-sigv4 x --user "$akid:$(cat out/x.secret)" "$url"\n'  # 1
                       'sig=(--aws-sigv4 x --user "$akid:$secret")\n'                     # 2
                       "printf -- '--aws-sigv4\\nx\\n--user\\n%s:%s\\n' \"$a\" \"$s\"\n"  # 3
                       'curl -u "$id:$pw" "$url"\n'                                      # 4
                       'curl --user="$creds" "$url"\n'                                   # 5
                       'curl -K out/curl.cfg --aws-sigv4 x "$url"\n'                     # fine
                       '# curl --user "$akid:$secret" is what we never do\n'             # comment
                       'load --user "$akid:$tmp/secret" # lint: allow-argv-user (a path)\n'
                       'sort -u "$f"; date -u +%H:%M:%S; sudo -u "$who" true\n'          # not curl's
                       'curl --user "AKIAEXAMPLE:literal" "$url"\n'),                    # nothing filled in
        "scripts/s.sh": 'x=(--sigv4 r/s\n    --user "$a:$b")\n',                          # 2
        "infra/docker/e.sh": 'curl -u "$a:$b" -K x\n',                                   # 1
        "docs/d.sh": 'curl --user "$a:$b"\n',                                            # not a script root
    }
    expected = [
        ("pkcs11/p11_x.c:1", "layers"), ("pkcs11/p11_x.c:2", "room"),
        ("pkcs11/p11_x.c:3", "must-use"), ("pkcs11/p11_x.c:4", "must-use"),
        ("api/api_y.c:1", "internal"), ("api/api_y.c:2", "layers"),
        ("client/cli.c:2", "room"),
        ("tests/t.sh:1", "argv-user"), ("tests/t.sh:2", "argv-user"),
        ("tests/t.sh:3", "argv-user"), ("tests/t.sh:4", "argv-user"),
        ("tests/t.sh:5", "argv-user"), ("scripts/s.sh:2", "argv-user"),
        ("infra/docker/e.sh:1", "argv-user"),
    ]
    with tempfile.TemporaryDirectory() as d:
        for name, text in cases.items():
            os.makedirs(os.path.join(d, os.path.dirname(name)), exist_ok=True)
            with open(os.path.join(d, name), "w", encoding="utf-8") as fh:
                fh.write(text)
        got = check_must_use(d) + check_layers(d) + check_argv_user(d)
    bad = 0
    for where, rule in expected:
        if not any(g.startswith(where + ":") and f" {rule}:" in g for g in got):
            print(f"self-test: {where} {rule} was not reported", file=sys.stderr)
            bad += 1
    if len(got) != len(expected):
        print(f"self-test: {len(got)} findings, expected {len(expected)}:", *got, sep="\n  ",
              file=sys.stderr)
        bad += 1
    print(f"self-test: {len(expected) - bad if bad <= len(expected) else 0} of "
          f"{len(expected)} planted findings reported" + ("" if bad else ", no others"))
    return 1 if bad else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "self-test":
        return self_test()
    checks = {"must-use": (check_must_use, c_sources), "layers": (check_layers, c_sources),
              "argv-user": (check_argv_user, shell_scripts)}
    if len(argv) != 3 or argv[1] not in checks:
        print(__doc__, file=sys.stderr)
        return 2
    root = argv[2]
    check, files = checks[argv[1]]
    findings = check(root)
    for line in findings:
        print(line)
    n = len(files(root))
    print(f"{argv[1]}: {n} files, {len(findings)} findings", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
