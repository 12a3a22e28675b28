#!/usr/bin/env bash
# The SSH CA service (issue 11, deliverable 2) against a real hsmsignd on a fresh SoftHSM2 token
# and a real OpenSSH sshd on 127.0.0.1 (ssh_lib.sh): GET /v1/ssh/ca publishes the token's CA
# keys newest first (ssh-keygen parses them); user certificates for Ed25519, ECDSA and RSA keys
# made by ssh-keygen log in (TrustedUserCAKeys = the user_ca lines, AuthorizedPrincipalsFile);
# a host certificate is trusted through @cert-authority under StrictHostKeyChecking=yes;
# ssh-keygen -L shows what was asked (type, serial, key id, principals, validity, extensions,
# options, signing CA), and Python `cryptography` verifies the signatures
# (tests/unit/sgn_ssh_cert_check.py); every certificate is in the inventory as kind ssh; a
# revoked certificate is refused once the KRL from GET /v1/ssh/krl is sshd's RevokedKeys while
# the others still log in; bad keys (DSA, RSA-1024), types, principals, lifetimes, extensions and
# options get 400/403 and record nothing; another principal gets 404 for my serial.
# The SSH CA keys are made with `keyceremony key` (EC P-256 and P-384 user CA keys, the P-384
# one older; an RSA-2048 host CA key).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
require openssl curl sqlite3
ssh_require
hsmsignd=${HSMSIGND:?} kc=${KEYCEREMONY:?}
work=$(mktemp -d)
rt_pid='' lambda_pid=''
stop_pid() { [ -z "$1" ] || { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }; }
trap 'stop_hsmsignd; stop_pid "$lambda_pid"; stop_pid "$rt_pid"; ssh_sshd_stop; rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir -p out cfg keys
label=ssh-test
new_token "$work/token" "$label"
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"

# --- ceremony: the X.509 part hsmsignd needs, then three SSH CA keys ---------------------------
small_ceremony ssh EC-P256 || exit 1
for k in user-ca-new:EC-P256 user-ca-old:EC-P384 host-ca:RSA-2048; do
    cat >"cfg/${k%%:*}.json" <<JSON
{ $token, "key": {"label": "ssh-${k%%:*}", "type": "${k#*:}"},
  "public_key_output": "out/${k%%:*}.pub.pem" }
JSON
    "$kc" key --config "cfg/${k%%:*}.json" 2>>out/ceremony.log ||
        { echo "keyceremony key ${k%%:*} failed"; tail -3 out/ceremony.log; exit 1; }
done

# --- service: alice (user certificates), bob (his own name only), an admin (host certificates) -
acct=arn:aws:iam::123456789012
alice=$acct:user/alice bob=$acct:user/bob admin=$acct:role/pki-admin
# The IAM principal of tests/lambda/events/v2-iam-certificates.json (API Gateway's authorizer).
lambda_arn=arn:aws:sts::111122223333:assumed-role/hsmsign-issuer/ci-session
umask 077
for who in alice bob admin; do
    head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >"out/$who.secret"
done
umask 022
akid() { printf 'AKIASSHTEST%09d' "$1"; }
# out/WHO.curl: each caller's curl config (0600) with its key id and secret, for curl -K.
for who in alice:1 bob:2 admin:3; do
    sigv4_curl_cfg "out/${who%:*}.curl" "$(akid "${who#*:}")" "out/${who%:*}.secret"
done
cat >cfg/hsmsignd.json <<EOF
{ "listen": "127.0.0.1:0", $token,
  "ca": {"key": "ssh-issuing", "chain_file": "out/truststore.pem"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://hsmsign.ssh.example", "jwks_file": "out/jwks.json"},
  "auth": {"sigv4": {"region": "eu-west-1", "access_keys": [
     {"access_key_id": "$(akid 1)", "secret_file": "out/alice.secret", "principal_arn": "$alice"},
     {"access_key_id": "$(akid 2)", "secret_file": "out/bob.secret", "principal_arn": "$bob"},
     {"access_key_id": "$(akid 3)", "secret_file": "out/admin.secret", "principal_arn": "$admin"}]}},
  "policy": {"admins": ["$admin"], "rules": [
    {"principals": ["$alice"], "ssh_cert_types": ["user"],
     "ssh_principals": ["\${aws:username}", "ops"], "ssh_max_ttl_seconds": 3600,
     "ssh_critical_options": ["force-command", "source-address"]},
    {"principals": ["$bob"], "ssh_cert_types": ["user"], "ssh_principals": ["\${aws:username}"]},
    {"principals": ["$admin"], "ssh_cert_types": ["host"],
     "ssh_principals": ["127.0.0.1", "localhost"]},
    {"principals": ["$lambda_arn"], "ssh_cert_types": ["user"],
     "ssh_principals": ["\${aws:username}"]}]},
  "ssh": {"user_ca": ["ssh-user-ca-new", "ssh-user-ca-old"], "host_ca": ["ssh-host-ca"]} }
EOF
start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log || exit 1

# call WHO METHOD PATH [BODY]: the HTTP status; the body goes to out/resp, headers to out/headers.
call() { sigv4_call_as "$1" "$2" "$svc_url$3" "${4:-}" -D out/headers; }
field() { $py -c 'import json,sys; v=json.load(open("out/resp"))[sys.argv[1]]; print(v if isinstance(v, str) else json.dumps(v))' "$1"; }
# expect WANT_STATUS WANT_ERROR [WANT_REASON]: checks out/resp after a call.
expect() {
    local status=$1
    shift
    [ "$status" = "$1" ] || { echo "     status $status, body $(head -c 300 out/resp)"; return 1; }
    $py - "$@" <<'PY'
import json, sys
d = json.load(open("out/resp"))
assert d["error"] == sys.argv[2], d
assert len(sys.argv) < 4 or d.get("reason") == sys.argv[3], d
PY
}
# body PUBKEY-FILE TYPE PRINCIPALS-JSON [EXTRA-JSON]: a POST /v1/ssh/certificates body.
body() {
    $py -c 'import json,sys
d = {"public_key": open(sys.argv[1]).read().strip(), "cert_type": sys.argv[2],
     "principals": json.loads(sys.argv[3])}
d.update(json.loads(sys.argv[4]))
print(json.dumps(d))' "$1" "$2" "$3" "${4:-{\}}"
}
# issue WHO NAME TYPE PRINCIPALS-JSON [EXTRA-JSON]: keys/NAME-cert.pub from a 200 answer, whose
# body stays in out/NAME.json.
issue() {
    local st
    st=$(call "$1" POST /v1/ssh/certificates "$(body "keys/$2.pub" "$3" "$4" "${5:-{\}}")")
    cp out/resp "out/$2.json"
    [ "$st" = 200 ] || { echo "     status $st, body $(head -c 300 out/resp)"; return 1; }
    field certificate >"keys/$2-cert.pub"
}
rows() { sqlite3 out/inventory.db 'SELECT count(*) FROM certificates'; }
hexserial() { $py -c 'import sys; n = int(sys.argv[1]); b = n.to_bytes((n.bit_length() + 7) // 8, "big"); print(b.hex())' "$1"; }
keygen() { ssh-keygen -q -N '' -C "$1" -f "keys/$1" "${@:2}"; }

# --- GET /v1/ssh/ca ---------------------------------------------------------------------------
check "GET /v1/ssh/ca without credentials -> 200 application/json" \
    test "$(call none GET /v1/ssh/ca)" = 200
check "... Content-Type is application/json" has -i '^content-type: application/json' <out/headers
$py -c 'import json; d = json.load(open("out/resp"))
open("out/user_ca.pub", "w").write("".join(l + "\n" for l in d["user_ca"]))
open("out/host_ca.pub", "w").write("".join(l + "\n" for l in d["host_ca"]))'
check "two user CA lines, one host CA line" \
    test "$(wc -l <out/user_ca.pub) $(wc -l <out/host_ca.pub)" = "2 1"
ssh_of_pem() { ssh-keygen -i -m PKCS8 -f "out/$1.pub.pem" | cut -d' ' -f1-2; }
check "user_ca[0] is the newest key (ssh-user-ca-new, P-256)" \
    test "$(sed -n 1p out/user_ca.pub | cut -d' ' -f1-2)" = "$(ssh_of_pem user-ca-new)"
check "user_ca[1] is the older key (ssh-user-ca-old, P-384)" \
    test "$(sed -n 2p out/user_ca.pub | cut -d' ' -f1-2)" = "$(ssh_of_pem user-ca-old)"
check "host_ca[0] is the RSA host CA key" \
    test "$(cut -d' ' -f1-2 out/host_ca.pub)" = "$(ssh_of_pem host-ca)"
check "ssh-keygen -l parses every published line" \
    test "$(cat out/user_ca.pub out/host_ca.pub | ssh-keygen -l -f - | grep -c '^[0-9]* SHA256:')" = 3
user_ca_fp=$(sed -n 1p out/user_ca.pub | ssh-keygen -l -f - | cut -d' ' -f2)

# --- user certificates ------------------------------------------------------------------------
keygen ed -t ed25519
keygen ec -t ecdsa -b 256
keygen rsa -t rsa -b 2048
keygen opt -t ed25519
before=$(rows)
check "Ed25519 user certificate -> 200" issue alice ed user '["alice"]'
check "ECDSA user certificate -> 200" issue alice ec user '["alice", "ops"]'
check "RSA user certificate -> 200" issue alice rsa user '["ops"]' '{"ttl_seconds": 1800}'
check "options, extensions and key id as asked -> 200" issue alice opt user '["alice"]' \
    '{"key_id": "alice-laptop", "ttl_seconds": 600, "extensions": ["permit-pty"],
      "critical_options": {"force-command": "echo forced", "source-address": "127.0.0.1/32"}}'
check "four rows more in the inventory" test "$(rows)" = $((before + 4))
serial_ed=$($py -c 'import json; print(json.load(open("out/ed.json"))["serial"])')
serial_ec=$($py -c 'import json; print(json.load(open("out/ec.json"))["serial"])')

check "the answer: decimal serial, default key id, principals, RFC 3339 validity 1 h + 5 min" \
    $py - out/ed.json "$alice" keys/ed.pub <<'PY'
import json, subprocess, sys
from datetime import datetime, timezone
d = json.load(open(sys.argv[1]))
assert d["serial"].isdigit() and 0 < int(d["serial"]) < 2**64, d
fp = subprocess.run(["ssh-keygen", "-l", "-f", sys.argv[3]], capture_output=True, text=True,
                    check=True).stdout.split()[1]
assert d["key_id"] == sys.argv[2] + " " + fp, d
assert d["principals"] == ["alice"], d
va = datetime.strptime(d["valid_after"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
vb = datetime.strptime(d["valid_before"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
assert (vb - va).total_seconds() == 3600 + 300, d
now = datetime.now(timezone.utc).timestamp()
assert abs(va.timestamp() - (now - 300)) < 30, d
assert d["certificate"].startswith("ssh-ed25519-cert-v01@openssh.com "), d
PY

# ssh-keygen -L of the certificate with options.
ssh-keygen -L -f keys/opt-cert.pub >out/opt.L
serial_opt=$($py -c 'import json; print(json.load(open("out/opt.json"))["serial"])')
check "ssh-keygen -L: an Ed25519 user certificate" has -F 'Type: ssh-ed25519-cert-v01@openssh.com user certificate' <out/opt.L
check "... the serial of the answer" has -F "Serial: $serial_opt" <out/opt.L
check "... the key id asked for" has -F 'Key ID: "alice-laptop"' <out/opt.L
check "... signed by the newest user CA key (P-256)" has -F "Signing CA: ECDSA $user_ca_fp (using ecdsa-sha2-nistp256)" <out/opt.L
check "... the principal" has -Pzo 'Principals: \n\s+alice\n' <out/opt.L
check "... the force-command" has -F 'force-command echo forced' <out/opt.L
check "... the source-address" has -F 'source-address 127.0.0.1/32' <out/opt.L
check "... only the extension asked for" has -Pzo 'Extensions: \n\s+permit-pty\n$' <out/opt.L
check "... valid for 10 min + 5 min" $py - out/opt.L <<'PY'
import re, sys
from datetime import datetime
m = re.search(r"Valid: from (\S+) to (\S+)", open(sys.argv[1]).read())
a, b = (datetime.strptime(x, "%Y-%m-%dT%H:%M:%S") for x in m.groups())
assert (b - a).total_seconds() == 900, m.groups()
PY
ssh-keygen -L -f keys/ed-cert.pub >out/ed.L
check "default extensions: the five permit-*" has -Pzo 'Extensions: \n\s+permit-X11-forwarding\n\s+permit-agent-forwarding\n\s+permit-port-forwarding\n\s+permit-pty\n\s+permit-user-rc\n' <out/ed.L
check "default: no critical options" has -Pzo 'Critical Options: \(none\)' <out/ed.L
check "Python cryptography verifies the four signatures" \
    has -Fx 'ok 4' < <($py "$repo/tests/unit/sgn_ssh_cert_check.py" keys/ed-cert.pub \
        keys/ec-cert.pub keys/rsa-cert.pub keys/opt-cert.pub)

keyid_ed=$($py -c 'import json; print(json.load(open("out/ed.json"))["key_id"])')
keyhash_ed=$(cut -d' ' -f2 keys/ed.pub | base64 -d | sha256sum | cut -d' ' -f1)
check "the inventory row: kind ssh, user, requester, key id, principals, key hash" \
    test "$(sqlite3 -separator '|' out/inventory.db "SELECT kind, profile, requester, subject, sans,
        lower(hex(spki_sha256)) FROM certificates WHERE serial = '$(hexserial "$serial_ed")'")" = \
    "1|user|$alice|$keyid_ed|[\"alice\"]|$keyhash_ed"
check "the audit line follows the record (sign.ssh_cert.recorded with the serial)" \
    has -F "\"event\":\"sign.ssh_cert.recorded\"" <out/hsmsignd.log

# --- logging in to a real sshd ----------------------------------------------------------------
ssh_sshd_init "$work/sshd"
ssh_principals alice ops
cp out/user_ca.pub "$work/trusted_user_cas"
ssh_sshd_start "$work/trusted_user_cas" || exit 1
ssh_check_login "Ed25519 user certificate logs in" keys/ed keys/ed-cert.pub
check "sshd logged the certificate and its serial" has -F "(serial $serial_ed)" <<<"$ssh_log_new"
ssh_check_login "ECDSA user certificate logs in" keys/ec keys/ec-cert.pub
ssh_check_login "RSA user certificate logs in" keys/rsa keys/rsa-cert.pub
ssh_login keys/opt keys/opt-cert.pub || true
check "the force-command certificate ran the forced command" test "$ssh_out" = forced

# --- a host certificate, trusted through @cert-authority --------------------------------------
cp "$ssh_host_key.pub" keys/host.pub
check "host certificate for the sshd's key by the admin -> 200" \
    issue admin host host '["127.0.0.1"]'
ssh-keygen -L -f keys/host-cert.pub >out/host.L
check "ssh-keygen -L: a host certificate" has -F 'host certificate' <out/host.L
check "... signed by the RSA host CA with rsa-sha2-512" has -F '(using rsa-sha2-512)' <out/host.L
check "... no extensions" has -Pzo 'Extensions: \(none\)' <out/host.L
cp keys/host-cert.pub "$ssh_host_key-cert.pub"
check "HostCertificate set, sshd reloaded" ssh_sshd_host_cert "$ssh_host_key-cert.pub"
ssh_known_hosts_ca out/host_ca.pub "$work/known_hosts"
ssh_check_login "host certificate trusted through @cert-authority (StrictHostKeyChecking=yes)" \
    keys/ed keys/ed-cert.pub "$work/known_hosts" yes
check "Python cryptography verifies the host certificate (RSA CA)" \
    has -Fx 'ok 1' < <($py "$repo/tests/unit/sgn_ssh_cert_check.py" keys/host-cert.pub)

# --- status, ownership and revocation ---------------------------------------------------------
check "alice reads her certificate -> 200 good" test "$(call alice GET "/v1/ssh/certificates/$serial_ec")" = 200
check "... status good, cert_type user, key fingerprint as ssh-keygen -l" $py - "$serial_ec" \
    "$(ssh-keygen -l -f keys/ec.pub | cut -d' ' -f2)" "$user_ca_fp" <<'PY'
import json, sys
d = json.load(open("out/resp"))
assert d["serial"] == sys.argv[1] and d["status"] == "good" and d["cert_type"] == "user", d
assert d["key_fingerprint"] == sys.argv[2] and d["ca_fingerprint"] == sys.argv[3], d
assert d["principals"] == ["alice", "ops"], d
PY
check "bob reads alice's serial -> 404 not_found" \
    expect "$(call bob GET "/v1/ssh/certificates/$serial_ec")" 404 not_found
check "bob revokes alice's serial -> 404 not_found" \
    expect "$(call bob POST "/v1/ssh/certificates/$serial_ec/revoke" '{}')" 404 not_found
# Serials are one namespace across X.509 and SSH: the X.509 routes do not see SSH records.
check "alice's SSH serial on the X.509 route GET /v1/certificates/{hex} -> 404 not_found" \
    expect "$(call alice GET "/v1/certificates/$(hexserial "$serial_ec")")" 404 not_found
check "... nor on its revoke route -> 404 not_found" \
    expect "$(call alice POST "/v1/certificates/$(hexserial "$serial_ec")/revoke" '{}')" 404 not_found
check "... and the SSH certificate is still good" eval \
    '[ "$(call alice GET "/v1/ssh/certificates/$serial_ec")" = 200 ] && grep -q "\"status\": *\"good\"" out/resp'

check "an unknown serial -> 404 not_found" \
    expect "$(call alice GET /v1/ssh/certificates/12345)" 404 not_found
check "serial 0 -> 400" expect "$(call alice GET /v1/ssh/certificates/0)" 400 invalid_field
check "serial not decimal -> 400" expect "$(call alice GET /v1/ssh/certificates/0x1f)" 400 invalid_field
check "serial over 2^64-1 -> 400" \
    expect "$(call alice GET /v1/ssh/certificates/18446744073709551616)" 400 invalid_field
check "no credentials -> 401" expect "$(call none GET "/v1/ssh/certificates/$serial_ec")" 401 missing_authentication

krl_version() { $py -c 'import struct,sys; d = open(sys.argv[1], "rb").read()
assert d[:8] == b"SSHKRL\n\0", d[:8]
print(struct.unpack(">Q", d[12:20])[0])' "$1"; }
check "GET /v1/ssh/krl without credentials -> 200" test "$(call none GET /v1/ssh/krl)" = 200
check "... application/octet-stream" has -i '^content-type: application/octet-stream' <out/headers
cp out/resp out/krl0
v0=$(krl_version out/krl0)
check "alice revokes her ECDSA certificate -> 200 revoked" \
    test "$(call alice POST "/v1/ssh/certificates/$serial_ec/revoke" '{"reason": "keyCompromise"}')" = 200
check "... the answer says revoked" test "$(field status)" = revoked
check "the admin reads it -> 200 revoked" \
    test "$(call admin GET "/v1/ssh/certificates/$serial_ec")" = 200 -a "$(field status)" = revoked
check "the KRL after the revocation -> 200" test "$(call none GET /v1/ssh/krl)" = 200
cp out/resp out/krl1
check "... its krl_version grew" test "$(krl_version out/krl1)" -gt "$v0"
check "ssh-keygen -Q: the ECDSA certificate is revoked" \
    has -F 'REVOKED' < <(ssh-keygen -Q -f out/krl1 keys/ec-cert.pub 2>&1 || true)
check "ssh-keygen -Q: the Ed25519 certificate is not" \
    has -F ': ok' < <(ssh-keygen -Q -f out/krl1 keys/ed-cert.pub 2>&1)
ssh_revoked_set out/krl1
ssh_check_refused "the revoked certificate is refused by sshd (RevokedKeys = the KRL)" \
    'Permission denied (publickey)' 'revoked by file' keys/ec keys/ec-cert.pub
ssh_check_login "the Ed25519 certificate still logs in" keys/ed keys/ed-cert.pub
ssh_check_login "the RSA certificate still logs in" keys/rsa keys/rsa-cert.pub
check "the KRL again without a change: the same bytes (cached)" \
    test "$(call none GET /v1/ssh/krl)" = 200 -a "$(sha256sum <out/resp)" = "$(sha256sum <out/krl1)"

# --- bad requests: 400 / 403, and nothing recorded --------------------------------------------
keygen short -t rsa -b 1024
# A DSA public key line built here (OpenSSH 9 may not generate DSA keys).
$py -c 'import base64, os, struct
s = lambda b: struct.pack(">I", len(b)) + b
m = lambda n: s(b"\0" + os.urandom(n))
print("ssh-dss " + base64.b64encode(s(b"ssh-dss") + m(128) + m(20) + m(128) + m(128)).decode())' >keys/dsa.pub
before=$(rows)
bad() { # WHO WANT_STATUS WANT_ERROR WANT_REASON BODY
    expect "$(call "$1" POST /v1/ssh/certificates "$5")" "$2" "$3" ${4:+"$4"}
}
check "DSA key -> 400 unsupported_key" bad alice 400 unsupported_key '' "$(body keys/dsa.pub user '["alice"]')"
check "RSA-1024 key -> 400 unsupported_key" bad alice 400 unsupported_key '' "$(body keys/short.pub user '["alice"]')"
check "not a key line -> 400" bad alice 400 unsupported_key '' \
    '{"public_key": "ssh-ed25519 AAAA", "cert_type": "user", "principals": ["alice"]}'
check "cert_type admin -> 400" bad alice 400 invalid_field '' "$(body keys/ed.pub admin '["alice"]')"
check "cert_type missing -> 400" bad alice 400 invalid_field '' \
    "$($py -c 'import json; print(json.dumps({"public_key": open("keys/ed.pub").read(), "principals": ["alice"]}))')"
check "empty principal list -> 400" bad alice 400 invalid_field '' "$(body keys/ed.pub user '[]')"
check "principal with a space -> 400" bad alice 400 invalid_field '' "$(body keys/ed.pub user '["al ice"]')"
check "principal with a comma -> 400" bad alice 400 invalid_field '' "$(body keys/ed.pub user '["alice,root"]')"
check "65 principals -> 400" bad alice 400 invalid_field '' \
    "$(body keys/ed.pub user "$($py -c 'import json; print(json.dumps(["p%d" % i for i in range(65)]))')")"
check "unknown member -> 400" bad alice 400 invalid_field '' "$(body keys/ed.pub user '["alice"]' '{"valid_principals": 1}')"
check "unknown critical option -> 400" bad alice 400 invalid_field '' \
    "$(body keys/ed.pub user '["alice"]' '{"critical_options": {"no-pty": ""}}')"
check "key_id with a control character -> 400" bad alice 400 invalid_field '' \
    "$(body keys/ed.pub user '["alice"]' '{"key_id": "a\u0007b"}')"
check "ttl_seconds 0 -> 400" bad alice 400 out_of_range '' "$(body keys/ed.pub user '["alice"]' '{"ttl_seconds": 0}')"
check "principal not allowed (root) -> 403 ssh_principal_not_allowed" \
    bad alice 403 forbidden ssh_principal_not_allowed "$(body keys/ed.pub user '["root"]')"
check "bob asks for alice -> 403 ssh_principal_not_allowed" \
    bad bob 403 forbidden ssh_principal_not_allowed "$(body keys/ed.pub user '["alice"]')"
check "TTL over the cap -> 403 ssh_ttl_too_long" \
    bad alice 403 forbidden ssh_ttl_too_long "$(body keys/ed.pub user '["alice"]' '{"ttl_seconds": 7200}')"
check "unknown extension -> 403 ssh_extension_not_allowed" \
    bad alice 403 forbidden ssh_extension_not_allowed "$(body keys/ed.pub user '["alice"]' '{"extensions": ["permit-everything"]}')"
check "a critical option bob may not set -> 403 ssh_option_not_allowed" \
    bad bob 403 forbidden ssh_option_not_allowed "$(body keys/ed.pub user '["bob"]' '{"critical_options": {"force-command": "id"}}')"
check "a host certificate for alice -> 403 ssh_type_not_allowed" \
    bad alice 403 forbidden ssh_type_not_allowed "$(body keys/ed.pub host '["127.0.0.1"]')"
check "no credentials -> 401" bad none 401 missing_authentication '' "$(body keys/ed.pub user '["alice"]')"
check "nothing was recorded by the refused requests" test "$(rows)" = "$before"
check "bob's own name -> 200 (the policy variable)" issue bob ed user '["bob"]'

# --- the same routes through the Lambda front end (API Gateway payload 2.0 events) ------------
stop_hsmsignd
lambda_dir=$repo/tests/lambda
$py - "$lambda_dir/events" keys/ed.pub <<'PY'
import json, sys
ev_dir, pub = sys.argv[1:]
def event(template, method, path, body=None):
    e = json.load(open(f"{ev_dir}/{template}"))
    e["routeKey"] = e["requestContext"]["routeKey"] = f"{method} {path}"
    e["rawPath"] = e["requestContext"]["http"]["path"] = path
    e["requestContext"]["http"]["method"] = method
    e["body"] = json.dumps(body) if body is not None else None
    if body is None:
        e.pop("body")
    return e
evs = {"ssh-ca": event("v2-anon-jwks.json", "GET", "/v1/ssh/ca"),
       "ssh-krl": event("v2-anon-jwks.json", "GET", "/v1/ssh/krl"),
       "ssh-cert": event("v2-iam-certificates.json", "POST", "/v1/ssh/certificates",
                         {"public_key": open(pub).read().strip(), "cert_type": "user",
                          "principals": ["ci-session"]})}
for name, e in evs.items():
    json.dump(e, open(f"out/ev-{name}.json", "w"))
PY
"$py" "$lambda_dir/runtime_api_server.py" --out "$work/rt" --port-file "$work/rt.port" \
    --events out/ev-ssh-ca.json --events out/ev-ssh-cert.json --events out/ev-ssh-krl.json \
    >out/rt.log 2>&1 &
rt_pid=$!
for _ in $(seq 1 200); do [ -s "$work/rt.port" ] && break; sleep 0.05; done
rt_api=127.0.0.1:$(cat "$work/rt.port")
AWS_LAMBDA_RUNTIME_API=$rt_api HSMSIGN_CONFIG=cfg/hsmsignd.json "$hsmsignd" >out/lambda.log 2>&1 &
lambda_pid=$!
answered() { curl -sS --max-time 90 -o /dev/null -w '%{http_code}' \
    "http://$rt_api/control/result?id=$1&timeout=60" | grep -qx 200; }
check "Lambda: the three SSH events are answered" answered ev-ssh-krl
lambda_ok() { # ID EXPR over p (the proxy response) and b (its body, base64-decoded when so marked)
    $py - "$work/rt/$1.json" "$2" <<'PY'
import base64, json, sys
p = json.load(open(sys.argv[1]))["body"]
b = base64.b64decode(p["body"]) if p.get("isBase64Encoded") else p.get("body", "").encode()
ok = eval(sys.argv[2])
if not ok:
    print("     response:", json.dumps(p)[:600])
sys.exit(0 if ok else 1)
PY
}
check "Lambda: GET /v1/ssh/ca -> 200, the same lines as over HTTP" lambda_ok ev-ssh-ca \
    'p["statusCode"] == 200 and json.loads(b)["user_ca"] == open("out/user_ca.pub").read().splitlines()'
check "Lambda: POST /v1/ssh/certificates (IAM from the event) -> 200 for ci-session" \
    lambda_ok ev-ssh-cert 'p["statusCode"] == 200 and json.loads(b)["principals"] == ["ci-session"]'
check "Lambda: GET /v1/ssh/krl -> 200, binary (isBase64Encoded), application/octet-stream" \
    lambda_ok ev-ssh-krl 'p["statusCode"] == 200 and p["isBase64Encoded"] is True and p["headers"]["Content-Type"] == "application/octet-stream" and b[:8] == b"SSHKRL\n\0"'
$py -c 'import base64, json, sys; sys.stdout.buffer.write(base64.b64decode(json.load(open(sys.argv[1]))["body"]["body"]))' \
    "$work/rt/ev-ssh-krl.json" >out/krl-lambda
check "Lambda: ssh-keygen -Q finds the revoked certificate in that KRL" \
    has -F 'REVOKED' < <(ssh-keygen -Q -f out/krl-lambda keys/ec-cert.pub 2>&1 || true)
stop_pid "$lambda_pid"
lambda_pid=
stop_pid "$rt_pid"
rt_pid=

# --- without "ssh" the routes answer 404 ------------------------------------------------------
$py -c 'import json; d = json.load(open("cfg/hsmsignd.json")); del d["ssh"]
json.dump(d, open("cfg/nossh.json", "w"))'
start_hsmsignd cfg/nossh.json out/nossh.log || exit 1
check "no \"ssh\" config: GET /v1/ssh/ca -> 404 naming it" \
    expect "$(call none GET /v1/ssh/ca)" 404 not_found
check "... the detail says SSH is not configured" has -F 'SSH is not configured' <out/resp
check "no \"ssh\" config: POST /v1/ssh/certificates -> 404" \
    expect "$(call alice POST /v1/ssh/certificates "$(body keys/ed.pub user '["alice"]')")" 404 not_found
check "no \"ssh\" config: GET /v1/ssh/krl -> 404" expect "$(call none GET /v1/ssh/krl)" 404 not_found
stop_hsmsignd

# --- a CA key that is not on the token: hsmsignd refuses to start, naming the field -----------
$py -c 'import json; d = json.load(open("cfg/hsmsignd.json")); d["ssh"]["host_ca"] = ["ssh-host-ca", "no-such-key"]
json.dump(d, open("cfg/badkey.json", "w"))'
check_fails "a missing SSH CA key: hsmsignd does not start, naming ssh.host_ca[1]" 'ssh.host_ca[1]' \
    "$hsmsignd" --config cfg/badkey.json

finish
