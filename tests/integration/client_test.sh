#!/usr/bin/env bash
# The hsmsign client CLI against a real hsmsignd on a fresh SoftHSM2 token (policy, inventory,
# SigV4 with plain and session credentials): certificates for every key type made locally and
# checked with openssl verify -x509_strict, --csr, tokens verified with python3-jwt against the
# JWKS that `hsmsign jwks` prints, revoke/status and their exit statuses, the CRL, credentials
# from the environment and from a credentials file (profiles, comments, CRLF, session tokens),
# refusals (signature_mismatch, policy reasons) and transport failures with their exit
# statuses, API Gateway's own error answers and a stage path (a stub server), and that the
# secret access key appears in no output, no log and no argv. The SSH commands (ssh, ssh-ca,
# ssh-status, ssh-revoke, ssh-krl; issue 11 deliverable 4) in their own block below.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
require openssl sqlite3
cli=${HSMSIGN_CLI:?HSMSIGN_CLI must be set (ctest sets it)}
work=$(mktemp -d)
stub_pid=
stop_stub() {
    if [ -n "$stub_pid" ]; then
        kill -TERM "$stub_pid" 2>/dev/null || true
        wait "$stub_pid" 2>/dev/null || true
        stub_pid=
    fi
}
trap 'stop_hsmsignd; stop_stub; ssh_sshd_stop; rm -rf "$work"' EXIT
cd "$work"
mkdir -p out cfg home
label=client-test
new_token "$work/token" "$label" >/dev/null
module=/usr/lib/softhsm/libsofthsm2.so
pin_file=$work/token/user.pin
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$pin_file\"}"

# --- ceremony: root, EC issuing CA, ES256 key (export), then an RS256 key added to the JWKS ------
small_ceremony cl EC-P384 || exit 1
cat >cfg/jwt-rs.json <<EOF2
{ $token, "key": {"label": "cl-jwt-rs", "type": "RSA-2048"}, "alg": "RS256",
  "jwks": "out/jwks.json" }
EOF2
"${KEYCEREMONY:?}" jwt-key --config cfg/jwt-rs.json 2>>out/ceremony.log ||
    { echo "ceremony step jwt-key RS256 failed"; tail -3 out/ceremony.log; exit 1; }
# SSH CA keys for the ssh commands' block: an EC P-256 user CA, an RSA-2048 host CA.
for k in ssh-user:EC-P256 ssh-host:RSA-2048; do
    cat >"cfg/${k%%:*}.json" <<EOF2
{ $token, "key": {"label": "cl-${k%%:*}", "type": "${k#*:}"},
  "public_key_output": "out/${k%%:*}.pub.pem" }
EOF2
    "${KEYCEREMONY:?}" key --config "cfg/${k%%:*}.json" 2>>out/ceremony.log ||
        { echo "keyceremony key ${k%%:*} failed"; tail -3 out/ceremony.log; exit 1; }
done

# --- credentials and the service --------------------------------------------------------------
region=eu-west-3
acct=arn:aws:iam::444455556666
plain_arn=$acct:role/client-plain
session_arn=arn:aws:sts::444455556666:assumed-role/client/session-1
limited_arn=$acct:role/device-limited
plain_id=AKIACLIENTTEST000001
session_id=ASIACLIENTTEST000002
limited_id=AKIACLIENTTEST000003
umask 077
# '/' and '+' kept: they must survive the trip through libcurl's user:password handling.
for who in plain session limited; do
    head -c 30 /dev/urandom | base64 | tr -d '\n=' | head -c 40 >"out/$who.secret"
done
# 817 bytes: hsmsignd reads session_token_file with HS_SECRET_MAX (1 KiB).
printf 'IQoJb3JpZ2luX2VjE%s' "$(head -c 600 /dev/urandom | base64 | tr -d '\n=')" \
    >out/session.token
umask 022
plain_secret=$(cat out/plain.secret)
session_secret=$(cat out/session.secret)
limited_secret=$(cat out/limited.secret)
session_token=$(cat out/session.token)

cat >cfg/hsmsignd.json <<EOF2
{ "listen": "127.0.0.1:0",
  "token": {"module": "$module", "label": "$label", "pin_file": "$pin_file", "pool_size": 2},
  "ca": {"key": "pkcs11:token=$label;object=cl-issuing;type=private",
         "chain_file": "out/truststore.pem", "crl_url": "http://pki.client.example/v1/crl"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://hsmsign.client.example", "jwks_file": "out/jwks.json",
          "default_alg": "ES256"},
  "auth": {"sigv4": {"region": "$region", "service": "execute-api", "access_keys": [
    {"access_key_id": "$plain_id", "secret_file": "out/plain.secret",
     "principal_arn": "$plain_arn"},
    {"access_key_id": "$session_id", "secret_file": "out/session.secret",
     "session_token_file": "out/session.token", "principal_arn": "$session_arn"},
    {"access_key_id": "$limited_id", "secret_file": "out/limited.secret",
     "principal_arn": "$limited_arn"}]}},
  "policy": {"admins": ["$plain_arn"], "rules": [
    {"principals": ["$plain_arn", "$session_arn"], "profiles": ["client", "server"],
     "cn_patterns": ["*"], "dns_patterns": ["**"], "ip_ranges": ["0.0.0.0/0", "::/0"],
     "audiences": ["*"], "ssh_cert_types": ["user", "host"], "ssh_principals": ["*"],
     "ssh_critical_options": ["force-command", "source-address"]},
    {"principals": ["$limited_arn"], "profiles": ["client"], "cn_patterns": ["device-*"],
     "dns_patterns": ["*.devices.example.com"], "audiences": ["snowflake"],
     "ssh_cert_types": ["user"], "ssh_principals": ["device-*"]}]},
  "ssh": {"user_ca": ["cl-ssh-user"], "host_ca": ["cl-ssh-host"]} }
EOF2
start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log || exit 1

# The client's environment: nothing from the caller's, a home of its own.
for v in $(env | cut -d= -f1 | grep -E '^(AWS_|HSMSIGN_ENDPOINT$)'); do unset "$v"; done
export HOME=$work/home HSMSIGN_ENDPOINT=$svc_url AWS_REGION=$region
# The chain ends with EC2 instance metadata (169.254.169.254): never asked here unless a check
# points it at a stand-in on 127.0.0.1.
export AWS_EC2_METADATA_DISABLED=true
as_plain=(AWS_ACCESS_KEY_ID=$plain_id AWS_SECRET_ACCESS_KEY=$plain_secret)
as_session=(AWS_ACCESS_KEY_ID=$session_id AWS_SECRET_ACCESS_KEY=$session_secret
    AWS_SESSION_TOKEN=$session_token)
as_limited=(AWS_ACCESS_KEY_ID=$limited_id AWS_SECRET_ACCESS_KEY=$limited_secret)

# run EXPECTED_EXIT [VAR=value...] -- ARGS...: runs hsmsign with those variables; stdout to
# out/stdout, stderr to out/stderr (both also appended to out/all-output for the secret check);
# fails unless the exit status is EXPECTED_EXIT.
n_runs=0
run() {
    local want=$1 rc=0
    shift
    local -a vars=()
    while [ "$1" != -- ]; do
        vars+=("$1")
        shift
    done
    shift
    n_runs=$((n_runs + 1))
    printf '%s\n' "$cli" "$@" >>out/all-argv
    env "${vars[@]}" "$cli" "$@" >out/stdout 2>out/stderr || rc=$?
    { cat out/stdout out/stderr; } >>out/all-output
    if [ "$rc" -ne "$want" ]; then
        echo "     exit $rc, expected $want: hsmsign $*" | cut -c1-200
        sed 's/^/     | /' out/stderr | head -n 6
        return 1
    fi
}
says() { has -F -- "$1" <out/stderr; }
prints() { has -F -- "$1" <out/stdout; }
field() { $py -c 'import json,sys; print(json.load(open("out/stdout"))[sys.argv[1]])' "$1"; }

# --- usage errors: exit 2 ------------------------------------------------------------------------
check "no command -> exit 2 and the command list" eval 'run 2 -- && says "commands:"'
check "an unknown command -> exit 2" eval 'run 2 -- frobnicate && says "unknown command"'
check "an unknown option -> exit 2 naming it" \
    eval 'run 2 -- token --audience a --colour && says "unknown option --colour"'
check "cert without --out-cert -> exit 2" eval 'run 2 -- cert --cn x --out-key out/x.key &&
    says "--out-cert FILE is required"'
check "cert without --cn (and no --csr) -> exit 2" \
    eval 'run 2 -- cert --out-key out/x.key --out-cert out/x.pem && says "--cn is required"'
check "cert --csr with --out-key -> exit 2 (no key is made for a given CSR)" \
    eval 'run 2 -- cert --csr out/x.csr --out-key out/x.key --out-cert out/x.pem &&
    says "--out-key does not go with --csr"'
check "cert --key-type dsa -> exit 2 listing the types" eval 'run 2 -- cert --cn x --key-type dsa \
    --out-key out/x.key --out-cert out/x.pem && says "ec-p256, ec-p384, rsa-2048, rsa-3072, ed25519"'
check "cert --ip not-an-ip -> exit 2" eval 'run 2 -- cert --cn x --ip 10.0.0.300 \
    --out-key out/x.key --out-cert out/x.pem && says "--ip: not an IPv4 or IPv6 address"'
check "--ttl-hours abc -> exit 2" eval 'run 2 -- cert --cn x --ttl-hours abc \
    --out-key out/x.key --out-cert out/x.pem && says "--ttl-hours: not a whole number"'
check "--cn given twice -> exit 2" \
    eval 'run 2 -- cert --cn x --cn y --out-key k --out-cert c && says "--cn given twice"'
check "status without SERIAL -> exit 2" eval 'run 2 -- status && says "expected one SERIAL"'
check "status with a serial that is not hex -> exit 2" \
    eval 'run 2 -- status ../../healthz && says "SERIAL: 1..64 hexadecimal digits"'
check "token without --audience or --profile -> exit 2" eval 'run 2 -- token && says "--audience or --profile is required"'
check "no endpoint -> exit 2" eval 'run 2 HSMSIGN_ENDPOINT= -- jwks && says "no endpoint"'
check "an ftp:// endpoint -> exit 2" \
    eval 'run 2 -- --endpoint ftp://127.0.0.1/ jwks && says "http:// or https://"'
check "an http:// endpoint that is not on this machine -> exit 2, nothing sent" \
    eval 'run 2 -- --endpoint http://api.example.com/prod jwks && says "use https://"'
check "an http:// endpoint on [::1] passes the check (then cannot connect -> exit 4)" \
    eval 'run 4 -- --endpoint "http://[::1]:1/" jwks'
check "a signed command without a region -> exit 2" \
    eval 'run 2 AWS_REGION= "${as_plain[@]}" -- token --audience a && says "no region"'
check "a region with a ':' -> exit 2" \
    eval 'run 2 -- --region "eu:x" jwks && says "region: only lower-case"'
check "--timeout-seconds 0 -> exit 2" \
    eval 'run 2 -- --timeout-seconds 0 jwks && says "--timeout-seconds: must be 1..3600"'
check "an option of another command -> exit 2" \
    eval 'run 2 -- jwks --audience a && says "--audience is not an option of this command"'
for c in cert token revoke status jwks crl; do
    check "hsmsign $c --help -> exit 0, with the exit statuses" \
        eval "run 0 -- $c --help && prints 'exit status:' && prints '4  network'"
done
check "hsmsign --help -> exit 0" eval 'run 0 -- --help && prints "commands:"'
check "common options before the command are taken" \
    eval 'run 0 -- --endpoint "$svc_url" -v jwks && says "request id"'

# --- secrets are never taken from the command line ----------------------------------------------
# A decoy secret (the real ones never go into argv, which the end checks).
decoy=$(head -c 30 /dev/urandom | base64 | tr -d '\n=/+' | head -c 40)
check "--aws-secret-access-key=SECRET -> exit 2, and the value is not echoed" \
    eval 'run 2 -- token --audience a --aws-secret-access-key="$decoy" &&
    says "secrets are never taken from the command line" && ! says "$decoy"'
check "--secret SECRET -> exit 2, and the value is not echoed" \
    eval 'run 2 -- token --audience a --secret "$decoy" &&
    says "secrets are never taken from the command line" && ! says "$decoy"'
check "an endpoint with user:password -> exit 2, and the URL is not echoed" \
    eval 'run 2 -- --endpoint "http://$plain_id:$decoy@127.0.0.1:1/" jwks &&
    says "must not hold a user name or password" && ! says "$decoy"'

# --- certificates: every key type, made locally ------------------------------------------------
# cert_ok NAME: out/NAME.{key,pem,chain} from the last run: the key file is 0600 PKCS#8 and
# matches the certificate, which verifies -x509_strict under the root with the chain, and the
# printed serial and not_after are the certificate's.
cert_ok() {
    local n=$1 serial na
    [ "$(stat -c %a "out/$n.key")" = 600 ] || { echo "     mode $(stat -c %a "out/$n.key")"; return 1; }
    head -1 "out/$n.key" | has -x -- '-----BEGIN PRIVATE KEY-----' || return 1
    cmp -s <(openssl pkey -in "out/$n.key" -pubout) <(openssl x509 -in "out/$n.pem" -noout -pubkey) ||
        { echo "     the key does not match the certificate"; return 1; }
    openssl verify -x509_strict -CAfile out/root.pem -untrusted "out/$n.chain" "out/$n.pem" \
        >/dev/null || return 1
    serial=$(openssl x509 -in "out/$n.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
    na=$(date -u -d "$(openssl x509 -in "out/$n.pem" -noout -enddate | cut -d= -f2)" \
        +%Y-%m-%dT%H:%M:%SZ)
    prints "serial: $serial" && prints "not_after: $na" && [ "$(wc -l <out/stdout)" -eq 2 ]
}
sans_ok() { # NAME EXPECTED-SAN-TEXT
    openssl x509 -in "out/$1.pem" -noout -ext subjectAltName | has -F -- "$2"
}
for kt in ec-p256 ec-p384 rsa-2048 rsa-3072 ed25519; do
    check "cert --key-type $kt -> exit 0" run 0 "${as_plain[@]}" -- cert --cn "$kt.client.example" \
        --dns "$kt.client.example" --dns "alt.client.example" --ip 10.9.8.7 --ip 2001:db8::7 \
        --key-type "$kt" --out-key "out/$kt.key" --out-cert "out/$kt.pem" \
        --out-chain "out/$kt.chain"
    check "cert $kt: key 0600 PKCS#8 matching the certificate, verify -x509_strict, serial" \
        cert_ok "$kt"
    check "cert $kt: the SANs asked for" sans_ok "$kt" "DNS:$kt.client.example, \
DNS:alt.client.example, IP Address:10.9.8.7, IP Address:2001:DB8:0:0:0:0:0:7"
done
key_kinds() {
    openssl pkey -in out/ec-p384.key -noout -text | has 'NIST CURVE: P-384' &&
        openssl pkey -in out/rsa-3072.key -noout -text | has 'Private-Key: (3072 bit' &&
        openssl pkey -in out/ed25519.key -noout -text | has 'ED25519 Private-Key'
}
check "the keys are of the types asked for (P-384, RSA-3072, Ed25519)" key_kinds
check "the default key type is ec-p256 and the default profile client (EKU clientAuth)" \
    eval 'run 0 "${as_plain[@]}" -- cert --cn default.client.example --out-key out/default.key \
    --out-cert out/default.pem --out-chain out/default.chain && cert_ok default &&
    openssl pkey -in out/default.key -noout -text | has "NIST CURVE: P-256" &&
    openssl x509 -in out/default.pem -noout -ext extendedKeyUsage | has "TLS Web Client Authentication"'
not_after_s() { date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s; }
check "--profile server --ttl-hours 2: EKU serverAuth, 2 hours" \
    eval 'run 0 "${as_plain[@]}" -- cert --cn www.client.example --dns www.client.example \
    --profile server --ttl-hours 2 --out-key out/www.key --out-cert out/www.pem &&
    openssl x509 -in out/www.pem -noout -ext extendedKeyUsage | has "TLS Web Server Authentication" &&
    [ $(($(not_after_s out/www.pem) - $(date +%s))) -le 7200 ]'
before=$(ls out | wc -l)
rows() { sqlite3 out/inventory.db 'SELECT count(*) FROM certificates'; }
rows_before=$(rows)
check "an existing --out-key -> exit 3 before anything is asked for" \
    eval 'run 3 "${as_plain[@]}" -- cert --cn again.client.example --out-key out/default.key \
    --out-cert out/again.pem && says "already exists" && [ ! -e out/again.pem ] &&
    [ "$(rows)" = "$rows_before" ]'
check "--out-key and --out-cert the same file -> exit 2" \
    eval 'run 2 "${as_plain[@]}" -- cert --cn same.client.example --out-key out/same \
    --out-cert out/same && says "must be different files"'

# --- cert --csr ---------------------------------------------------------------------------------
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout out/own.key \
    -subj /CN=own.client.example -addext subjectAltName=DNS:own.client.example \
    -out out/own.csr 2>/dev/null
check "cert --csr FILE -> exit 0, no key written" eval 'run 0 "${as_plain[@]}" -- cert \
    --csr out/own.csr --out-cert out/own.pem --out-chain out/own.chain && [ ! -e out/own.pem.key ]'
check "cert --csr: the certificate is for the CSR's key and verifies" \
    eval 'cmp -s <(openssl pkey -in out/own.key -pubout) <(openssl x509 -in out/own.pem -noout -pubkey) &&
    openssl verify -x509_strict -CAfile out/root.pem -untrusted out/own.chain out/own.pem >/dev/null'
openssl req -in out/own.csr -outform DER -out out/own.der
check "cert --csr with a DER file -> exit 3 with advice" eval 'run 3 "${as_plain[@]}" -- cert \
    --csr out/own.der --out-cert out/der.pem && says "not a PEM CSR"'
check "cert --csr with a missing file -> exit 3" \
    eval 'run 3 "${as_plain[@]}" -- cert --csr out/nope.csr --out-cert out/nope.pem'
check "cert --csr with --cn -> exit 2" eval 'run 2 "${as_plain[@]}" -- cert --csr out/own.csr \
    --cn other --out-cert out/nope.pem && says "not with --csr"'

# --- tokens, verified against the JWKS hsmsign jwks prints ----------------------------------------
check "jwks -> exit 0 without credentials" run 0 -- jwks
cp out/stdout out/jwks.served
same_jwks() {
    $py -c 'import json; a, b = (json.load(open(f)) for f in ("out/jwks.served", "out/jwks.json"))
assert a == b and len(a["keys"]) == 2, (a, b)'
}
check "jwks prints the service's JWK Set (both keys)" same_jwks
# jwt_ok TOKEN_FILE ALG AUD SUB: python3-jwt verifies the token with the key of its kid
jwt_ok() {
    $py - "$@" <<'PY'
import json, sys
import jwt
token = open(sys.argv[1]).read().strip()
alg, aud, sub = sys.argv[2:5]
jwks = jwt.PyJWKSet.from_dict(json.load(open("out/jwks.served")))
header = jwt.get_unverified_header(token)
assert header["alg"] == alg, header
key = next(k for k in jwks.keys if k.key_id == header["kid"])
claims = jwt.decode(token, key.key, algorithms=[alg], audience=aud,
                    issuer="https://hsmsign.client.example")
assert claims["sub"] == sub, claims
PY
}
check "token --audience A -> exit 0, stdout is only the token" \
    eval 'run 0 "${as_plain[@]}" -- token --audience https://aud.client.example &&
    [ "$(wc -l <out/stdout)" -eq 1 ] && has -xE "[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+" <out/stdout'
cp out/stdout out/es.jwt
check "the ES256 token verifies with python3-jwt against the JWKS; sub = the caller" \
    jwt_ok out/es.jwt ES256 https://aud.client.example "$plain_arn"
check "token --alg RS256 --ttl-seconds 60 verifies as RS256" \
    eval 'run 0 "${as_plain[@]}" -- token --audience rs.client.example --alg RS256 \
    --ttl-seconds 60 && cp out/stdout out/rs.jwt && jwt_ok out/rs.jwt RS256 rs.client.example "$plain_arn"'
check "token --json prints the whole answer" eval 'run 0 "${as_plain[@]}" -- token --audience j \
    --ttl-seconds 90 --json && [ "$(field token_type)" = Bearer ] && [ "$(field expires_in)" = 90 ] &&
    [ "$(field alg)" = ES256 ]'
check "token --alg HS256 -> exit 1 unsupported_alg" eval 'run 1 "${as_plain[@]}" -- token \
    --audience a --alg HS256 && says "HTTP 400 unsupported_alg"'

# --- revoke and status ----------------------------------------------------------------------------
serial=$(openssl x509 -in out/default.pem -noout -serial | cut -d= -f2)
check "status of a good certificate -> exit 0, \"status\": \"good\"" \
    eval 'run 0 "${as_plain[@]}" -- status "$serial" && [ "$(field status)" = good ] &&
    [ "$(field requested_by)" = "$plain_arn" ]'
check "revoke --reason keyCompromise -> exit 0, prints the revoked status document" \
    eval 'run 0 "${as_plain[@]}" -- revoke "$serial" --reason keyCompromise &&
    [ "$(field status)" = revoked ] && [ "$(field reason)" = keyCompromise ]'
check "status of a revoked certificate -> exit 5, \"status\": \"revoked\"" \
    eval 'run 5 "${as_plain[@]}" -- status "${serial,,}" && [ "$(field status)" = revoked ]'
check "revoking again -> exit 0, the first reason stays" \
    eval 'run 0 "${as_plain[@]}" -- revoke "$serial" && [ "$(field reason)" = keyCompromise ]'
check "revoke --reason nonsense -> exit 1 invalid_field" \
    eval 'run 1 "${as_plain[@]}" -- revoke "$serial" --reason nonsense && says "invalid_field"'
# An expired certificate: its inventory record moved into the past (the service reads the row).
run 0 "${as_plain[@]}" -- cert --cn old.client.example --out-key out/old.key \
    --out-cert out/old.pem || true
expired_serial=$(sed -n 's/^serial: //p' out/stdout)
sqlite3 out/inventory.db "UPDATE certificates SET not_after = not_after - 86400
                          WHERE serial = '$expired_serial'"
check "status of an expired certificate -> exit 6, \"status\": \"expired\"" \
    eval 'run 6 "${as_plain[@]}" -- status "$expired_serial" && [ "$(field status)" = expired ]'
check "status of an unknown serial -> exit 1 not_found" \
    eval 'run 1 "${as_plain[@]}" -- status 0123456789abcdef && says "HTTP 404 not_found"'
check "crl --out F -> exit 0, a DER CRL signed by the issuing CA listing the revoked serial" \
    eval 'run 0 -- crl --out out/crl.der && prints "revoked: 1" &&
    openssl crl -inform DER -in out/crl.der -noout -CAfile out/intermediate.pem 2>&1 | has "verify OK" &&
    openssl crl -inform DER -in out/crl.der -noout -text | has "Serial Number: ${serial^^}"'
check "crl --out onto an existing file -> exit 3" \
    eval 'run 3 -- crl --out out/crl.der && says "already exists"'

# ===== hsmsign ssh, ssh-ca, ssh-status, ssh-revoke, ssh-krl (issue 11, deliverable 4) ===========
# Key pairs made by hsmsign (Ed25519, ECDSA P-256, RSA-3072) in OpenSSH's private key format,
# certified by the service's SSH CA keys (made above with keyceremony key), checked with
# ssh-keygen (-y reads the private key back, -L shows the certificate) and, when sshd can run
# here, by a real login (ssh_lib.sh).
for c in ssh ssh-ca ssh-status ssh-revoke ssh-krl; do
    check "hsmsign $c --help -> exit 0" eval "run 0 -- $c --help && prints 'usage: hsmsign $c'"
done
check "ssh --type bogus -> exit 2 with a message" \
    eval 'run 2 "${as_plain[@]}" -- ssh --principal alice --type bogus --out out/ssh_bad &&
    says "--type: user or host" && [ ! -e out/ssh_bad ]'
check "ssh without --principal -> exit 2" \
    eval 'run 2 "${as_plain[@]}" -- ssh --out out/ssh_bad && says "--principal NAME is required"'
check "ssh --key-type dsa -> exit 2 listing the types" \
    eval 'run 2 "${as_plain[@]}" -- ssh --principal a --key-type dsa --out out/ssh_bad &&
    says "ed25519, ecdsa (P-256), rsa (3072 bits), rsa-2048, rsa-3072 or rsa-4096"'
check "ssh --principal with a comma -> exit 2" \
    eval 'run 2 "${as_plain[@]}" -- ssh --principal a,b --out out/ssh_bad && says "without"'
check "ssh --public-key with --out -> exit 2" \
    eval 'run 2 "${as_plain[@]}" -- ssh --principal a --public-key x.pub --out out/ssh_bad &&
    says "not with --public-key"'
check "ssh-status with a hexadecimal serial -> exit 2" \
    eval 'run 2 "${as_plain[@]}" -- ssh-status 0a1b && says "SERIAL: a decimal number"'
check "ssh-status 18446744073709551616 (2^64) -> exit 2" \
    eval 'run 2 "${as_plain[@]}" -- ssh-status 18446744073709551616'

# ssh_ok NAME KEYTYPE CERTTYPE P1 [P2...]: out/NAME (0600, OpenSSH private key that ssh-keygen
# reads back to NAME.pub's key), NAME-cert.pub (ssh-keygen -L: type, principals, the printed
# serial).
ssh_ok() {
    local n=out/$1 kt=$2 ct=$3 serial p
    shift 3
    [ "$(stat -c %a "$n")" = 600 ] || { echo "     mode $(stat -c %a "$n")"; return 1; }
    head -1 "$n" | has -x -- '-----BEGIN OPENSSH PRIVATE KEY-----' || return 1
    [ "$(ssh-keygen -y -f "$n" | cut -d' ' -f1,2)" = "$(cut -d' ' -f1,2 "$n.pub")" ] ||
        { echo "     ssh-keygen -y does not give $n.pub's key"; return 1; }
    head -c 40 "$n.pub" | has "^$kt " || { echo "     $(head -c 40 "$n.pub")"; return 1; }
    ssh-keygen -L -f "$n-cert.pub" >"$n.L" || return 1
    has -F "Type: $kt-cert-v01@openssh.com $ct certificate" <"$n.L" || { cat "$n.L"; return 1; }
    for p in "$@"; do
        has -xE "[[:space:]]+$p" <"$n.L" || { echo "     principal $p missing"; return 1; }
    done
    serial=$(sed -n 's/^ *Serial: //p' "$n.L")
    prints "serial: $serial" && prints "principals: $(IFS=,; echo "$*")" &&
        prints "certificate: $n-cert.pub" && prints "valid_before: "
}
for kt in ed25519:ssh-ed25519 ecdsa:ecdsa-sha2-nistp256 rsa:ssh-rsa; do
    check "ssh --key-type ${kt%%:*} -> exit 0" run 0 "${as_plain[@]}" -- ssh --principal alice \
        --principal ops --key-type "${kt%%:*}" --out "out/ssh_${kt%%:*}"
    check "ssh ${kt%%:*}: private key 0600 that ssh-keygen -y reads, certificate per -L" \
        ssh_ok "ssh_${kt%%:*}" "${kt#*:}" user alice ops
done
check "the RSA key has 3072 bits" eval 'ssh-keygen -l -f out/ssh_rsa.pub | has "^3072 "'
# mpint encoding (a leading zero exactly when the top bit is set; OpenSSH rejects both
# mistakes): RSA's d and iqmp and ECDSA's d have it set about half the time, so a few more keys.
ssh_many_ok() {
    local k
    for k in 1 2 3 4 5 6; do
        run 0 "${as_plain[@]}" -- ssh --principal alice --key-type "$1" --out "out/ssh_m$1$k" &&
            [ "$(ssh-keygen -y -f "out/ssh_m$1$k" | cut -d' ' -f1,2)" = \
                "$(cut -d' ' -f1,2 "out/ssh_m$1$k.pub")" ] || return 1
    done
}
check "six more ECDSA keys: each private key file reads back (ssh-keygen -y)" ssh_many_ok ecdsa
check "six more RSA keys: each private key file reads back (ssh-keygen -y)" \
    eval 'ssh_many_ok rsa'
ssh_rows() { sqlite3 out/inventory.db 'SELECT count(*) FROM certificates'; }
ssh_rows_before=$(ssh_rows)
check "ssh onto an existing key file -> exit 3 before anything is asked for" \
    eval 'run 3 "${as_plain[@]}" -- ssh --principal alice --out out/ssh_ed25519 &&
    says "already exists" && [ "$(ssh_rows)" = "$ssh_rows_before" ]'
: >out/ssh_half-cert.pub
check "ssh when only FILE-cert.pub exists -> exit 3, no key written" \
    eval 'run 3 "${as_plain[@]}" -- ssh --principal alice --out out/ssh_half &&
    says "already exists" && [ ! -e out/ssh_half ] && [ ! -e out/ssh_half.pub ]'
mkdir -p out/sshdef
check "ssh without --out writes ./id_ed25519, id_ed25519.pub, id_ed25519-cert.pub" \
    eval '(cd out/sshdef && env "${as_plain[@]}" "$cli" ssh --principal alice >../stdout) &&
    [ -e out/sshdef/id_ed25519 ] && [ -e out/sshdef/id_ed25519.pub ] &&
    ssh-keygen -L -f out/sshdef/id_ed25519-cert.pub | has "Type: ssh-ed25519-cert"'
check "ssh --type host -> a host certificate" \
    eval 'run 0 "${as_plain[@]}" -- ssh --type host --principal host1.client.example \
    --out out/ssh_host && ssh_ok ssh_host ssh-ed25519 host host1.client.example'
# ssh_valid_seconds L N: the "Valid: from A to B" of ssh-keygen -L output L spans N seconds.
ssh_valid_seconds() {
    local from to
    from=$(sed -n 's/^ *Valid: from \([^ ]*\) to .*/\1/p' "$1")
    to=$(sed -n 's/^ *Valid: from [^ ]* to \(.*\)$/\1/p' "$1")
    [ $(($(date -d "$to" +%s) - $(date -d "$from" +%s))) -eq "$2" ] ||
        { echo "     valid from $from to $to, not $2 s"; return 1; }
}
check "ssh with options: ttl, key id, force-command, source-address, one extension" \
    eval 'run 0 "${as_plain[@]}" -- ssh --principal alice --ttl-seconds 600 --key-id my-laptop \
    --force-command /bin/true --source-address 127.0.0.1/32,10.0.0.0/8 --extension permit-pty \
    --out out/ssh_opts && ssh-keygen -L -f out/ssh_opts-cert.pub >out/ssh_opts.L &&
    has -F "Key ID: \"my-laptop\"" <out/ssh_opts.L &&
    has -F "force-command /bin/true" <out/ssh_opts.L &&
    has -F "source-address 127.0.0.1/32,10.0.0.0/8" <out/ssh_opts.L &&
    has -F "permit-pty" <out/ssh_opts.L && ! has -F "permit-agent-forwarding" <out/ssh_opts.L &&
    prints "key_id: my-laptop" && ssh_valid_seconds out/ssh_opts.L 900'
ssh-keygen -q -t ecdsa -b 384 -N '' -C mine -f out/own_ssh
check "ssh --public-key K.pub -> only K-cert.pub, for that key" \
    eval 'run 0 "${as_plain[@]}" -- ssh --principal alice --public-key out/own_ssh.pub &&
    ssh-keygen -L -f out/own_ssh-cert.pub | has -F "$(ssh-keygen -l -f out/own_ssh.pub |
    cut -d" " -f2)" && prints "certificate: out/own_ssh-cert.pub" && ! prints "private_key"'
check "ssh --public-key of a certificate -> exit 3" \
    eval 'run 3 "${as_plain[@]}" -- ssh --principal alice --public-key out/ssh_opts-cert.pub &&
    says "is a certificate"'
check "ssh --public-key of a private key file -> exit 3" \
    eval 'cp out/own_ssh out/own2_ssh.pub && run 3 "${as_plain[@]}" -- ssh --principal alice \
    --public-key out/own2_ssh.pub && says "not an OpenSSH public key"'
check "a principal the policy denies -> exit 1 with the 403 reason, no file written" \
    eval 'run 1 "${as_limited[@]}" -- ssh --principal root --out out/ssh_denied &&
    says "HTTP 403 forbidden" && says "reason: ssh_principal_not_allowed" &&
    [ ! -e out/ssh_denied ] && [ ! -e out/ssh_denied.pub ] && [ ! -e out/ssh_denied-cert.pub ]'
check "a host certificate the policy denies -> exit 1, reason ssh_type_not_allowed" \
    eval 'run 1 "${as_limited[@]}" -- ssh --type host --principal device-limited \
    --out out/ssh_denied && says "reason: ssh_type_not_allowed"'
check "a principal the limited role's rule allows (device-*) -> exit 0" \
    eval 'run 0 "${as_limited[@]}" -- ssh --principal device-7 --out out/ssh_limited'

# ssh --keygen: the service makes the key (POST /v1/ssh/keys), sealed to an X25519 key hsmsign
# made for the request; hsmsign polls, opens it, checks key and certificate, writes the files.
check "ssh --keygen (Ed25519) -> exit 0; the key reads back, the certificate per -L" \
    eval 'run 0 "${as_plain[@]}" -- ssh --keygen --principal alice --principal ops \
    --out out/ssh_kg_ed && ssh_ok ssh_kg_ed ssh-ed25519 user alice ops'
check "ssh --keygen --key-type rsa-2048 -> exit 0, a 2048-bit RSA key" \
    eval 'run 0 "${as_plain[@]}" -- ssh --keygen --key-type rsa-2048 --principal alice \
    --key-id kg-rsa --out out/ssh_kg_rsa && ssh_ok ssh_kg_rsa ssh-rsa user alice &&
    ssh-keygen -l -f out/ssh_kg_rsa.pub | has "^2048 " && has -F "Key ID: \"kg-rsa\"" <out/ssh_kg_rsa.L'
check "ssh --keygen --key-type ecdsa -> exit 2 (the service makes ed25519, rsa-2048, rsa-4096)" \
    eval 'run 2 "${as_plain[@]}" -- ssh --keygen --key-type ecdsa --principal a --out out/ssh_bad &&
    says "ed25519, rsa-2048 or rsa-4096"'
check "ssh --keygen --public-key -> exit 2" \
    eval 'run 2 "${as_plain[@]}" -- ssh --keygen --principal a --public-key x.pub && says "--keygen"'
check "ssh --wait-seconds without --keygen -> exit 2" \
    eval 'run 2 "${as_plain[@]}" -- ssh --wait-seconds 5 --principal a --out out/ssh_bad &&
    says "--wait-seconds goes with --keygen"'
check "ssh --keygen onto an existing file -> exit 3 before anything is asked for" \
    eval 'run 3 "${as_plain[@]}" -- ssh --keygen --principal alice --out out/ssh_kg_ed &&
    says "already exists"'
check "ssh --keygen for a principal the policy denies -> exit 1, the 403 reason, no file" \
    eval 'run 1 "${as_limited[@]}" -- ssh --keygen --principal root --out out/ssh_kg_denied &&
    says "HTTP 403 forbidden" && says "reason: ssh_principal_not_allowed" &&
    [ ! -e out/ssh_kg_denied ] && [ ! -e out/ssh_kg_denied-cert.pub ]'
check "no line of the generated private keys is in hsmsignd's log" \
    $py - out/hsmsignd.log out/ssh_kg_ed out/ssh_kg_rsa <<'PY'
import sys
log = open(sys.argv[1]).read()
for f in sys.argv[2:]:
    body = [l for l in open(f).read().splitlines() if l and not l.startswith("-----")]
    assert len(body) > 3 and not any(l in log for l in body), f
PY

# ssh-ca: the CA lines, labelled; --known-hosts lines
check "ssh-ca -> exit 0, unsigned: user then host CA lines under their labels" \
    eval 'run 0 -- ssh-ca && [ "$(sed -n 1p out/stdout | cut -c1-15)" = "# user CA keys " ] &&
    sed -n 2p out/stdout | has "^ecdsa-sha2-nistp256 " &&
    [ "$(sed -n 3p out/stdout | cut -c1-15)" = "# host CA keys " ] &&
    sed -n 4p out/stdout | has "^ssh-rsa " && [ "$(wc -l <out/stdout)" -eq 4 ]'
sed -n 2p out/stdout >out/ssh_user_ca.pub
sed -n 4p out/stdout >out/ssh_host_ca.pub
check "the user certificates are signed by the published user CA key" \
    eval 'has -F "Signing CA: ECDSA $(ssh-keygen -l -f out/ssh_user_ca.pub | cut -d" " -f2)" \
    <out/ssh_ed25519.L'
check "ssh-ca --known-hosts PATTERN -> @cert-authority lines for the host CA keys" \
    eval 'run 0 -- ssh-ca --known-hosts "*.client.example" &&
    [ "$(cat out/stdout)" = "@cert-authority *.client.example $(cat out/ssh_host_ca.pub)" ]'
check "ssh-ca --known-hosts with a space -> exit 2" \
    eval 'run 2 -- ssh-ca --known-hosts "a b"'

# status, revoke, KRL
ssh_serial() { sed -n 's/^ *Serial: //p' "out/$1.L"; }
rsa_serial=$(ssh_serial ssh_rsa)
check "ssh-status SERIAL -> exit 0, good, the certificate's fields" \
    eval 'run 0 "${as_plain[@]}" -- ssh-status "$rsa_serial" && [ "$(field status)" = good ] &&
    [ "$(field cert_type)" = user ] && [ "$(field requested_by)" = "$plain_arn" ]'
check "ssh-revoke SERIAL --reason keyCompromise -> exit 0, revoked" \
    eval 'run 0 "${as_plain[@]}" -- ssh-revoke "$rsa_serial" --reason keyCompromise &&
    [ "$(field status)" = revoked ]'
check "ssh-status of the revoked certificate -> exit 5" \
    eval 'run 5 "${as_plain[@]}" -- ssh-status "$rsa_serial" && [ "$(field status)" = revoked ]'
check "ssh-status of another requester's certificate -> exit 1, 404" \
    eval 'run 1 "${as_limited[@]}" -- ssh-status "$rsa_serial" && says "HTTP 404 not_found"'
check "ssh-krl --out F -> exit 0; ssh-keygen -Q finds the revoked certificate, not the others" \
    eval 'run 0 -- ssh-krl --out out/ssh.krl && prints "krl_version: " &&
    ! ssh-keygen -Q -f out/ssh.krl out/ssh_rsa-cert.pub >/dev/null 2>&1 &&
    ssh-keygen -Q -f out/ssh.krl out/ssh_ed25519-cert.pub >/dev/null 2>&1'
check "ssh-krl onto an existing file -> exit 3" \
    eval 'run 3 -- ssh-krl --out out/ssh.krl && says "already exists"'

# A real login with the key and certificate hsmsign wrote (sshd trusts only the user CA line
# ssh-ca printed; the revoked RSA certificate is refused once the KRL is RevokedKeys).
ssh_why=
[ -x "$ssh_sshd_bin" ] || ssh_why="$ssh_sshd_bin not installed"
[ -n "$ssh_why" ] || ssh_why=$(ssh_account_problem)
if [ -z "$ssh_why" ]; then
    ssh_sshd_init "$work/sshd"
    ssh_principals ops
    if ssh_sshd_start out/ssh_user_ca.pub; then
        ssh_check_login "sshd: the Ed25519 key and certificate from hsmsign ssh log in" \
            out/ssh_ed25519 out/ssh_ed25519-cert.pub
        ssh_check_login "sshd: the ECDSA key and certificate from hsmsign ssh log in" \
            out/ssh_ecdsa out/ssh_ecdsa-cert.pub
        ssh_check_login "sshd: the key and certificate from hsmsign ssh --keygen log in" \
            out/ssh_kg_ed out/ssh_kg_ed-cert.pub
        ssh_check_login "sshd: the RSA key and certificate log in (before the KRL is set)" \
            out/ssh_rsa out/ssh_rsa-cert.pub
        # The host: sshd's own key certified with --public-key, trusted through the
        # @cert-authority line ssh-ca --known-hosts prints, with StrictHostKeyChecking=yes.
        check "ssh --type host --public-key HOST_KEY.pub -> HOST_KEY-cert.pub" \
            run 0 "${as_plain[@]}" -- ssh --type host --principal 127.0.0.1 \
            --public-key "$ssh_host_key.pub"
        check "ssh-ca --known-hosts '[127.0.0.1]:PORT' -> the known_hosts line" \
            eval 'run 0 -- ssh-ca --known-hosts "[127.0.0.1]:$ssh_port" &&
            cp out/stdout out/ssh_known_hosts'
        if ssh_sshd_host_cert "$ssh_host_key-cert.pub"; then
            ssh_check_login "sshd: the host certificate is trusted through @cert-authority" \
                out/ssh_ed25519 out/ssh_ed25519-cert.pub out/ssh_known_hosts yes
        else
            check "sshd takes the host certificate" false
        fi
        ssh_revoked_set out/ssh.krl
        ssh_check_refused "sshd: the revoked RSA certificate is refused with the KRL" \
            "Permission denied" "" out/ssh_rsa out/ssh_rsa-cert.pub
        ssh_check_login "sshd: the ECDSA one still logs in with the KRL" \
            out/ssh_ecdsa out/ssh_ecdsa-cert.pub
        ssh_sshd_stop
    else
        check "sshd started" false
    fi
elif [ "${CI:-}" = true ]; then
    check "sshd login checks can run under CI ($ssh_why)" false
else
    echo "skip sshd login checks: $ssh_why"
fi
# ===== end of the ssh commands' block =============================================================

# --- refusals: exit 1 with code, message, reason and request id ---------------------------------
check "a wrong secret -> exit 1 signature_mismatch, with the request id" \
    eval 'run 1 AWS_ACCESS_KEY_ID=$plain_id AWS_SECRET_ACCESS_KEY=${plain_secret}x -- token \
    --audience a && says "HTTP 401 signature_mismatch" && says "request id: " &&
    grep -q "\"req_id\":\"$(sed -n "s/^  request id: //p" out/stderr)\"" out/hsmsignd.log'
check "an unknown access key -> exit 1 unknown_access_key" \
    eval 'run 1 AWS_ACCESS_KEY_ID=AKIANOBODY0000000000 AWS_SECRET_ACCESS_KEY=x -- token \
    --audience a && says "unknown_access_key"'
check "another region -> exit 1 credential_scope_mismatch" \
    eval 'run 1 "${as_plain[@]}" -- --region us-east-1 token --audience a &&
    says "credential_scope_mismatch"'
check "policy: a name no rule allows -> exit 1 forbidden, reason name_not_allowed" \
    eval 'run 1 "${as_limited[@]}" -- cert --cn printer-1 --out-key out/p.key \
    --out-cert out/p.pem && says "HTTP 403 forbidden: the caller is not allowed to do this" &&
    says "reason: name_not_allowed" && says "request id: " && [ ! -e out/p.key ] && [ ! -e out/p.pem ]'
check "policy: the allowed name for the limited role -> exit 0" \
    eval 'run 0 "${as_limited[@]}" -- cert --cn device-7 --dns d7.devices.example.com \
    --out-key out/d7.key --out-cert out/d7.pem'
check "policy: an audience no rule allows -> exit 1, reason audience_not_allowed" \
    eval 'run 1 "${as_limited[@]}" -- token --audience other && says "reason: audience_not_allowed"'
check "policy: another requester's certificate -> exit 1, HTTP 404 not_found (as if there were none)" \
    eval 'run 1 "${as_limited[@]}" -- status "$serial" && says "HTTP 404 not_found" &&
    ! says "not_owner_or_admin"'
check "a server profile without a DNS name -> exit 1 invalid_csr with a detail" \
    eval 'run 1 "${as_plain[@]}" -- cert --cn nodns --profile server --out-key out/nd.key \
    --out-cert out/nd.pem && says "invalid_csr" && says "detail: "'

# --- credentials --------------------------------------------------------------------------------
check "no credentials at all -> exit 3 naming where it looked" \
    eval 'run 3 -- token --audience a && says "no credentials" && says ".aws/credentials"'
check "AWS_ACCESS_KEY_ID without AWS_SECRET_ACCESS_KEY -> exit 3" \
    eval 'run 3 AWS_ACCESS_KEY_ID=$plain_id -- token --audience a &&
    says "AWS_SECRET_ACCESS_KEY is not"'
check "session credentials from the environment (AWS_SESSION_TOKEN) -> exit 0, sub = session ARN" \
    eval 'run 0 "${as_session[@]}" -- token --audience s && cp out/stdout out/s.jwt &&
    jwt_ok out/s.jwt ES256 s "$session_arn"'
check "session key without its session token -> exit 1, refused" \
    eval 'run 1 AWS_ACCESS_KEY_ID=$session_id AWS_SECRET_ACCESS_KEY=$session_secret -- token \
    --audience s && says "HTTP 401"'
check "a wrong session token -> exit 1, refused" \
    eval 'run 1 "${as_session[@]}" AWS_SESSION_TOKEN=${session_token}x -- token --audience s &&
    says "HTTP 401"'
mkdir -p home/.aws
umask 077
{
    printf '# hsmsign test credentials\r\n; with comments, blanks, CRLF and odd spacing\r\n\r\n'
    printf '[default]\r\naws_access_key_id=%s\r\naws_secret_access_key = %s\r\n\r\n' \
        "$limited_id" "$limited_secret"
    printf '  [ plain ]   # the plain role\n'
    printf '\taws_access_key_id   =   %s   ; trailing comment\n' "$plain_id"
    printf 'AWS_Secret_Access_Key\t=\t%s\n' "$plain_secret"
    printf 'region = eu-west-3\ns3 =\n    max_concurrent_requests = 10\n\n'
    printf '[session]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
        "$session_id" "$session_secret"
    printf 'aws_session_token = %s\n' "$session_token"
    printf '[broken]\naws_access_key_id = %s\n' "$plain_id"
    printf '[sso]\nsso_start_url = https://example.awsapps.com/start\nsso_role_name = x\n'
} >home/.aws/credentials
umask 022
check "credentials file, profile default (no env, no AWS_PROFILE) -> the default profile's caller" \
    eval 'run 0 -- token --audience snowflake && cp out/stdout out/d.jwt &&
    jwt_ok out/d.jwt ES256 snowflake "$limited_arn"'
check "credentials file, AWS_PROFILE=plain (indented, comments, tabs, mixed case keys)" \
    eval 'run 0 AWS_PROFILE=plain -- token --audience p && cp out/stdout out/p.jwt &&
    jwt_ok out/p.jwt ES256 p "$plain_arn"'
check "credentials file, --profile-name session (with aws_session_token) -> sub = session ARN" \
    eval 'run 0 -- --profile-name session -v token --audience ss && cp out/stdout out/ss.jwt &&
    jwt_ok out/ss.jwt ES256 ss "$session_arn" && says "with a session token"'
check "--profile-name outranks the environment's keys (as in the AWS CLI)" \
    eval 'run 0 AWS_ACCESS_KEY_ID=$plain_id AWS_SECRET_ACCESS_KEY=wrong -- token --audience x \
    --profile-name plain'
check "the environment's keys outrank AWS_PROFILE" \
    eval 'run 0 "${as_plain[@]}" AWS_PROFILE=session -- -v token --audience x &&
    says "signing as $plain_id (from the environment)"'
check "a profile without keys -> exit 3 naming it" \
    eval 'run 3 -- --profile-name broken token --audience a && says "profile [broken] has no"'
check "an SSO profile -> exit 3, not supported" \
    eval 'run 3 -- --profile-name sso token --audience a && says "sso"'
check "an unknown profile -> exit 3" \
    eval 'run 3 AWS_PROFILE=nobody -- token --audience a && says "no profile [nobody]"'
printf '[default]\naws_access_key_id = %s\naws_secret_access_key\n' "$plain_id" >out/bad.creds
check "a malformed credentials file -> exit 3 naming the line, not its content" \
    eval 'run 3 AWS_SHARED_CREDENTIALS_FILE=$work/out/bad.creds -- token --audience a &&
    says "line 3: expected" && says "bad.creds"'
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$plain_id" \
    "$plain_secret" >out/other.creds
check "AWS_SHARED_CREDENTIALS_FILE names another file" \
    eval 'run 0 AWS_SHARED_CREDENTIALS_FILE=$work/out/other.creds -- token --audience o &&
    cp out/stdout out/o.jwt && jwt_ok out/o.jwt ES256 o "$plain_arn"'

# --- the AWS SDKs' chain: region from ~/.aws/config, credential_process, IMDSv2 -------------
# No AWS_REGION: the region comes from the config file's [default]; the credentials from a
# credential_process, then from an IMDSv2 stand-in that serves the session keys hsmsignd knows.
mkdir -p chain/.aws imds/.aws
umask 077
cat >chain/creds.sh <<EOF2
#!/bin/sh
printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s"}' "$plain_id" "\$(cat "$work/out/plain.secret")"
EOF2
chmod 700 chain/creds.sh
printf '[default]\nregion = %s\ncredential_process = %s/chain/creds.sh\n' "$region" "$work" \
    >chain/.aws/config
printf '[default]\nregion = %s\n' "$region" >imds/.aws/config
umask 022
check "credential_process and the region from ~/.aws/config (no AWS_REGION) -> a certificate" \
    eval 'run 0 HOME=$work/chain AWS_REGION= -- -v cert --cn chain.client.example \
    --out-key out/chain.key --out-cert out/chain.pem --out-chain out/chain.chain &&
    cert_ok chain && says "(from credential_process of profile [default]), region $region"'
imds_pid=
STANDIN_IMDS_ID=$session_id STANDIN_IMDS_SECRET=$session_secret STANDIN_IMDS_TOKEN=$session_token \
    /usr/bin/python3 "$(dirname "$0")/../aws/aws_standin.py" out/imds.port &
imds_pid=$!
for _ in $(seq 1 100); do [ -s out/imds.port ] && break; sleep 0.05; done
imds_url=http://127.0.0.1:$(cat out/imds.port)
check "IMDSv2 credentials (token, role, session keys) and the config file's region -> a certificate" \
    eval 'run 0 HOME=$work/imds AWS_REGION= AWS_EC2_METADATA_DISABLED= \
    AWS_EC2_METADATA_SERVICE_ENDPOINT=$imds_url -- -v cert --cn imds.client.example \
    --out-key out/imds.key --out-cert out/imds.pem --out-chain out/imds.chain && cert_ok imds &&
    says "signing as $session_id with a session token (from instance metadata"'
check "instance metadata that does not answer -> exit 3, no credentials" \
    eval 'run 3 HOME=$work/imds AWS_EC2_METADATA_DISABLED= \
    AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1 -- token --audience a &&
    says "no credentials"'
kill "$imds_pid" 2>/dev/null || true
wait "$imds_pid" 2>/dev/null || true

# --- transport: exit 4 ---------------------------------------------------------------------------
check "nothing listening at the endpoint -> exit 4" \
    eval 'run 4 "${as_plain[@]}" -- --endpoint http://127.0.0.1:1 token --audience a &&
    says "no usable answer from the endpoint"'
check "an endpoint that does not resolve -> exit 4" \
    eval 'run 4 -- --endpoint https://no-such-host.invalid jwks'
check "https to a plain HTTP server -> exit 4" \
    eval 'run 4 -- --endpoint "${svc_url/http:/https:}" jwks'
check "--cacert that does not exist -> exit 3" \
    eval 'run 3 -- --endpoint "${svc_url/http:/https:}" --cacert out/nope.pem jwks'

# A stub: a server that never answers (timeouts), API Gateway's own error answers, an HTML page,
# an endless answer, and a recorder of what hsmsign sent through an API Gateway stage path.
cat >out/stub.py <<'PY'
import http.server, json, socketserver, sys, time
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def answer(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        p = self.path
        if p.startswith("/slow/"):
            time.sleep(5)
            return self.answer(200, b"{}")
        if p.startswith("/apigw-denied/"):
            return self.answer(
                403, b'{"message":"The security token included in the request is invalid."}',
                [("x-amzn-RequestId", "8f2c1d3e-0000-4000-8000-apigw0000001"),
                 ("x-amzn-ErrorType", "UnrecognizedClientException:"
                  "http://internal.amazon.com/coral/com.amazon.coral.service/"),
                 ("Content-Type", "application/json")])
        if p.startswith("/html/"):
            return self.answer(200, b"<html><body>\x1b[31mhello</body></html>",
                               [("Content-Type", "text/html")])
        if p.startswith("/huge/"):
            return self.answer(200, b"{" + b" " * (512 * 1024) + b"}",
                               [("Content-Type", "application/json")])
        if p.startswith("/prod/"):
            rec = {"method": self.command, "path": p, "headers": list(self.headers.items()),
                   "body": body.decode()}
            with open(sys.argv[2], "w") as f:
                json.dump(rec, f)
            return self.answer(200, b'{"token": "a.b.c", "token_type": "Bearer"}',
                               [("Content-Type", "application/json"),
                                ("X-Request-Id", "stubreq000000001")])
        self.answer(404, b"{}")
    do_GET = do_POST = handle_any
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address):
        pass  # hsmsign hangs up on an answer over its bound: expected
s = S(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
$py out/stub.py out/stub.port out/stub.request &
stub_pid=$!
for _ in $(seq 1 100); do [ -s out/stub.port ] && break; sleep 0.05; done
stub=http://127.0.0.1:$(cat out/stub.port)
timed_out() {
    local t0=$SECONDS
    run 4 "${as_plain[@]}" -- --endpoint "$stub/slow" --timeout-seconds 1 token --audience a &&
        says "timed out" && [ $((SECONDS - t0)) -le 3 ]
}
check "--timeout-seconds 1 against a server that does not answer -> exit 4 within the limit" \
    timed_out
check "API Gateway's own refusal -> exit 1 with its error type, message and request id" \
    eval 'run 1 "${as_plain[@]}" -- --endpoint "$stub/apigw-denied" token --audience a &&
    says "HTTP 403 UnrecognizedClientException: The security token included in the request is invalid." &&
    says "request id: 8f2c1d3e-0000-4000-8000-apigw0000001"'
check "a 200 that is not JSON (an HTML page) -> exit 4, control characters not printed" \
    eval 'run 4 -- --endpoint "$stub/html" jwks && says "not what the API promises" &&
    ! has -F $'"'"'\x1b'"'"' <out/stderr'
check "an answer over the size bound -> exit 4" \
    eval 'run 4 -- --endpoint "$stub/huge" jwks && says "larger than"'
check "--endpoint with a stage path: the route is appended to it" \
    eval 'run 0 "${as_session[@]}" -- --endpoint "$stub/prod/" token --audience stage &&
    $py -c "import json; r=json.load(open(\"out/stub.request\")); assert r[\"path\"] == \"/prod/v1/tokens\", r"'
signed_headers() {
    $py - <<'PY'
import json, re
r = json.load(open("out/stub.request"))
h = {k.lower(): v for k, v in r["headers"]}
m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
             r"SignedHeaders=([^,]+), Signature=[0-9a-f]{64}$", h["authorization"])
assert m, h["authorization"]
signed = m.group(5).split(";")
assert m.group(3) == "eu-west-3" and m.group(4) == "execute-api", m.groups()
assert "x-amz-security-token" in signed and "x-amz-date" in signed and "host" in signed, signed
assert "content-type" in signed and h["content-type"] == "application/json", signed
assert all(s in h for s in signed), (signed, list(h))   # nothing signed that was not sent
assert "expect" not in signed, signed
PY
}
check "SigV4 as API Gateway checks it: every signed header sent, the session token signed" \
    signed_headers
if $py -c 'import botocore' 2>/dev/null; then
    botocore_agrees() {
        $py - "$session_id" "$session_secret" "$session_token" "$stub" <<'PY'
import json, sys, datetime
import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
akid, secret, token, stub = sys.argv[1:5]
r = json.load(open("out/stub.request"))
h = {k.lower(): v for k, v in r["headers"]}
signed = h["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
req = AWSRequest(method=r["method"], url=stub + r["path"], data=r["body"].encode())
for k in signed:
    if k not in ("host", "x-amz-date", "x-amz-security-token"):
        req.headers[k] = h[k]
when = datetime.datetime.strptime(h["x-amz-date"], "%Y%m%dT%H%M%SZ")
class Frozen(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return when
import types
botocore.auth.datetime = types.SimpleNamespace(datetime=Frozen)
SigV4Auth(Credentials(akid, secret, token), "execute-api", "eu-west-3").add_auth(req)
ours = h["authorization"].split("Signature=")[1]
theirs = req.headers["Authorization"].split("Signature=")[1]
assert ours == theirs, (h["authorization"], req.headers["Authorization"])
PY
    }
    check "botocore computes the same signature for the stage-path request (API Gateway's view)" \
        botocore_agrees
fi
stop_stub

# --- -v, and the secret nowhere -------------------------------------------------------------------
verbose_ok() {
    run 0 "${as_plain[@]}" -- -v token --audience v || return 1
    local id
    id=$(sed -n 's/.*POST \/v1\/tokens -> 200 in [0-9.]* ms, request id \([0-9a-f]*\)$/\1/p' out/stderr)
    [ ${#id} -eq 16 ] && grep -q "\"req_id\":\"$id\"" out/hsmsignd.log &&
        says "signing as $plain_id (from the environment), region $region, service execute-api"
}
check "-v prints the credentials' source, the request id (as in the service's log) and timing" \
    verbose_ok
secret_nowhere() {
    local s
    for s in "$plain_secret" "$session_secret" "$limited_secret" "$decoy"; do
        ! grep -qF -- "$s" out/all-output out/hsmsignd.log || { echo "     in output/log"; return 1; }
    done
    for s in "$plain_secret" "$session_secret" "$limited_secret"; do
        ! grep -qF -- "$s" out/all-argv || { echo "     in argv"; return 1; }
    done
}
check "no secret access key in any output ($n_runs runs), the service's log or argv" \
    secret_nowhere
# While hsmsign runs, its argv and environment as others see them (ps) hold no secret.
ps_clean() {
    env "${as_plain[@]}" "$cli" --endpoint "$stub/slow" --timeout-seconds 3 token --audience a \
        >/dev/null 2>&1 &
    local pid=$! seen
    sleep 0.5
    seen=$(ps -o args= -p "$pid" 2>/dev/null || true)
    wait "$pid" 2>/dev/null || true
    [ -n "$seen" ] && ! has -F -- "$plain_secret" <<<"$seen"
}
$py out/stub.py out/stub.port2 out/stub.request2 &
stub_pid=$!
for _ in $(seq 1 100); do [ -s out/stub.port2 ] && break; sleep 0.05; done
stub=http://127.0.0.1:$(cat out/stub.port2)
check "a running hsmsign shows no secret in ps" ps_clean
stop_stub
finish
