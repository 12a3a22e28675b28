#!/usr/bin/env bash
# The README's "Try it by hand" and client blocks (every ```sh block after a
# "<!-- readme-test -->" line), run as written, top to bottom, with bash -e in a clean clone of
# the repository's HEAD, on a free 127.0.0.1 port (issue 13). Every command must succeed; then
# the files they wrote are checked, and a second quickstart on another port must carry the
# config's issuer and CRL URL along (and say so).
#
# Usage: readme_test.sh WORK_DIR. The clone lives in WORK_DIR/clone and is kept between runs
# only for its build/ directory: each run fetches HEAD into it, resets it hard and removes every
# other file git does not track (git clean -fdx), so what runs is a fresh clone whose build is
# incremental. Uncommitted changes in the working tree are not in it.
. "$(dirname "$0")/lib.sh"
require git cmake curl openssl
work=${1:?work dir}
clone=$work/clone
mkdir -p "$work"
out=$(mktemp -d)
stop_service() {
    local pidf=$clone/var/dev/hsmsignd.pid
    if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
        kill "$(cat "$pidf")" 2>/dev/null || true
        sleep 0.5
    fi
}
trap 'stop_service; rm -rf "$out"' EXIT

fresh_clone() {
    if [ -d "$clone/.git" ]; then
        git -C "$clone" fetch -q "$repo" HEAD && git -C "$clone" reset -q --hard FETCH_HEAD &&
            git -C "$clone" clean -fdxq -e /build/
    else
        rm -rf "$clone" && git clone -q "$repo" "$clone"
    fi
}
check "a clean clone of HEAD ($(git -C "$repo" rev-parse --short HEAD))" fresh_clone
free_port() {
    "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# The marked blocks, in order, as one script.
"$py" - "$clone/README.md" >"$out/readme.sh" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
blocks = re.findall(r"<!-- readme-test -->\n```sh\n(.*?)```\n", text, re.S)
print("\n".join(blocks))
PY
blocks_found() { [ "$(grep -c 'scripts/quickstart.sh\|hsmsign cert\|curl' "$out/readme.sh")" -ge 3 ]; }
check "the README has marked blocks (quickstart, curl, hsmsign cert)" blocks_found
port=$(free_port)
run_readme() {
    (cd "$clone" && HSMSIGN_LISTEN=127.0.0.1:$port timeout 900 bash -euo pipefail "$out/readme.sh" \
        >"$out/readme.out" 2>"$out/readme.err") || {
        echo "     the README's commands failed; last lines:"
        tail -n 15 "$out/readme.err" | sed 's/^/     /'
        return 1
    }
}
check "the README's marked commands all succeed, top to bottom (bash -e)" run_readme
by_hand_issued() {
    "$py" -c 'import json,sys
line = [l for l in sys.stdin if l.startswith("{")][0]  # the keyceremony steps print too
d = json.loads(line)
assert "BEGIN CERTIFICATE" in d["certificate"] and d["serial"], d' <"$out/readme.out"
}
check "the by-hand curl got a certificate" by_hand_issued
client_files() {
    [ -s "$clone/hand.key" ] && [ -s "$clone/hand.csr" ] && [ -s "$clone/me.key" ] &&
        [ "$(stat -c %a "$clone/me.key")" = 600 ] && [ -s "$clone/chain.pem" ] &&
        openssl x509 -in "$clone/me.pem" -noout -subject | has 'CN *= *me.example'
}
check "the by-hand step wrote hand.key/hand.csr, the client me.key (0600), me.pem and chain.pem" \
    client_files
check "build/bin/hsmsign --version printed the version" \
    grep -qE '^hsmsign [0-9]+\.[0-9]+\.[0-9]+ \(git [0-9A-Za-z.-]+\)$' "$out/readme.out"
stopped() {
    local pid
    pid=$(cat "$clone/var/dev/hsmsignd.pid" 2>/dev/null) && [ -n "$pid" ] || return 1
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}
check "the README's last command stopped the background hsmsignd" stopped
# Another address: the generated config follows it and the script says so.
port2=$(free_port)
requickstart() {
    (cd "$clone" && HSMSIGN_LISTEN=127.0.0.1:$port2 scripts/quickstart.sh --background \
        >"$out/q2.out" 2>"$out/q2.err") || { tail -n 5 "$out/q2.err"; return 1; }
}
check "scripts/quickstart.sh --background again on another port" requickstart
config_follows() {
    local e=http://127.0.0.1:$port2
    "$py" -c 'import json,sys
c = json.load(open(sys.argv[1])); e = sys.argv[2]
assert c["jwt"]["issuer"] == e and c["ca"]["crl_url"] == e + "/v1/crl", c' \
        "$clone/var/dev/hsmsignd.json" "$e" &&
        grep -qF "issuer http://127.0.0.1:$port -> $e" "$out/q2.err" &&
        grep -qF "export HSMSIGN_ENDPOINT=$e" "$clone/var/dev/env" &&
        curl -sSf "$e/.well-known/openid-configuration" |
        "$py" -c 'import json,sys; assert json.load(sys.stdin)["issuer"] == sys.argv[1]' "$e"
}
check "the config's issuer and CRL URL followed HSMSIGN_LISTEN, the script said so, the service serves it" \
    config_follows
stop_service
finish
