#!/usr/bin/env bash
# hsmsign quickstart: installs what is missing, builds, sets up a SoftHSM2 dev token, runs the
# dev key ceremony (only for what does not exist yet: X.509 root and issuing CA, JWT key, SSH user
# and host CA keys, and their exports) and runs hsmsignd in the foreground.
#
#   scripts/quickstart.sh          run hsmsignd on $HSMSIGN_LISTEN (default 127.0.0.1:8080)
#   scripts/quickstart.sh --demo   same set-up, then request a certificate and a JWT with SigV4,
#                                  verify both with openssl / python3-jwt, print them, stop
#   scripts/quickstart.sh --background
#                                  same set-up, then start hsmsignd in the background (log in
#                                  var/dev/hsmsignd.log, pid in var/dev/hsmsignd.pid) and return
#                                  once it answers; kill "$(cat var/dev/hsmsignd.pid)" stops it
#
# It builds all four programs (hsmsignd, keyceremony, hsmsign, hsmsign-authorizer) into
# build/bin ($HSMSIGN_BUILD_DIR/bin when set) and prints a PATH line; var/dev/env sets PATH too.
# The generated config's JWT issuer, CRL URL and listen address follow $HSMSIGN_LISTEN: a config
# from an earlier run on another address is updated in place (the old one kept as
# hsmsignd.json.old), unless its issuer is not one this script wrote, which it then keeps and
# says so. With port 0 the port is only known once hsmsignd runs: the config keeps what it has.
#
# Everything generated lives under $HSMSIGN_HOME/var (default: the checkout). Re-running is
# idempotent: the token, keys and files that exist are reused, never regenerated.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
home=${HSMSIGN_HOME:-$repo}
listen=${HSMSIGN_LISTEN:-127.0.0.1:8080}
build=${HSMSIGN_BUILD_DIR:-$repo/build}
mode=foreground
case "${1:-}" in
    --demo) mode=demo ;;
    --background) mode=background ;;
    "") ;;
    *) echo "usage: $0 [--demo | --background]" >&2; exit 2 ;;
esac

say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

say "dependencies"
"$repo/scripts/deps.sh"

say "build"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHS_SANITIZE=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target hsmsignd keyceremony hsmsign hsmsign-authorizer \
    >/dev/null
bin="$build/bin"
say "programs: $bin/{hsmsignd,keyceremony,hsmsign,hsmsign-authorizer}"
echo "export PATH=\"$bin:\$PATH\"    # (also set by: . var/dev/env)" >&2

# The web console (console/, docs/console.md): bundled into console/dist (npm ci the first time);
# served by hsmsignd at /ui/. Without node/npm or the registry, hsmsignd runs without it.
say "web console (console/build.sh)"
console_dir=
if console_dir=$("$repo/console/build.sh"); then
    :
else
    console_dir=
    echo "console/build.sh failed: hsmsignd runs without the web console" >&2
fi

mkdir -p "$home/var/dev/ceremony"
cd "$home"
export SOFTHSM2_CONF="$home/var/softhsm/softhsm2.conf"

say "SoftHSM2 token (var/softhsm)"
KEYCEREMONY="$bin/keyceremony" "$repo/softhsm/init-token.sh" "$home/var/softhsm" hsmsign-dev

# Each ceremony step runs only when its output does not exist yet. CONFIG (default: the step's
# name) is keyceremony/examples/CONFIG.json.
ceremony() {
    local step=$1 output=$2 config=${3:-$1}
    if [ -e "$output" ]; then
        return 0
    fi
    say "key ceremony: $step ($config.json)"
    if ! "$bin/keyceremony" "$step" --config "$repo/keyceremony/examples/$config.json" \
        2>>var/dev/ceremony/ceremony.log; then
        echo "keyceremony $step failed; see var/dev/ceremony/ceremony.log." >&2
        echo "To start the dev set-up from scratch: rm -rf var/softhsm var/dev" >&2
        exit 1
    fi
}
ceremony root var/dev/ceremony/root.pem
ceremony intermediate var/dev/ceremony/intermediate.pem
ceremony jwt-key var/dev/ceremony/jwt-es256-1.jwk.json
ceremony export var/dev/ceremony/jwks.json
# SSH CA keys (issue 11): a user CA and a host CA, both ECDSA P-256. Not Ed25519 on the dev
# token: libp11's OpenSSL engine (libengine-pkcs11-openssl 0.4.12) fails on any token that holds
# an Ed25519 key, and P-256 is also what CloudHSM FIPS clusters can do. Then ssh_user_ca.pub
# (sshd's TrustedUserCAKeys), ssh_host_ca.pub and ssh_known_hosts (@cert-authority lines for
# localhost and 127.0.0.1 on any port).
ceremony ssh-ca var/dev/ceremony/ssh-host-ca-1.pub
ceremony export var/dev/ceremony/ssh_user_ca.pub export-ssh

say "service configuration (var/dev)"
umask 077
if [ ! -f var/dev/access-key.secret ]; then
    head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 > var/dev/access-key.secret
fi
if [ ! -f var/dev/access-key.id ]; then
    printf 'AKIAHSMDEV%s' "$(head -c 5 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" \
        > var/dev/access-key.id
fi
key_id=$(cat var/dev/access-key.id)
port=${listen##*:}
host=${listen%:*}
case "$host" in
    "" | 0.0.0.0 | "[::]") host=127.0.0.1 ;; # a wildcard address: reach it on loopback
esac
endpoint="http://$host:$port"
# The service configuration is regenerated when it predates the current schema (no policy, a
# policy without the SSH rule members, or no "ssh" CA keys).
if [ -f var/dev/hsmsignd.json ] && ! grep -q '"user_ca"' var/dev/hsmsignd.json; then
    mv var/dev/hsmsignd.json var/dev/hsmsignd.json.old
    echo "var/dev/hsmsignd.json predates the SSH CA members; kept as hsmsignd.json.old" >&2
fi
if [ ! -f var/dev/hsmsignd.json ]; then
    cat > var/dev/hsmsignd.json <<JSON
{
  "listen": "$listen",
  "token": {
    "module": "/usr/lib/softhsm/libsofthsm2.so",
    "label": "hsmsign-dev",
    "pin_file": "var/softhsm/user.pin"
  },
  "ca": {
    "key": "pkcs11:token=hsmsign-dev;object=hsmsign-dev-issuing-ca;type=private",
    "chain_file": "var/dev/ceremony/truststore.pem",
    "default_ttl_hours": 12,
    "max_ttl_hours": 24,
    "crl_url": "$endpoint/v1/crl"
  },
  "inventory": {"sqlite": "var/dev/inventory.db"},
  "ssh": {
    "user_ca": ["pkcs11:token=hsmsign-dev;object=hsmsign-dev-ssh-user-ca-1;type=private"],
    "host_ca": ["pkcs11:token=hsmsign-dev;object=hsmsign-dev-ssh-host-ca-1;type=private"]
  },
  "jwt": {
    "issuer": "$endpoint",
    "jwks_file": "var/dev/ceremony/jwks.json",
    "default_ttl_seconds": 300
  },
  "auth": {
    "sigv4": {
      "region": "us-east-1",
      "service": "execute-api",
      "access_keys": [{"access_key_id": "$key_id",
                       "secret_file": "var/dev/access-key.secret",
                       "principal_arn": "arn:aws:iam::000000000000:user/hsmsign-dev"}]
    }
  },
  "policy": {
    "admins": ["arn:aws:iam::000000000000:user/hsmsign-dev"],
    "rules": [
      {"principals": ["arn:aws:iam::000000000000:user/hsmsign-dev"],
       "profiles": ["client", "server"],
       "cn_patterns": ["*"], "dns_patterns": ["**"], "ip_ranges": ["0.0.0.0/0", "::/0"],
       "max_cert_ttl_hours": 24,
       "audiences": ["*"], "max_token_ttl_seconds": 3600,
       "ssh_cert_types": ["user", "host"], "ssh_principals": ["*"],
       "ssh_critical_options": ["force-command", "source-address"]},
      {"principals": ["x509:*"], "audiences": ["*"], "max_token_ttl_seconds": 3600}
    ]
  }
}
JSON
fi
# An existing config follows the listen address (issue 13): issuer, CRL URL and "listen" are
# rewritten when they are the ones this script wrote for another address; anything else is kept
# and reported. Prints the issuer the config ends up with.
issuer=$(/usr/bin/python3 - var/dev/hsmsignd.json "$endpoint" "$listen" "$console_dir" <<'PY'
import json, os, re, shutil, sys
path, endpoint, listen, console_dir = sys.argv[1:5]
with open(path) as f:
    cfg = json.load(f)
# The console member follows the checkout's console/dist (issue 14): added, or updated when it
# is one this script wrote (a console/dist of some checkout); another directory is kept.
ours_console = re.fullmatch(r".*/console/dist", cfg.get("console", {}).get("dir", "/console/dist"))
if console_dir and ours_console and cfg.get("console") != {"dir": console_dir}:
    cfg["console"] = {"dir": console_dir}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    print(f"var/dev/hsmsignd.json: console.dir -> {console_dir}", file=sys.stderr)
old = cfg["jwt"]["issuer"]
ours = re.fullmatch(r"http://[^/]+:[0-9]+", old) is not None
say = lambda m: print("var/dev/hsmsignd.json: " + m, file=sys.stderr)
if old == endpoint and cfg["ca"].get("crl_url") == endpoint + "/v1/crl" and cfg.get("listen") == listen:
    pass
elif endpoint.endswith(":0"):
    say(f"kept issuer {old} and CRL URL {cfg['ca'].get('crl_url')}: with port 0 the port is "
        "chosen when hsmsignd starts, so no URL written now could name it")
elif not ours:
    say(f"kept issuer {old}: not an address this script wrote (edit the file to change it)")
else:
    shutil.copy2(path, path + ".old")
    cfg["jwt"]["issuer"] = endpoint
    cfg["ca"]["crl_url"] = endpoint + "/v1/crl"
    cfg["listen"] = listen
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    say(f"issuer {old} -> {endpoint}, CRL URL -> {endpoint}/v1/crl, listen -> {listen} "
        "(HSMSIGN_LISTEN changed; the previous file is hsmsignd.json.old)")
print(cfg["jwt"]["issuer"])
PY
)
cat > var/dev/env <<ENV
# Source me: . var/dev/env   (contains the dev secret access key; mode 0600)
export HSMSIGN_ENDPOINT=$endpoint
export AWS_ACCESS_KEY_ID=$key_id
export AWS_SECRET_ACCESS_KEY=$(cat var/dev/access-key.secret)
export AWS_REGION=us-east-1
export HSMSIGN_TRUSTSTORE=$home/var/dev/ceremony/truststore.pem
export HSMSIGN_ISSUER=$issuer
export PATH="$bin:\$PATH"
ENV
umask 022

case "$mode" in
    foreground)
        say "hsmsignd on $listen (Ctrl-C stops it; . var/dev/env for the client settings)"
        [ -z "$console_dir" ] || [ "$port" = 0 ] ||
            say "web console: $endpoint/ui/ (sign in with var/dev/env's access key and region)"
        exec env HSMSIGN_LISTEN="$listen" "$bin/hsmsignd" --config var/dev/hsmsignd.json
        ;;
    demo) exec "$repo/scripts/demo.sh" "$home" "$bin" "$listen" ;;
esac

# --background: start hsmsignd, wait until it is ready, record its pid and the port it took.
if [ -f var/dev/hsmsignd.pid ] && kill -0 "$(cat var/dev/hsmsignd.pid)" 2>/dev/null; then
    echo "hsmsignd is already running (pid $(cat var/dev/hsmsignd.pid), var/dev/hsmsignd.pid);" \
        "stop it with: kill \"\$(cat var/dev/hsmsignd.pid)\"" >&2
    exit 1
fi
say "hsmsignd on $listen in the background (log: var/dev/hsmsignd.log)"
: >var/dev/hsmsignd.log
HSMSIGN_LISTEN="$listen" nohup "$bin/hsmsignd" --config var/dev/hsmsignd.json \
    >var/dev/hsmsignd.log 2>&1 </dev/null &
pid=$!
echo "$pid" >var/dev/hsmsignd.pid
ready=
for _ in $(seq 1 300); do
    ready=$(grep -m1 '"event":"service.ready"' var/dev/hsmsignd.log 2>/dev/null |
        /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["port"])' \
            2>/dev/null) || true
    [ -n "$ready" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "hsmsignd exited during start-up; var/dev/hsmsignd.log:" >&2
        tail -n 5 var/dev/hsmsignd.log >&2
        rm -f var/dev/hsmsignd.pid
        exit 1
    fi
    sleep 0.1
done
if [ -z "$ready" ]; then
    echo "hsmsignd did not become ready in 30 s; var/dev/hsmsignd.log has its log" >&2
    exit 1
fi
if [ "$port" = 0 ]; then # the endpoint is only known now
    sed -i "s|^export HSMSIGN_ENDPOINT=.*|export HSMSIGN_ENDPOINT=http://$host:$ready|" var/dev/env
fi
say "hsmsignd ready on port $ready (pid $pid); stop it with: kill \"\$(cat var/dev/hsmsignd.pid)\""
[ -z "$console_dir" ] || say "web console: http://$host:$ready/ui/ (sign in with var/dev/env's access key and region)"
