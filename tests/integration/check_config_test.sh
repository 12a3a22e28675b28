#!/usr/bin/env bash
# hsmsignd --check-config (issue 13, deliverable 6): validates a config as start-up does without
# loading the module, touching a token or reading the PIN; exit 0 ("FILE: ok"), or 1 with the
# field and reason on stderr. A table of bad configs, each with the text its error must carry.
. "$(dirname "$0")/lib.sh"
hsmsignd=${HSMSIGND:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir -p out
# Files the config names only need to exist: nothing here is a real module, chain or JWK Set,
# so a check that loaded the module or read the files would fail.
printf 'not a module' >out/module.so
printf 'not a chain' >out/chain.pem
printf 'not a jwks' >out/jwks.json
printf 'secret' >out/caller.secret
umask 077
printf 'never-read' >out/user.pin
umask 022
principal=arn:aws:iam::123456789012:role/check
# config TOKEN_EXTRA JWT_EXTRA REST: writes cfg.json
config() {
    cat >cfg.json <<EOF
{ "listen": "127.0.0.1:0",
  "token": {"module": "out/module.so", "label": "t", "pin_file": "out/user.pin"$1},
  "ca": {"key": "issuing", "chain_file": "out/chain.pem"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://check.example", "jwks_file": "out/jwks.json"$2},
  "auth": {"sigv4": {"region": "eu-west-1", "access_keys": [
      {"access_key_id": "AKIACHECK", "secret_file": "out/caller.secret",
       "principal_arn": "$principal"}]}},
  $(permissive_policy "$principal")$3 }
EOF
}
ok_check() {
    local out
    out=$("$hsmsignd" --check-config cfg.json 2>&1) && grep -qx 'cfg.json: ok' <<<"$out"
}
config "" "" ""
check "a valid config: exit 0, 'ok' (no module loaded: it is not one)" ok_check
check "... and no inventory created, nothing else written" test ! -e out/inventory.db
config "" "" ', "limits": {"workers": 4, "shutdown_grace_seconds": 3}'
check "limits.shutdown_grace_seconds accepted" ok_check
chmod 0644 out/user.pin
config "" "" ""
check "a group/world-readable pin_file: still ok, with a warning" \
    sh -c "'$hsmsignd' --check-config cfg.json 2>&1 | grep -q 'warning: token.pin_file'"
chmod 0600 out/user.pin

bad() { # DESCRIPTION TEXT TOKEN_EXTRA JWT_EXTRA REST
    config "$3" "$4" "$5"
    check_fails "$1" "$2" "$hsmsignd" --check-config cfg.json
}
bad "unknown top-level member" 'unknown' "" "" ', "colour": "blue"'
bad "limits.workers out of range" 'workers' "" "" ', "limits": {"workers": 0}'
bad "limits.shutdown_grace_seconds out of range" 'shutdown_grace_seconds' "" "" \
    ', "limits": {"shutdown_grace_seconds": 100000}'
bad "jwt.jwks_file and jwt.keys both" 'exactly one of "jwks_file" and "keys"' "" \
    ', "keys": [{"key": "x", "alg": "ES256"}]' ""
bad "pin_file and pin_env both" 'exclude each other' ', "pin_env": "PIN"' "" ""
config "" "" ""
rm out/user.pin
check_fails "a missing pin_file" "token.pin_file" "$hsmsignd" --check-config cfg.json
printf '{"listen": ' >cfg.json
check_fails "not JSON" "cfg.json" "$hsmsignd" --check-config cfg.json
check_fails "a missing file" "nope.json" "$hsmsignd" --check-config nope.json
finish
