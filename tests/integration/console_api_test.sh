#!/usr/bin/env bash
# The backend of the web console (issue 14) against a real hsmsignd on a fresh SoftHSM2 token:
#   - /ui/: the console's static files (console.dir) with their Content-Type, the
#     Content-Security-Policy and framing headers on every /ui answer, ETag / If-None-Match ->
#     304, /ui -> 301 /ui/, unknown or escaping paths -> 404, a symbolic link or dot-file in the
#     directory refuses the load (and on SIGHUP keeps the old set), a good SIGHUP swaps the set;
#   - GET /v1/whoami: the principal, how it authenticated, admin, and the policy rules that let it
#     do something (with ${aws:username} expanded); a principal no rule names gets "rules": [];
#   - GET /v1/certificates: the listing of X.509 and SSH certificates with every filter, paginated
#     to the end (no duplicate, none missed), admins see all and others their own, bad parameters
#     -> 400 naming them.
# HSMSIGN_TEST_INVENTORY picks the inventory: "sqlite" (default) or "dynamodb" (dynalite).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
inventory=${HSMSIGN_TEST_INVENTORY:-sqlite}
case $inventory in
sqlite) require openssl curl ssh-keygen jq ;;
dynamodb)
    require openssl curl ssh-keygen jq
    . "$repo/tests/dynamo/dynalite.sh"
    dynalite_require
    ;;
*) echo "HSMSIGN_TEST_INVENTORY must be sqlite or dynamodb" >&2; exit 2 ;;
esac
kc=${KEYCEREMONY:?}
work=$(mktemp -d)
trap 'stop_hsmsignd; [ "$inventory" = sqlite ] || dynalite_stop; rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir -p out cfg ui/assets
if [ "$inventory" = dynamodb ]; then
    ddb_table=hsmsign-console-test ddb_region=eu-west-1 ddb_akid=AKIACONSOLETESTDDB01
    ddb_secret=$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')
    dynalite_start "$ddb_table" "$ddb_region" "$ddb_akid" "$ddb_secret" || exit 1
    export AWS_ACCESS_KEY_ID=$ddb_akid AWS_SECRET_ACCESS_KEY=$ddb_secret
    unset AWS_SESSION_TOKEN
    inventory_member="\"dynamodb\": {\"table\": \"$ddb_table\", \"region\": \"$ddb_region\",
                  \"endpoint\": \"$ddb_endpoint\", \"timeout_ms\": 2000}"
else
    inventory_member='"sqlite": "out/inventory.db"'
fi
label=console-test
new_token "$work/token" "$label"
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"
small_ceremony con EC-P256 || exit 1
cat >cfg/user-ca.json <<JSON
{ $token, "key": {"label": "con-user-ca", "type": "EC-P256"}, "public_key_output": "out/user-ca.pub.pem" }
JSON
"$kc" key --config cfg/user-ca.json 2>>out/ceremony.log || { echo "keyceremony key failed"; exit 1; }

# --- the console's files -----------------------------------------------------------------------
printf '<!doctype html><title>hsmsign</title><script src="assets/app.js"></script>\n' >ui/index.html
printf 'console.log("v1");\n' >ui/assets/app.js
printf 'body{color:#000}\n' >ui/assets/app.css
printf '{"api": ""}\n' >ui/config.json
head -c 300 /dev/urandom >ui/assets/logo.png
printf 'data\n' >ui/assets/blob.bin

# --- service: alice and bob (their own certificates), an admin, a stranger no rule names --------
acct=arn:aws:iam::123456789012
alice=$acct:user/alice bob=$acct:user/bob admin=$acct:role/pki-admin stranger=$acct:role/stranger
umask 077
for who in alice bob admin stranger; do
    head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >"out/$who.secret"
done
umask 022
akid() { printf 'AKIACONSOLE%09d' "$1"; }
# out/WHO.curl: each caller's curl config (0600) with its key id and secret, for curl -K.
for who in alice:1 bob:2 admin:3 stranger:4; do
    sigv4_curl_cfg "out/${who%:*}.curl" "$(akid "${who#*:}")" "out/${who%:*}.secret"
done
write_config() { # $1 = the console directory
    cat >cfg/hsmsignd.json <<EOF
{ "listen": "127.0.0.1:0", $token,
  "ca": {"key": "con-issuing", "chain_file": "out/truststore.pem"},
  "inventory": {$inventory_member},
  "jwt": {"issuer": "https://hsmsign.console.example", "jwks_file": "out/jwks.json"},
  "auth": {"sigv4": {"region": "eu-west-1", "access_keys": [
     {"access_key_id": "$(akid 1)", "secret_file": "out/alice.secret", "principal_arn": "$alice"},
     {"access_key_id": "$(akid 2)", "secret_file": "out/bob.secret", "principal_arn": "$bob"},
     {"access_key_id": "$(akid 3)", "secret_file": "out/admin.secret", "principal_arn": "$admin"},
     {"access_key_id": "$(akid 4)", "secret_file": "out/stranger.secret",
      "principal_arn": "$stranger"}]},
           "mtls": {"proxy_header": "X-Client-Cert", "trusted_proxies": ["127.0.0.1"]}},
  "policy": {"admins": ["$admin"], "rules": [
    {"principals": ["$acct:user/*"], "profiles": ["client", "server"], "cn_patterns": ["*"],
     "dns_patterns": ["**.example.com"], "max_cert_ttl_hours": 12,
     "ssh_cert_types": ["user"], "ssh_principals": ["\${aws:username}", "ops"],
     "ssh_max_ttl_seconds": 3600},
    {"principals": ["$admin"], "audiences": ["snowflake"], "max_token_ttl_seconds": 600},
    {"principals": ["x509:CN=alice-web-*"], "audiences": ["https://device.example"]}]},
  "ssh": {"user_ca": ["con-user-ca"]},
  "console": {"dir": "$1"} }
EOF
}
write_config "$work/ui"
start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log || exit 1

# call WHO METHOD PATH [BODY]: the HTTP status; the body goes to out/resp, headers to out/hdr.
call() {
    local -a opts=(-D out/hdr)
    [ -n "${4:-}" ] || opts+=(--path-as-is) # a GET path goes to the server exactly as written
    sigv4_call_as "$1" "$2" "$svc_url$3" "${4:-}" "${opts[@]}"
}
# header NAME: the value of header NAME in out/hdr (case-insensitive name).
header() { tr -d '\r' <out/hdr | awk -v n="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" \
    'BEGIN{FS=": "} tolower($1)==n {sub(/^[^:]*: /, ""); print; exit}'; }
csp="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
# console_headers: the security headers every /ui answer carries.
console_headers() {
    [ "$(header Content-Security-Policy)" = "$csp" ] && [ "$(header X-Frame-Options)" = DENY ] &&
        [ "$(header Referrer-Policy)" = no-referrer ] &&
        [ "$(header X-Content-Type-Options)" = nosniff ]
}
# served PATH TYPE CACHE FILE: 200 with that Content-Type and Cache-Control, FILE's bytes, an
# ETag and the console headers.
served() {
    local status
    status=$(call none GET "$1")
    [ "$status" = 200 ] || { echo "     $1: status $status"; return 1; }
    [ "$(header Content-Type)" = "$2" ] || { echo "     $1: Content-Type $(header Content-Type)"; return 1; }
    [ "$(header Cache-Control)" = "$3" ] || { echo "     $1: Cache-Control $(header Cache-Control)"; return 1; }
    cmp -s out/resp "$4" && [ -n "$(header ETag)" ] && console_headers
}

# --- 1. /ui/ -----------------------------------------------------------------------------------
check "GET /ui/ is index.html, no-cache, with the CSP" \
    served /ui/ 'text/html; charset=utf-8' no-cache ui/index.html
check "GET /ui/index.html" served /ui/index.html 'text/html; charset=utf-8' no-cache ui/index.html
check "GET /ui/config.json is no-cache JSON" \
    served /ui/config.json application/json no-cache ui/config.json
check "GET /ui/assets/app.js is cached 5 minutes" \
    served /ui/assets/app.js 'text/javascript; charset=utf-8' 'public, max-age=300' ui/assets/app.js
check "GET /ui/assets/app.css" \
    served /ui/assets/app.css 'text/css; charset=utf-8' 'public, max-age=300' ui/assets/app.css
check "GET /ui/assets/logo.png (binary, byte for byte)" \
    served /ui/assets/logo.png image/png 'public, max-age=300' ui/assets/logo.png
check "an unknown extension is application/octet-stream" \
    served /ui/assets/blob.bin application/octet-stream 'public, max-age=300' ui/assets/blob.bin
check "HEAD /ui/assets/app.js: the headers and Content-Length, no body" \
    bash -c "[ \"\$(curl -sS -I '$svc_url/ui/assets/app.js' | tr -d '\r' | grep -i '^content-length:' | cut -d' ' -f2)\" = $(wc -c <ui/assets/app.js) ]"
etag_js() { call none GET /ui/assets/app.js >/dev/null && header ETag; }
etag=$(etag_js)
not_modified() { # ETAG: 304 with no body and the same ETag
    local s
    rm -f out/resp
    s=$(curl -sS -D out/hdr -o out/resp -w '%{http_code}' -H "If-None-Match: W/\"x\", $1" \
        "$svc_url/ui/assets/app.js")
    [ "$s" = 304 ] && [ ! -s out/resp ] && [ "$(header ETag)" = "$1" ] ||
        { echo "     status $s, ETag $(header ETag), want $1"; return 1; }
}
check "If-None-Match with the ETag (in a list) -> 304, no body, the same ETag" not_modified "$etag"
check "the 304 carries the console headers" console_headers
check "If-None-Match with another ETag -> 200" \
    test "$(curl -sS -o /dev/null -w '%{http_code}' -H 'If-None-Match: "00"' "$svc_url/ui/assets/app.js")" = 200
check "GET /ui -> 301 Location: /ui/" \
    bash -c "[ \"\$(curl -sS -D '$work/out/hdr' -o /dev/null -w '%{http_code}' '$svc_url/ui')\" = 301 ] && tr -d '\r' <'$work/out/hdr' | grep -qx 'Location: /ui/'"
for bad in /ui/nothing.html /ui/assets /ui/assets/ /ui/../cfg/hsmsignd.json /ui/./index.html \
    /ui/%2e%2e/cfg/hsmsignd.json /ui//index.html /ui/.hidden /ui/assets/app.js%00 /uix; do
    check "GET $bad -> 404 JSON" \
        bash -c "[ \"\$(curl -sS --path-as-is -o '$work/out/resp' -w '%{http_code}' '$svc_url$bad')\" = 404 ] && grep -q '\"error\"' '$work/out/resp'"
done
check "a 404 under /ui carries the console headers too" \
    bash -c "[ \"\$(curl -sS -D '$work/out/hdr' -o /dev/null -w '%{http_code}' '$svc_url/ui/nothing')\" = 404 ]"
check "  ... (CSP on the 404)" console_headers
check "POST /ui/ -> 405" test "$(call none POST /ui/ '{}')" = 405
check "an API answer has no console CSP" \
    bash -c "curl -sS -D '$work/out/hdr' -o /dev/null '$svc_url/healthz' && ! grep -qi content-security-policy '$work/out/hdr'"

# SIGHUP: a bad directory (a symbolic link in it) keeps the old set; a good one swaps it.
cp -r ui ui2
printf 'console.log("v2");\n' >ui2/assets/app.js
ln -s "$work/cfg/hsmsignd.json" ui2/assets/leak.json
write_config "$work/ui2"
reloads() { grep -c "\"event\":\"config.reload.$1\"" out/hsmsignd.log || true; }
hup_wait() { # EVENT: SIGHUP, then wait for one more EVENT line
    local before
    before=$(reloads "$1")
    kill -HUP "$svc_pid"
    for _ in $(seq 1 100); do
        [ "$(reloads "$1")" -gt "$before" ] && return 0
        sleep 0.05
    done
    return 1
}
check "SIGHUP with a symbolic link in console.dir fails the reload" hup_wait failed
check "  ... naming the link" has 'leak.json is a symbolic link' out/hsmsignd.log
check "  ... and the old files are still served" \
    bash -c "curl -sS '$svc_url/ui/assets/app.js' | grep -q v1"
rm ui2/assets/leak.json
touch ui2/.secret
check "a dot-file in console.dir fails the reload" hup_wait failed
rm ui2/.secret
check "SIGHUP with a good console.dir swaps the files" hup_wait done
check "  ... the new app.js is served" bash -c "curl -sS '$svc_url/ui/assets/app.js' | grep -q v2"
check "  ... with a new ETag" test "$(etag_js)" != "$etag"
write_config "$work/ui"
check "a link in console.dir refuses the start too" bash -c "
    ln -s /etc/passwd '$work/ui/passwd' && '$HSMSIGND' --config '$work/cfg/hsmsignd.json' >'$work/out/bad.log' 2>&1
    s=\$?; rm -f '$work/ui/passwd'; [ \$s -ne 0 ] && grep -q 'symbolic link' '$work/out/bad.log'"

# --- 2. GET /v1/whoami -------------------------------------------------------------------------
# jq_resp FILTER: the jq filter is true of out/resp.
jq_resp() { jq -e "$1" out/resp >/dev/null || { echo "     $(head -c 600 out/resp)"; return 1; }; }
check "whoami without credentials -> 401" test "$(call none GET /v1/whoami)" = 401
check "whoami (alice) -> 200" test "$(call alice GET /v1/whoami)" = 200
check "  ... principal, sigv4, not admin" \
    jq_resp ".principal == \"$alice\" and .authenticated_by == \"sigv4\" and .admin == false and .permissions.admin == false"
check "  ... one rule: profiles, the effective max_cert_ttl_hours, name patterns" \
    jq_resp '.permissions.rules | length == 1 and (.[0].profiles == ["client", "server"]) and .[0].max_cert_ttl_hours == 12 and .[0].dns_patterns == ["**.example.com"]'
check "  ... \${aws:username} expanded to alice; ssh_max_ttl_seconds and default extensions" \
    jq_resp '.permissions.rules[0] | .ssh_principals == ["alice", "ops"] and .ssh_max_ttl_seconds == {"user": 3600} and (.ssh_extensions | length == 5) and .ssh_cert_types == ["user"]'
check "  ... no-store" test "$(header Cache-Control)" = no-store
check "whoami (bob) -> 200" test "$(call bob GET /v1/whoami)" = 200
check "  ... his own name: ssh_principals [bob, ops]" jq_resp '.permissions.rules[0].ssh_principals == ["bob", "ops"]'
check "whoami (admin) -> 200" test "$(call admin GET /v1/whoami)" = 200
check "  ... admin true, audiences, max_token_ttl_seconds 600, no ssh" \
    jq_resp '.admin == true and .permissions.admin == true and (.permissions.rules | length == 1) and .permissions.rules[0].audiences == ["snowflake"] and .permissions.rules[0].max_token_ttl_seconds == 600 and (.permissions.rules[0] | has("ssh_principals") | not) and (.permissions.rules[0] | has("max_cert_ttl_hours") | not)'
check "whoami (a principal no rule names) -> 200 with no rules" \
    test "$(call stranger GET /v1/whoami)" = 200
check "  ... rules [] and not admin" jq_resp '.permissions.rules == [] and .admin == false'
check "no secret in a whoami answer" \
    bash -c "! grep -qF -f '$work/out/alice.secret' '$work/out/resp' && ! grep -q pin '$work/out/resp'"
check "POST /v1/whoami -> 405" test "$(call alice POST /v1/whoami '{}')" = 405

# --- 3. GET /v1/certificates -------------------------------------------------------------------
# issue WHO CN [DNS]: an X.509 certificate for WHO; its serial (hex) goes to stdout.
issue() {
    local ext=()
    [ -n "${3:-}" ] && ext=(-addext "subjectAltName=DNS:$3")
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout out/k.pem \
        -subj "/CN=$2" "${ext[@]}" -out out/x.csr 2>/dev/null || return 1
    local body
    body=$(jq -n --rawfile csr out/x.csr '{csr: $csr, profile: "client"}')
    [ "$(call "$1" POST /v1/certificates "$body")" = 200 ] || { head -c 300 out/resp; return 1; }
    jq -r .certificate out/resp >"out/cert-$2.pem"
    jq -r .serial out/resp
}
issue_ssh() { # WHO PRINCIPAL: an SSH user certificate; its serial (decimal) to stdout
    rm -f out/id out/id.pub
    ssh-keygen -q -t ed25519 -N '' -f out/id >/dev/null || return 1
    local body
    body=$(jq -n --arg k "$(cat out/id.pub)" --arg p "$2" \
        '{public_key: $k, cert_type: "user", principals: [$p], ttl_seconds: 600}')
    [ "$(call "$1" POST /v1/ssh/certificates "$body")" = 200 ] || { head -c 300 out/resp; return 1; }
    jq -r .serial out/resp
}
declare -a alice_x509=() bob_x509=() alice_ssh=()
# The listing's order is the issue time, to the second (ties by serial): one a second.
for i in 1 2 3 4 5; do
    alice_x509+=("$(issue alice "alice-web-$i" "web-$i.example.com")") || true
    sleep 1
    bob_x509+=("$(issue bob "bob-db-$i")") || true
    sleep 1
done
for p in alice ops; do
    alice_ssh+=("$(issue_ssh alice "$p")") || true
    sleep 1
done
check "issued 10 X.509 and 2 SSH certificates" \
    test "${#alice_x509[@]} ${#bob_x509[@]} ${#alice_ssh[@]}" = "5 5 2" -a -n "${alice_x509[4]}${bob_x509[4]}${alice_ssh[1]}"
check "revoke alice's third (keyCompromise)" \
    test "$(call alice POST "/v1/certificates/${alice_x509[2]}/revoke" '{"reason": "keyCompromise"}')" = 200
check "revoke alice's first SSH certificate" \
    test "$(call alice POST "/v1/ssh/certificates/${alice_ssh[0]}/revoke" '{}')" = 200

# list WHO QUERY: GET /v1/certificates?QUERY as WHO; 200 and the serials, one a line, to out/ids.
list() {
    local s
    s=$(call "$1" GET "/v1/certificates${2:+?$2}")
    [ "$s" = 200 ] || { echo "     status $s: $(head -c 300 out/resp)"; return 1; }
    jq -r '.certificates[].serial' out/resp >out/ids
}
ids() { tr '\n' ' ' <out/ids | sed 's/ $//'; }
same() { [ "$1" = "$2" ] || { echo "     got  $1"; echo "     want $2"; return 1; }; }
rev() { local out=() i; for ((i = $# ; i > 0; i--)); do out+=("${!i}"); done; echo "${out[*]}"; }

check "admin: everything, newest first (SSH, then X.509 in reverse issue order)" list admin ""
want_all="$(rev "${alice_x509[0]}" "${bob_x509[0]}" "${alice_x509[1]}" "${bob_x509[1]}" \
    "${alice_x509[2]}" "${bob_x509[2]}" "${alice_x509[3]}" "${bob_x509[3]}" "${alice_x509[4]}" \
    "${bob_x509[4]}")"
check "  ... 12 records: the 2 SSH first, then the 10 X.509 in reverse issue order" \
    same "$(ids)" "$(rev "${alice_ssh[@]}") $want_all"
check "  ... each entry is its status document plus kind" \
    jq_resp "(.certificates | map(select(.kind == \"x509\")) | .[0] | keys) == [\"kind\",\"not_after\",\"not_before\",\"profile\",\"requested_by\",\"sans\",\"serial\",\"status\",\"subject\"] and (.certificates | map(select(.kind == \"ssh\")) | length == 2 and all(has(\"key_fingerprint\") and has(\"principals\") and has(\"cert_type\")))"
check "  ... no cursor on the last page" jq_resp 'has("cursor") | not'
call admin GET "/v1/certificates/${alice_x509[2]}" >/dev/null && cp out/resp out/one
call admin GET "/v1/certificates?name=alice-web-3" >/dev/null
check "name=alice-web-3: one entry, GET /v1/certificates/{serial}'s document plus kind" \
    bash -c "jq -e --slurpfile one '$work/out/one' '.certificates | length == 1 and (.[0] | del(.kind)) == \$one[0] and .[0].status == \"revoked\" and .[0].reason == \"keyCompromise\"' '$work/out/resp' >/dev/null"
check "alice: only her own (5 X.509 + 2 SSH)" list alice ""
check "  ... 7, none of bob's" bash -c "[ \$(wc -l <'$work/out/ids') = 7 ] && ! grep -qxF '${bob_x509[0]}' '$work/out/ids'"
check "alice asking for bob's: an empty list, not an error" list alice "requester=$(jq -rn --arg v "$bob" '$v|@uri')"
check "  ... empty" test ! -s out/ids
check "admin asking for bob's: bob's 5" list admin "requester=$(jq -rn --arg v "$bob" '$v|@uri')"
check "  ... his 5 newest first" same "$(ids)" "$(rev "${bob_x509[@]}")"
check "the stranger: authenticated, nothing of its own" list stranger ""
check "  ... empty" test ! -s out/ids
check "without credentials -> 401" test "$(call none GET /v1/certificates)" = 401
check "kind=ssh (admin)" list admin "kind=ssh"
check "  ... the 2 SSH serials, newest first" test "$(ids)" = "$(rev "${alice_ssh[@]}")"
check "status=revoked" list admin "status=revoked"
check "  ... alice's third and her first SSH" same "$(ids)" "${alice_ssh[0]} ${alice_x509[2]}"
# curl 7.88's --aws-sigv4 signs the query as sent, so the tests send it canonical (sorted by
# name, reserved characters %-encoded); tests/sigv4_browser checks aws4fetch's own.
check "kind=x509&status=good -> 9" list admin "kind=x509&status=good"
check "  ... 9" test "$(wc -l <out/ids)" = 9
check "status=expired -> none yet" list admin "status=expired"
check "  ... empty" test ! -s out/ids
check "name=WEB-4.EXAMPLE (a DNS SAN, any case)" list admin "name=WEB-4.EXAMPLE"
check "  ... alice's fourth" test "$(ids)" = "${alice_x509[3]}"
check "name=bob-db (the CN)" list admin "name=bob-db"
check "  ... bob's 5" test "$(wc -l <out/ids)" = 5
check "name=ops (an SSH principal)" list admin "name=ops"
check "  ... alice's second SSH certificate" test "$(ids)" = "${alice_ssh[1]}"
soon=$(date -u -d '+1 hour' +%Y-%m-%dT%H%%3A%M%%3A%SZ)
check "expires_before=+1h: the two 10-minute SSH certificates" list admin "expires_before=$soon"
check "  ... 2" test "$(ids)" = "$(rev "${alice_ssh[@]}")"
check "expires_after=+1h: the 10 X.509 certificates" list admin "expires_after=$soon"
check "  ... 10" test "$(wc -l <out/ids)" = 10
# paginate LIMIT QUERY: every page as admin into out/pages; checks each page's size and cursor.
paginate() {
    local cursor='' q pages=0
    : >out/pages
    while :; do
        q="${cursor:+cursor=$cursor&}${2:+$2&}limit=$1"
        list admin "$q" || return 1
        pages=$((pages + 1))
        [ "$pages" -le 20 ] || return 1
        [ "$(wc -l <out/ids)" -le "$1" ] || return 1
        cat out/ids >>out/pages
        cursor=$(jq -r '.cursor // empty' out/resp)
        [ -n "$cursor" ] || break
        [ "$(wc -l <out/ids)" = "$1" ] || return 1 # only the last page may be short
    done
}
call admin GET "/v1/certificates?limit=200" >/dev/null && jq -r '.certificates[].serial' out/resp >out/all
check "pagination limit=5: every record once, in order, to the end" paginate 5
check "  ... the pages together are the one-page listing" cmp -s out/pages out/all
check "pagination limit=1" paginate 1
check "  ... the same 12" cmp -s out/pages out/all
check "pagination limit=4 with a filter (kind=x509): 10, no duplicates" paginate 4 kind=x509
check "  ... 10 distinct" test "$(sort -u out/pages | wc -l) $(wc -l <out/pages)" = "10 10"
call admin GET "/v1/certificates?limit=12" >/dev/null
check "limit=12 (exactly all): 12 and no cursor" jq_resp '(.certificates | length) == 12 and (has("cursor") | not)'
call admin GET "/v1/certificates?limit=11" >/dev/null
check "limit=11: a cursor" jq_resp '(.certificates | length) == 11 and (.cursor | type == "string")'
# bad WANT_DETAIL QUERY: 400 naming the parameter, and nothing else happens.
bad() {
    local s
    s=$(call admin GET "/v1/certificates?$2")
    [ "$s" = 400 ] || { echo "     status $s"; return 1; }
    jq -e --arg d "$1" '.error and (.detail | contains($d))' out/resp >/dev/null ||
        { echo "     $(head -c 300 out/resp)"; return 1; }
}
cursor=$(jq -r .cursor out/resp)
tampered="${cursor:0:10}$([ "${cursor:10:1}" = A ] && echo B || echo A)${cursor:11}"
for case in "unknown query parameter color|color=red" "status is repeated|status=good&status=revoked" \
    "status must be|status=valid" "kind must be|kind=pgp" "limit must be|limit=0" \
    "limit must be|limit=201" "limit must be|limit=ten" "name is empty|name=" \
    "name must be|name=$(head -c 254 /dev/zero | tr '\0' a)" \
    "expires_before must be RFC 3339|expires_before=2026-01-01" \
    "expires_after is not a valid|expires_after=2026-02-30T00%3A00%3A00Z" \
    "cursor does not parse|cursor=$tampered" "cursor does not parse|cursor=%21%21" \
    "cursor does not parse|cursor=${cursor:0:20}" \
    "control character|name=a%00b"; do
    check "bad query ${case#*|} -> 400 naming it" bad "${case%%|*}" "${case#*|}"
done
call admin GET "/v1/certificates?cursor=$cursor&limit=11" >/dev/null
check "the untampered cursor gives the 12th, and no cursor" jq_resp '(.certificates | length) == 1 and (has("cursor") | not)'
check "a malformed %-escape cannot be canonicalised for SigV4: 401 before the 400" test "$(call admin GET "/v1/certificates?name=%zz")" = 401

# whoami with a client certificate this service issued (through the trusted proxy's header).
urlenc() { $py -c 'import sys, urllib.parse; print(urllib.parse.quote(open(sys.argv[1]).read(), safe=""))' "$1"; }
check "whoami with alice-web-1's client certificate in X-Client-Cert -> 200" test "$(curl -sS \
    -o out/resp -w '%{http_code}' -H "X-Client-Cert: $(urlenc out/cert-alice-web-1.pem)" \
    "$svc_url/v1/whoami")" = 200
check "  ... x509:CN=alice-web-1, client_certificate, its audience rule, not admin" \
    jq_resp '.principal == "x509:CN=alice-web-1" and .authenticated_by == "client_certificate" and .admin == false and (.permissions.rules | length == 1 and .[0].audiences == ["https://device.example"])'
check "its revoked sibling alice-web-3's certificate -> 401" test "$(curl -sS -o out/resp \
    -w '%{http_code}' -H "X-Client-Cert: $(urlenc out/cert-alice-web-3.pem)" "$svc_url/v1/whoami")" = 401

# --- 4. /metrics: what the console's health page charts ----------------------------------------
metrics_ok() {
    curl -sS "$svc_url/metrics" >out/metrics.txt && $py - <<'PY'
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open("out/metrics.txt").read())}
up = fams["hsmsign_token_up"]
assert up.type == "gauge" and up.samples[0].value == 1, up
issued = {s.labels["kind"]: s.value for s in fams["hsmsign_issued"].samples}
assert fams["hsmsign_issued"].type == "counter", fams["hsmsign_issued"]
assert issued == {"x509": 10, "ssh": 2, "token": 0}, issued
req = {(s.labels["route"], s.labels["status"]): s.value for s in fams["hsmsign_requests"].samples}
assert req[("GET /v1/certificates", "200")] >= 20, req
assert req[("GET /v1/certificates", "400")] >= 10, req
assert req[("GET /v1/whoami", "200")] >= 4, req
assert req[("GET /ui/{path+}", "304")] >= 1 and req[("GET /ui", "301")] >= 1, req
assert req[("GET /ui/{path+}", "404")] >= 5, req
sign = {s.name: s.value for s in fams["hsmsign_c_sign_duration_seconds"].samples}
assert sign["hsmsign_c_sign_duration_seconds_count"] >= 12, sign
pool = {s.labels["state"]: s.value for s in fams["hsmsign_pool_sessions"].samples}
assert pool["configured"] >= 1 and 0 <= pool["in_use"] <= pool["configured"], pool
PY
}
if $py -c 'import prometheus_client' 2>/dev/null; then
    check "GET /metrics: token_up 1, issued_total by kind, the new routes' counts, C_Sign, pool" \
        metrics_ok
elif [ "${CI:-}" = true ]; then
    check "python3-prometheus-client is installed" false
fi

finish
