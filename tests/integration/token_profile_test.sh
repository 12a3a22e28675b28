#!/usr/bin/env bash
# Token profiles (issue 12, deliverables 2 and 3) against a real hsmsignd on a fresh SoftHSM2
# token with an RS256 and an ES256 JWT key: POST /v1/tokens {"profile"} allowed and denied by
# the policy (with the reason), every subject derivation (user_name, role_session_name,
# principal_arn, strip_domain, lookup) and the callers it cannot name (403 subject_unmapped),
# the fixed claims and the policy's, audience/alg/ttl conflicts (400), the kid of the profile's
# key; the Snowflake token through PyJWT with the checks Snowflake documents
# (tests/integration/snowflake_check.py, docs/snowflake.md) and through hsmsign-authorizer
# --check-token with a scope route; start-up refusals of bad profiles (a key that is none of the
# JWT keys, or signs with another alg); and `hsmsign call` against a small API on 127.0.0.1 that
# verifies the bearer token with the JWKS (tests/integration/bearer_server.py).
. "$(dirname "$0")/lib.sh"
require curl openssl
hsmsignd=${HSMSIGND:?} kc=${KEYCEREMONY:?} authz=${HSMSIGN_AUTHORIZER:?} cli=${HSMSIGN_CLI:?}
work=$(mktemp -d)
api_pid=
stop_api() {
    if [ -n "$api_pid" ]; then
        kill -TERM "$api_pid" 2>/dev/null || true
        wait "$api_pid" 2>/dev/null || true
        api_pid=
    fi
}
trap 'stop_hsmsignd; stop_api; rm -rf "$work"' EXIT
cd "$work"
mkdir -p out cfg
label=tp-test
new_token "$work/token" "$label" >/dev/null
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"

# --- ceremony: an EC issuing CA, ES256 and RS256 JWT keys in one JWK Set ----------------------
cat >cfg/root.json <<EOF
{ $token, "key": {"label": "tp-root"},
  "certificate": {"subject": {"CN": "TP Root"}, "validity_days": 30, "output": "out/root.pem"} }
EOF
cat >cfg/int.json <<EOF
{ $token, "issuer": {"key": "tp-root", "certificate": "out/root.pem"},
  "key": {"label": "tp-issuing"},
  "certificate": {"subject": {"CN": "TP Issuing"}, "validity_days": 10, "output": "out/int.pem"} }
EOF
cat >cfg/jwt-es.json <<EOF
{ $token, "key": {"label": "tp-jwt-es"}, "alg": "ES256", "jwks": "out/jwks.json" }
EOF
cat >cfg/jwt-rs.json <<EOF
{ $token, "key": {"label": "tp-jwt-rs", "type": "RSA-2048"}, "alg": "RS256",
  "jwks": "out/jwks.json" }
EOF
for step in root:root intermediate:int jwt-key:jwt-es jwt-key:jwt-rs; do
    "$kc" "${step%%:*}" --config "cfg/${step#*:}.json" 2>>out/ceremony.log ||
        { echo "ceremony step $step failed"; tail -3 out/ceremony.log; exit 1; }
done
cat out/int.pem out/root.pem >out/chain.pem
kid_of() { $py -c 'import json,sys; print([k["kid"] for k in json.load(open("out/jwks.json"))["keys"] if k["alg"] == sys.argv[1]][0])' "$1"; }
es_kid=$(kid_of ES256)
rs_kid=$(kid_of RS256)

# --- callers ----------------------------------------------------------------------------------
acct=123456789012
sso_role=AWSReservedSSO_Analyst_0abc
alice=arn:aws:sts::$acct:assumed-role/$sso_role/alice@example.com
carol=arn:aws:sts::$acct:assumed-role/$sso_role/carol@example.com
mallory=arn:aws:sts::$acct:assumed-role/$sso_role/mallory@evil.example
bob=arn:aws:iam::$acct:user/path/bob
stranger=arn:aws:iam::$acct:role/stranger
nobody=arn:aws:iam::$acct:role/nobody
callers=(alice carol mallory bob stranger nobody)
umask 077
for who in "${callers[@]}"; do
    head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >"out/$who.secret"
done
umask 022
akid() { printf 'AKIATPTEST%010d' "$1"; }
issuer=https://hsmsign.tp.example
sf_aud=https://xy12345.eu-west-1.snowflakecomputing.com
keys_json=
i=0
for who in "${callers[@]}"; do
    i=$((i + 1))
    keys_json+="${keys_json:+, }{\"access_key_id\": \"$(akid $i)\", \"secret_file\": \"out/$who.secret\", \"principal_arn\": \"${!who}\"}"
    sigv4_curl_cfg "out/$who.curl" "$(akid $i)" "out/$who.secret" # for curl -K
done

# write_config FILE PROFILES: the service's config with this "token_profiles" member.
write_config() {
    cat >"$1" <<EOF
{ "listen": "127.0.0.1:0", $token,
  "ca": {"key": "tp-issuing", "chain_file": "out/chain.pem"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "$issuer", "jwks_file": "out/jwks.json", "default_alg": "ES256",
          "max_ttl_seconds": 3600},
  "token_profiles": $2,
  "auth": {"sigv4": {"region": "eu-west-1", "access_keys": [$keys_json]}},
  "policy": {"rules": [
    {"principals": ["arn:aws:sts::$acct:assumed-role/AWSReservedSSO_Analyst_*/*"],
     "token_profiles": ["snowflake-analyst", "sf-lookup", "by-arn", "svc-user"],
     "token_claims": {"groups": ["analysts"], "scp": ["session:role:ACCOUNTADMIN"]},
     "audiences": ["$sf_aud"], "max_token_ttl_seconds": 3600},
    {"principals": ["$bob"], "token_profiles": ["svc-user", "snowflake-analyst"]},
    {"principals": ["$stranger"], "audiences": ["https://api.example.com"]}
  ]} }
EOF
}
profiles="{
  \"snowflake-analyst\": {\"audience\": \"$sf_aud\", \"ttl_seconds\": 600, \"alg\": \"RS256\",
    \"key\": \"tp-jwt-rs\",
    \"subject\": {\"from\": \"role_session_name\", \"strip_domain\": \"@example.com\"},
    \"claims\": {\"scp\": [\"session:role:ANALYST\"]}, \"claims_from_policy\": true},
  \"sf-lookup\": {\"audience\": \"$sf_aud\", \"ttl_seconds\": 300, \"alg\": \"RS256\",
    \"key\": \"$rs_kid\",
    \"subject\": {\"from\": \"role_session_name\", \"strip_domain\": \"@EXAMPLE.com\",
                \"lookup\": {\"alice\": \"ALICE_SMITH\"}},
    \"claims\": {\"scp\": [\"session:role:ANALYST\"]}},
  \"by-arn\": {\"audience\": \"https://api.example.com\", \"ttl_seconds\": 120, \"alg\": \"ES256\",
    \"key\": \"tp-jwt-es\", \"subject\": {\"from\": \"principal_arn\"}},
  \"svc-user\": {\"audience\": \"https://api.example.com\", \"ttl_seconds\": 900, \"alg\": \"ES256\",
    \"key\": \"$es_kid\", \"subject\": {\"from\": \"user_name\"},
    \"claims\": {\"scope\": \"read write\", \"tier\": 2, \"internal\": true}},
  \"unlisted\": {\"audience\": \"$sf_aud\", \"ttl_seconds\": 60, \"alg\": \"RS256\",
    \"key\": \"tp-jwt-rs\", \"subject\": {\"from\": \"principal_arn\"}}
}"
write_config cfg/hsmsignd.json "$profiles"
start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log || exit 1

# token WHO BODY: POST /v1/tokens as WHO; the status, the answer in out/resp.
token() {
    printf '%s' "$2" >out/req
    sigv4_call aws:amz:eu-west-1:execute-api "out/$1.curl" POST "$svc_url/v1/tokens" out/req
}
# denied WANT_STATUS WANT_ERROR [WANT_REASON] -- STATUS: checks the error answer in out/resp.
expect_error() {
    local want=$1 err=$2 reason=$3 got=$4
    [ "$got" = "$want" ] || { echo "     status $got, body $(head -c 300 out/resp)"; return 1; }
    $py - "$err" "$reason" <<'PY'
import json, sys
d = json.load(open("out/resp"))
assert d["error"] == sys.argv[1], d
assert sys.argv[2] == "-" or d.get("reason") == sys.argv[2], d
PY
}
# claims WANT_STATUS STATUS PYTHON-CONDITION: the token in out/resp verified with the JWKS
# (PyJWT, the key by kid), then the condition on h (header), c (claims) and r (the answer).
claims() {
    local want=$1 got=$2
    [ "$got" = "$want" ] || { echo "     status $got, body $(head -c 300 out/resp)"; return 1; }
    $py - "$3" "$issuer" <<'PY'
import json, sys, jwt
r = json.load(open("out/resp"))
tok = r["token"]
h = jwt.get_unverified_header(tok)
jwk = {k["kid"]: k for k in json.load(open("out/jwks.json"))["keys"]}[h["kid"]]
c = jwt.decode(tok, jwt.PyJWK(jwk).key, algorithms=[jwk["alg"]], audience=jwt.decode(tok, options={"verify_signature": False})["aud"], issuer=sys.argv[2])
ok = eval(sys.argv[1])
if not ok:
    print("     header", h, "claims", c)
sys.exit(0 if ok else 1)
PY
}

# --- allowed, and what the token says ---------------------------------------------------------
check "alice, snowflake-analyst: sub from the role session name with @example.com stripped, RS256 by the profile's key" \
    claims 200 "$(token alice '{"profile": "snowflake-analyst"}')" \
    "h['alg'] == 'RS256' and h['kid'] == '$rs_kid' and r['kid'] == '$rs_kid' and c['sub'] == 'alice' and c['aud'] == '$sf_aud' and c['exp'] - c['iat'] == 600 and r['expires_in'] == 600"
cp out/resp out/alice-sf.json
check "the profile's fixed claims win over the policy's; the policy adds its other claims (claims_from_policy)" \
    claims 200 "$(token alice '{"profile": "snowflake-analyst"}')" \
    "c['scp'] == ['session:role:ANALYST'] and c['groups'] == ['analysts'] and 'cnf' not in c"
check "sf-lookup (key by kid, strip_domain ignoring case): alice -> the lookup's ALICE_SMITH" \
    claims 200 "$(token alice '{"profile": "sf-lookup"}')" \
    "c['sub'] == 'ALICE_SMITH' and h['kid'] == '$rs_kid' and 'groups' not in c and c['exp'] - c['iat'] == 300"
check "by-arn: sub is the principal ARN, ES256 key by label" \
    claims 200 "$(token alice '{"profile": "by-arn"}')" \
    "c['sub'] == '$alice' and h['alg'] == 'ES256' and h['kid'] == '$es_kid'"
check "svc-user: bob (arn:aws:iam::...:user/path/bob) -> sub bob; integer, boolean and string claims" \
    claims 200 "$(token bob '{"profile": "svc-user"}')" \
    "c['sub'] == 'bob' and c['tier'] == 2 and c['internal'] is True and c['scope'] == 'read write' and h['kid'] == '$es_kid' and c['exp'] - c['iat'] == 900"
check "a request may repeat what the profile fixes" \
    claims 200 "$(token alice "{\"profile\": \"snowflake-analyst\", \"audience\": \"$sf_aud\", \"alg\": \"RS256\", \"ttl_seconds\": 600}")" \
    "c['sub'] == 'alice'"
check "without a profile the request is as before (audience, default alg, sub = the ARN)" \
    claims 200 "$(token stranger '{"audience": "https://api.example.com"}')" \
    "c['sub'] == '$stranger' and h['alg'] == 'ES256' and 'scp' not in c"

# Concurrent requests share the profile's claims (copied per token, never referenced).
parallel_tokens() {
    local n k=0
    local -a pids=()
    for n in $(seq 1 24); do
        curl -sS -o "out/par.$n" -w '%{http_code}\n' --aws-sigv4 aws:amz:eu-west-1:execute-api \
            -K out/alice.curl -H 'Content-Type: application/json' \
            --data-binary '{"profile": "snowflake-analyst"}' "$svc_url/v1/tokens" >"out/par.$n.status" &
        pids+=($!)
    done
    wait "${pids[@]}" # not a bare wait: hsmsignd is a child too
    for n in $(seq 1 24); do
        [ "$(cat "out/par.$n.status")" = 200 ] && has -F '"token"' <"out/par.$n" && k=$((k + 1))
    done
    [ "$k" = 24 ] || { echo "     $k of 24 answered 200 with a token"; return 1; }
    kill -0 "$svc_pid"
}
check "24 concurrent profile tokens: all issued, hsmsignd still up" parallel_tokens

# --- refused ----------------------------------------------------------------------------------
check "a profile no rule for the caller lists -> 403 token_profile_not_allowed" \
    expect_error 403 forbidden token_profile_not_allowed "$(token alice '{"profile": "unlisted"}')"
check "a caller whose rules list no token profile -> 403 token_profile_not_allowed" \
    expect_error 403 forbidden token_profile_not_allowed "$(token stranger '{"profile": "by-arn"}')"
check "a caller no rule names -> 403 no_matching_rule" \
    expect_error 403 forbidden no_matching_rule "$(token nobody '{"profile": "by-arn"}')"
check "role_session_name asked of an IAM user (bob) -> 403 subject_unmapped" \
    expect_error 403 subject_unmapped subject_unmapped "$(token bob '{"profile": "snowflake-analyst"}')"
check "user_name asked of an assumed role (alice) -> 403 subject_unmapped" \
    expect_error 403 subject_unmapped subject_unmapped "$(token alice '{"profile": "svc-user"}')"
check "a session name outside strip_domain (mallory@evil.example) -> 403 subject_unmapped" \
    expect_error 403 subject_unmapped subject_unmapped "$(token mallory '{"profile": "snowflake-analyst"}')"
check "a name outside the lookup (carol) -> 403 subject_unmapped" \
    expect_error 403 subject_unmapped subject_unmapped "$(token carol '{"profile": "sf-lookup"}')"
no_lookup_echo() { ! grep -q ALICE_SMITH out/resp; }
check "the subject_unmapped answer does not echo the lookup table" no_lookup_echo
check "another audience than the profile's -> 400" \
    expect_error 400 invalid_field - "$(token alice '{"profile": "snowflake-analyst", "audience": "https://evil.example"}')"
check "another alg than the profile's -> 400" \
    expect_error 400 invalid_field - "$(token alice '{"profile": "snowflake-analyst", "alg": "ES256"}')"
check "another lifetime than the profile's -> 400" \
    expect_error 400 invalid_field - "$(token alice '{"profile": "snowflake-analyst", "ttl_seconds": 601}')"
check "an unknown profile -> 400" \
    expect_error 400 invalid_field - "$(token alice '{"profile": "nope"}')"
check "neither audience nor profile -> 400" \
    expect_error 400 invalid_field - "$(token alice '{"ttl_seconds": 60}')"
check "the 400 names the field" \
    has -F 'field \"audience\" is required' <out/resp
check "every profile token is audited with its profile and subject" \
    has -F '"event":"token.profile.issued"' <out/hsmsignd.log

# --- the Snowflake checks (PyJWT), and hsmsign-authorizer -------------------------------------
$py -c 'import json; print(json.load(open("out/alice-sf.json"))["token"])' >out/sf.jwt
check "the Snowflake token passes PyJWT with Snowflake's documented checks (RS256 by kid, iss, aud, exp/iat/nbf, scp role list, sub)" \
    $py "$repo/tests/integration/snowflake_check.py" out/sf.jwt out/jwks.json "$issuer" "$sf_aud" alice ANALYST
check_fails "... and fails them for another audience (the check can fail)" "InvalidAudienceError" \
    $py "$repo/tests/integration/snowflake_check.py" out/sf.jwt out/jwks.json "$issuer" https://other.snowflakecomputing.com alice ANALYST
check_fails "... and for another expected login name" "expected 'bob'" \
    $py "$repo/tests/integration/snowflake_check.py" out/sf.jwt out/jwks.json "$issuer" "$sf_aud" bob ANALYST
cat >cfg/authz.json <<EOF
{ "issuer": "$issuer", "audiences": ["$sf_aud"], "algorithms": ["RS256", "ES256"],
  "leeway_seconds": 30, "jwks": {"file": "$work/out/jwks.json"},
  "routes": {"GET /snowflake": {"scopes": ["session:role:ANALYST"]},
             "GET /admin": {"scopes": ["session:role:ACCOUNTADMIN"]}} }
EOF
decision() { # ROUTE: hsmsign-authorizer --check-token - on out/sf.jwt; "decision reason"
    "$authz" --config cfg/authz.json --check-token - --route "$1" <out/sf.jwt 2>>out/authz.log |
        $py -c 'import json,sys; d=json.load(sys.stdin); print(d["decision"], d["reason"], d.get("sub", ""))' || true
}
check "hsmsign-authorizer --check-token allows it on a route wanting session:role:ANALYST (sub alice)" \
    test "$(decision "GET /snowflake")" = "Allow ok alice"
check "... and denies it on a route wanting a scope it lacks (the policy's ACCOUNTADMIN never got in)" \
    test "$(decision "GET /admin")" = "Deny scope_missing alice"

# --- start-up refusals ------------------------------------------------------------------------
refuses() { # TEXT PROFILES: hsmsignd refuses to start, saying TEXT
    write_config cfg/bad.json "$2"
    local rc=0
    timeout 30 "$hsmsignd" --config cfg/bad.json >out/bad.log 2>&1 || rc=$?
    [ "$rc" -ne 0 ] && grep -qF -- "$1" out/bad.log || { echo "     rc $rc: $(tail -c 400 out/bad.log)"; return 1; }
}
one() { # KEY ALG: one profile "p" with this key and alg
    printf '{"p": {"audience": "a", "ttl_seconds": 60, "alg": "%s", "key": "%s", "subject": {"from": "principal_arn"}}}' "$2" "$1"
}
tp_rules_ok='{"snowflake-analyst": {"audience": "a", "ttl_seconds": 60, "alg": "ES256", "key": "tp-jwt-es", "subject": {"from": "principal_arn"}},
  "sf-lookup": {"audience": "a", "ttl_seconds": 60, "alg": "ES256", "key": "tp-jwt-es", "subject": {"from": "principal_arn"}},
  "by-arn": {"audience": "a", "ttl_seconds": 60, "alg": "ES256", "key": "tp-jwt-es", "subject": {"from": "principal_arn"}},
  "svc-user": {"audience": "a", "ttl_seconds": 60, "alg": "ES256", "key": "tp-jwt-es", "subject": {"from": "principal_arn"}}'
check "a profile whose key is none of the JWT keys -> hsmsignd refuses to start, naming it" \
    refuses 'token_profiles.p.key: "no-such-key" is none of the JWT keys' "${tp_rules_ok}, $(one no-such-key ES256 | sed 's/^{//')"
check "a profile whose key signs with another alg -> refused" \
    refuses 'token_profiles.p.key: the key signs with RS256, not ES256' "${tp_rules_ok}, $(one tp-jwt-rs ES256 | sed 's/^{//')"
check "a policy rule naming a profile that does not exist -> refused" \
    refuses 'token_profiles: "svc-user" is not a token profile' \
    '{"snowflake-analyst": {"audience": "a", "ttl_seconds": 60, "alg": "ES256", "key": "tp-jwt-es", "subject": {"from": "principal_arn"}}, "sf-lookup": {"audience": "a", "ttl_seconds": 60, "alg": "ES256", "key": "tp-jwt-es", "subject": {"from": "principal_arn"}}, "by-arn": {"audience": "a", "ttl_seconds": 60, "alg": "ES256", "key": "tp-jwt-es", "subject": {"from": "principal_arn"}}}'
check "a reserved claim in a profile -> refused with the exact message" \
    refuses 'claims: "sub" is a registered claim the signer sets; in "token_profiles.p"' \
    "${tp_rules_ok}, \"p\": {\"audience\": \"a\", \"ttl_seconds\": 60, \"alg\": \"ES256\", \"key\": \"tp-jwt-es\", \"subject\": {\"from\": \"principal_arn\"}, \"claims\": {\"sub\": \"root\"}}}"

# --- hsmsign call -----------------------------------------------------------------------------
"$py" "$repo/tests/integration/bearer_server.py" out/api.port out/jwks.json "$issuer" "$sf_aud" \
    2>out/api.log &
api_pid=$!
for _ in $(seq 1 100); do [ -s out/api.port ] && break; sleep 0.05; done
api=http://127.0.0.1:$(cat out/api.port)
for v in $(env | cut -d= -f1 | grep -E '^(AWS_|HSMSIGN_ENDPOINT$)'); do unset "$v"; done
export HOME=$work HSMSIGN_ENDPOINT=$svc_url AWS_REGION=eu-west-1 AWS_EC2_METADATA_DISABLED=true
as_alice=("AWS_ACCESS_KEY_ID=$(akid 1)" "AWS_SECRET_ACCESS_KEY=$(cat out/alice.secret)")
as_bob=("AWS_ACCESS_KEY_ID=$(akid 4)" "AWS_SECRET_ACCESS_KEY=$(cat out/bob.secret)")
as_stranger=("AWS_ACCESS_KEY_ID=$(akid 5)" "AWS_SECRET_ACCESS_KEY=$(cat out/stranger.secret)")
# hs_call EXPECTED_EXIT AS... -- ARGS: hsmsign with those variables; out/call.out, out/call.err.
# The variables are exported by the shell (never env VAR=SECRET: env's argv shows in ps).
hs_call() {
    local want=$1 rc=0
    shift
    local -a vars=()
    while [ "$1" != -- ]; do vars+=("$1"); shift; done
    shift
    printf '%s\n' "$@" >>out/call-argv
    (for v in "${vars[@]}"; do export "${v?}"; done; exec "$cli" "$@") >out/call.out 2>out/call.err ||
        rc=$?
    cat out/call.out out/call.err >>out/call-all
    [ "$rc" -eq "$want" ] || { echo "     exit $rc, expected $want: $(head -c 300 out/call.err)"; return 1; }
}
out_is() { $py -c 'import json,sys; d=json.load(open("out/call.out")); ok=eval(sys.argv[1]); print("" if ok else f"     {d}"); sys.exit(0 if ok else 1)' "$1"; }
# call_is EXPECTED_EXIT CONDITION AS... -- ARGS: hs_call, then CONDITION on the printed JSON d.
call_is() {
    local want=$1 cond=$2
    shift 2
    hs_call "$want" "$@" && out_is "$cond"
}
check "call GET with --profile: the API verified the bearer token (sub alice, scp) and the body is printed" \
    call_is 0 "d['hello'] == 'alice' and d['method'] == 'GET' and d['scp'] == ['session:role:ANALYST']" \
    "${as_alice[@]}" -- call "$api/hello?x=1" --profile snowflake-analyst
check "call --data (POST by default, JSON content type) --header" \
    call_is 0 "d['method'] == 'POST' and d['body'] == '{\"q\": 1}' and d['content_type'] == 'application/json' and d['header'] == 'yes'" \
    "${as_alice[@]}" -- call "$api/q" --profile snowflake-analyst --data '{"q": 1}' --header 'X-Test: yes'
printf 'from a file' >out/data.txt
check "call --method PUT --data @FILE --header Content-Type" \
    call_is 0 "d['method'] == 'PUT' and d['body'] == 'from a file' and d['content_type'] == 'text/plain'" \
    "${as_alice[@]}" -- call "$api/put" --method PUT --data @out/data.txt --header 'Content-Type: text/plain' --profile snowflake-analyst
check "call --method DELETE" \
    call_is 0 "d['method'] == 'DELETE'" "${as_alice[@]}" -- call "$api/d" --method DELETE --profile snowflake-analyst
check "call --method PATCH --data" \
    call_is 0 "d['method'] == 'PATCH' and d['body'] == 'p'" "${as_alice[@]}" -- call "$api/d" --method PATCH --data p --profile snowflake-analyst
check "call --audience: a token for that audience (sub = the ARN without a profile)" \
    call_is 0 "d['hello'] == '$alice'" "${as_alice[@]}" -- call "$api/a" --audience "$sf_aud"
teapot() {
    call_is 7 "d['error'] == 'teapot'" "$@" && has -F 'call GET -> 418' <out/call.err
}
check "call: the URL answers 418 -> exit 7, the body still printed, -v shows the status" \
    teapot "${as_alice[@]}" -- -v call "$api/teapot" --profile snowflake-analyst
check "call: a token for another audience -> the API answers 401 -> exit 7" \
    call_is 7 "d['error'] == 'unauthorized'" "${as_stranger[@]}" -- call "$api/x" --audience https://api.example.com
not_called() {
    local n
    n=$(wc -l <out/api.log)
    hs_call 1 "$@" && has -F subject_unmapped <out/call.err && [ "$(wc -l <out/api.log)" = "$n" ]
}
check "call: hsmsignd refuses the token (subject_unmapped) -> exit 1, the URL is not called" \
    not_called "${as_bob[@]}" -- call "$api/x" --profile snowflake-analyst
nothing_printed() { hs_call "$@" && [ ! -s out/call.out ]; }
check "call: an answer over 8 MiB -> exit 4, nothing printed" \
    nothing_printed 4 "${as_alice[@]}" -- call "$api/big" --profile snowflake-analyst
check "call: http:// to another host is refused (usage, 2) before any token" \
    hs_call 2 "${as_alice[@]}" -- call http://example.com/x --profile snowflake-analyst
check "call: an Authorization header is refused (2)" \
    hs_call 2 "${as_alice[@]}" -- call "$api/x" --profile snowflake-analyst --header 'authorization: Bearer x'
check "call: GET with --data is refused (2)" \
    hs_call 2 "${as_alice[@]}" -- call "$api/x" --method GET --data x --profile snowflake-analyst
check "call: no audience and no profile (2)" \
    hs_call 2 "${as_alice[@]}" -- call "$api/x"
check "call: a URL with a user name is refused (2)" \
    hs_call 2 "${as_alice[@]}" -- call "http://u:p@127.0.0.1:1/x" --audience a
dead=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
check "call: nothing listening at URL -> exit 4" \
    hs_call 4 "${as_alice[@]}" -- call "http://127.0.0.1:$dead/x" --profile snowflake-analyst
check "the API saw bearer tokens and allowed them" has -F 'allow sub=alice' <out/api.log
# The token appears in no argv and no output of hsmsign (the JWT header prefix of every token).
no_token_seen() { ! grep -q "eyJ" out/call-argv out/call-all; }
check "no token in hsmsign's argv or output" no_token_seen
finish
