#!/usr/bin/env bash
# Creates a SoftHSM2 token for development or tests:
#   softhsm/init-token.sh DIR [LABEL]
# DIR gets softhsm2.conf (export SOFTHSM2_CONF=DIR/softhsm2.conf), tokens/, and random
# so.pin and user.pin files (mode 0600). The token is initialised with `keyceremony
# init-token`, so no PIN ever appears on a command line. Idempotent: a DIR that already holds
# an initialised token is left as it is. KEYCEREMONY may name the keyceremony binary.
set -euo pipefail

dir=${1:?usage: init-token.sh DIR [LABEL]}
label=${2:-hsmsign-dev}
here=$(cd "$(dirname "$0")/.." && pwd)
keyceremony=${KEYCEREMONY:-$here/build/bin/keyceremony}
module=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

umask 077
mkdir -p "$dir/tokens"
dir=$(cd "$dir" && pwd)
if [ -f "$dir/token-initialised" ]; then
    exit 0
fi
sed "s|@TOKENDIR@|$dir/tokens|" "$here/softhsm/softhsm2.conf.in" > "$dir/softhsm2.conf"
# 24 random bytes, base64: a PIN that is long, printable and never typed by a person.
[ -f "$dir/so.pin" ] || head -c 24 /dev/urandom | base64 > "$dir/so.pin"
[ -f "$dir/user.pin" ] || head -c 24 /dev/urandom | base64 > "$dir/user.pin"
cat > "$dir/init-token.json" <<JSON
{
  "token": {"module": "$module", "label": "$label", "pin_file": "$dir/user.pin"},
  "so_pin_file": "$dir/so.pin"
}
JSON
SOFTHSM2_CONF="$dir/softhsm2.conf" "$keyceremony" init-token --config "$dir/init-token.json" \
    2>"$dir/init-token.log"
touch "$dir/token-initialised"
