#!/usr/bin/env bash
# The README's main-job command, as a user runs it: scripts/quickstart.sh --demo in a scratch
# HSMSIGN_HOME on a free port. It must exit 0 having verified a certificate and a JWT; a second
# run must reuse the token and keys untouched. Then pkcs11-tool must show every private key on
# the dev token as sensitive and never extractable, and the PIN must appear in no output.
. "$(dirname "$0")/lib.sh"
require pkcs11-tool script ssh-keygen
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
run_demo() {
    HSMSIGN_HOME="$home" HSMSIGN_LISTEN=127.0.0.1:0 "$repo/scripts/quickstart.sh" --demo \
        >"$home/demo-$1.log" 2>&1
}
check "quickstart.sh --demo exits 0" run_demo 1
demo_verified() {
    grep -q 'demo.pem: OK' "$home/demo-1.log" &&
        grep -q 'JWT verified with python3-jwt' "$home/demo-1.log" &&
        grep -q 'BEGIN CERTIFICATE' "$home/demo-1.log"
}
check "the demo printed a certificate that openssl verified and a JWT that python3-jwt verified" \
    demo_verified
demo_ssh() {
    grep -q 'Type: ssh-ed25519-cert-v01@openssh.com user certificate' "$home/demo-1.log" &&
        grep -q "logged in to sshd as $(id -un) with an hsmsign SSH certificate" "$home/demo-1.log"
}
check "the demo got an SSH user certificate and logged in to a throwaway sshd with it" demo_ssh
# Key objects and ceremony outputs. (SoftHSM rewrites its token.object, the token's own state
# such as login flags, on every login; key objects are separate files.)
fingerprint() {
    (cd "$home/var" && find softhsm/tokens dev/ceremony -type f \( -name '*.pem' -o -name '*.json' \
        -o -name '*.object' -o -name '*.pub' -o -name ssh_known_hosts \) ! -name token.object |
        sort | xargs sha256sum)
}
before=$(fingerprint)
check "a second quickstart.sh --demo exits 0" run_demo 2
same_as_before() { [ "$(wc -l <<<"$before")" -ge 9 ] && [ "$before" = "$(fingerprint)" ]; }
check "the second run regenerated nothing (key objects, certificates, JWKS unchanged)" \
    same_as_before
export SOFTHSM2_CONF="$home/var/softhsm/softhsm2.conf"
dev_keys_protected() {
    local keys
    keys=$(list_private_keys hsmsign-dev "$home/var/softhsm/user.pin")
    [ "$(grep -c 'Private Key Object' <<<"$keys")" -eq 5 ] &&
        [ "$(grep -c 'Access: *sensitive, always sensitive, never extractable' <<<"$keys")" -eq 5 ]
}
check "pkcs11-tool --login --list-objects: 5 private keys (root, issuing, JWT, SSH user and host CA), all sensitive, never extractable" \
    dev_keys_protected
ssh_ca_files() { # the quickstart exported one P-256 user CA and one host CA line
    local d=$home/var/dev/ceremony
    ssh-keygen -l -f "$d/ssh_user_ca.pub" | has 'hsmsign-dev-ssh-user-ca-1 (ECDSA)' &&
        ssh-keygen -l -f "$d/ssh_host_ca.pub" | has 'hsmsign-dev-ssh-host-ca-1 (ECDSA)' &&
        has -F "@cert-authority localhost,127.0.0.1,[127.0.0.1]:*,[localhost]:* $(cat "$d/ssh_host_ca.pub")" <"$d/ssh_known_hosts"
}
check "the quickstart exported ssh_user_ca.pub, ssh_host_ca.pub and ssh_known_hosts" ssh_ca_files
examples_verify_ssh() {
    (cd "$home" && "${KEYCEREMONY:?}" verify --config "$repo/keyceremony/examples/verify-ssh.json" \
        >"$home/verify-ssh.out" 2>"$home/verify-ssh.log") &&
        [ "$(grep -c '^ok  ' "$home/verify-ssh.out")" -eq 5 ]
}
check "keyceremony verify with examples/verify-ssh.json passes on the dev token" examples_verify_ssh
# The operators' examples match the dev set-up: verify passes on it, and the other steps'
# examples pass their dry-run (full config validation against the dev token's files).
examples_verify() {
    (cd "$home" && "${KEYCEREMONY:?}" verify --config "$repo/keyceremony/examples/verify.json" \
        >"$home/verify.out" 2>"$home/verify.log") &&
        [ "$(grep -c '^ok  ' "$home/verify.out")" -ge 4 ]
}
check "keyceremony verify with examples/verify.json passes on the dev token" examples_verify
examples_dry_run() {
    local step
    for step in root-2:root key:key intermediate-constrained:intermediate crl:crl \
        jwt-key-rotate:jwt-key; do
        (cd "$home" && "$KEYCEREMONY" "${step#*:}" --dry-run \
            --config "$repo/keyceremony/examples/${step%%:*}.json" >/dev/null 2>&1) ||
            { echo "examples/${step%%:*}.json: dry-run failed"; return 1; }
    done
}
check "examples root-2, key, intermediate-constrained, crl, jwt-key-rotate pass --dry-run" \
    examples_dry_run
pin_modes() {
    [ "$(stat -c %a "$home/var/softhsm/user.pin")" = 600 ] &&
        [ "$(stat -c %a "$home/var/dev/env")" = 600 ] &&
        [ "$(stat -c %a "$home/var/dev/access-key.secret")" = 600 ]
}
check "the PIN, the env file and the secret key are mode 0600" pin_modes
no_pin() {
    ! grep -rqF -f "$home/var/softhsm/user.pin" "$home"/demo-*.log "$home/var/dev" "$home/var/softhsm/init-token.log"
}
check "the PIN appears in no output or log" no_pin
# The web console (issue 14): built into console/dist and named in the generated config.
console_configured() {
    [ -f "$repo/console/dist/index.html" ] &&
        $py -c 'import json, sys; c = json.load(open(sys.argv[1]))
sys.exit(c["console"]["dir"] != sys.argv[2])' "$home/var/dev/hsmsignd.json" "$repo/console/dist"
}
if command -v npm >/dev/null; then
    check "quickstart built console/dist and set console.dir in hsmsignd.json" console_configured
fi
finish
