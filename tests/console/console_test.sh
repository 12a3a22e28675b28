#!/usr/bin/env bash
# The web console in a real browser (issue 14, deliverable 4): a real hsmsignd on a fresh SoftHSM2
# token, with "console": {"dir": console/dist} (built by console/build.sh, the CTest fixture
# console_build), driven by console_test.mjs (playwright-core, Debian's headless /usr/bin/chromium):
# sign in (a wrong secret first), issue a certificate with a browser-made key (openssl verify
# against the chain, the key matches), sign a pasted SSH key, one made in the browser and one made
# server-side and sealed to the page (ssh-keygen -L / -y), find the certificate by name, revoke it
# and see the CRL count it, the keys-and-trust and health pages, sign-out clears sessionStorage;
# no console error on any page, axe-core finds no serious/critical violation, the main action of
# each page is reached with Tab. Screenshots of each page: $HSMSIGN_CONSOLE_SHOTS (default
# <build>/tests/console-screenshots), printed at the end.
# Skips (77) outside CI when chromium, node or ssh-keygen are missing; under CI=true that fails.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../integration
. "$here/../integration/lib.sh"
require openssl curl ssh-keygen node
chromium=${HSMSIGN_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
    [ "${CI:-}" = true ] && { echo "chromium missing under CI (scripts/deps.sh installs it)" >&2; exit 1; }
    echo "skipped: $chromium is missing (apt-get install chromium; scripts/deps.sh)" >&2
    exit 77
fi
dist=$repo/console/dist
if [ ! -f "$dist/index.html" ] || [ ! -d "$repo/console/node_modules/playwright-core" ] ||
    [ ! -d "$repo/console/node_modules/axe-core" ]; then
    "$repo/console/build.sh" >/dev/null || {
        [ "${CI:-}" = true ] && { echo "console/build.sh failed under CI" >&2; exit 1; }
        echo "skipped: console/build.sh failed (npm offline?)" >&2
        exit 77
    }
fi
: "${HSMSIGND:?}"
kc=${KEYCEREMONY:?}
shots=${HSMSIGN_CONSOLE_SHOTS:-${HSMSIGN_TEST_TMPDIR:-$repo/build}/console-screenshots}
work=$(mktemp -d)
trap 'stop_hsmsignd; rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir -p out cfg
label=console-test
new_token "$work/token" "$label"
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"
small_ceremony console EC-P256 || exit 1
cat >cfg/ssh-ca.json <<JSON
{ $token,
  "user_ca": {"label": "console-ssh-user", "type": "EC-P256", "public_key_output": "out/user-ca.pub"},
  "host_ca": {"label": "console-ssh-host", "type": "EC-P256", "public_key_output": "out/host-ca.pub"} }
JSON
"$kc" ssh-ca --config cfg/ssh-ca.json 2>>out/ceremony.log ||
    { echo "keyceremony ssh-ca failed"; tail -3 out/ceremony.log; exit 1; }

principal=arn:aws:iam::123456789012:user/console-admin
akid=AKIACONSOLETEST00001
umask 077
head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >out/admin.secret
umask 022
cat >cfg/hsmsignd.json <<JSON
{ "listen": "127.0.0.1:0", $token,
  "ca": {"key": "console-issuing", "chain_file": "out/truststore.pem", "default_ttl_hours": 12,
         "crl_url": "http://127.0.0.1/v1/crl"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://hsmsign.console.example", "jwks_file": "out/jwks.json"},
  "ssh": {"user_ca": ["console-ssh-user"], "host_ca": ["console-ssh-host"]},
  "console": {"dir": "$dist"},
  "auth": {"sigv4": {"region": "eu-west-1", "access_keys": [
     {"access_key_id": "$akid", "secret_file": "out/admin.secret", "principal_arn": "$principal"}]}},
  $(permissive_policy "$principal") }
JSON
start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log || exit 1

rc=0
HSMSIGN_CONSOLE_URL=$svc_url AKID=$akid SECRET_FILE=$work/out/admin.secret REGION=eu-west-1 \
    PRINCIPAL=$principal WORK=$work SHOTS=$shots CHROMIUM=$chromium CONSOLE_DIR=$repo/console \
    timeout 240 node "$here/console_test.mjs" || rc=$?
check "console_test.mjs: every browser check passed (exit $rc)" test "$rc" -eq 0
# (grep reads the secret as a pattern file, -f: it is never on a command line)
check "hsmsignd's log holds no secret access key" \
    bash -c '! grep -qF -f out/admin.secret out/hsmsignd.log'
finish
