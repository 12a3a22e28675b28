#!/usr/bin/env bash
# The web console signs its requests in the browser with aws4fetch (npm, pinned by
# tests/sigv4_browser/package-lock.json). This signs, with aws4fetch under node, the console's
# requests against a real hsmsignd on a fresh SoftHSM2 token: GET /v1/whoami, GET
# /v1/certificates with query strings built with encodeURIComponent (':' '/' and a space
# escaped, parameters unsorted) and with characters aws4fetch escapes and encodeURIComponent
# does not (!'()*), a plus sign, a tilde and UTF-8, and POST /v1/certificates with a JSON body;
# each must be accepted (no 401) and answered as the API says. A raw '+' in the query (which
# URLSearchParams.toString() writes for a space) is a literal plus to hsmsignd (RFC 3986, and
# the SigV4 specification's "a space is %20, not '+'") but a space to aws4fetch: that is a 401,
# checked here so that the console's rule (encodeURIComponent, never URLSearchParams) stays
# documented by a test. Installs the pinned
# package with `npm ci` when missing; exits 77 (skipped) when node/npm are missing or the
# registry cannot be reached (a failure under CI).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
require openssl jq
cd "$here" || exit 1
. "$here/../testlib/npm_ready.sh"
npm_ready sigv4_browser aws4fetch
work=$(mktemp -d)
trap 'stop_hsmsignd; rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir -p out cfg
label=sigv4-browser
new_token "$work/token" "$label" >/dev/null
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"
small_ceremony sb EC-P256 || exit 1
region=eu-west-1
akid=AKIABROWSERTEST00001
alice=arn:aws:iam::123456789012:user/alice
umask 077
head -c 30 /dev/urandom | base64 | tr -d '\n' | head -c 40 >out/secret # '/' and '+' kept
umask 022
cat >cfg/hsmsignd.json <<JSON
{ "listen": "127.0.0.1:0", $token,
  "ca": {"key": "sb-issuing", "chain_file": "out/truststore.pem"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://hsmsign.browser.example", "jwks_file": "out/jwks.json"},
  "auth": {"sigv4": {"region": "$region", "access_keys": [
     {"access_key_id": "$akid", "secret_file": "out/secret", "principal_arn": "$alice"}]}},
  $(permissive_policy "$alice") }
JSON
start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log || exit 1
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout out/leaf.key \
    -subj "/CN=web 1" -addext "subjectAltName=DNS:web-1.example.com" -out out/leaf.csr 2>/dev/null
node "$here/check.mjs" "$svc_url" "$akid" out/secret "$region" out/leaf.csr >out/results 2>out/node.err ||
    { echo "node failed:"; cat out/node.err; }
# answer NAME STATUS JQ: the request NAME was answered STATUS and its body satisfies JQ.
answer() {
    local line
    line=$(grep "^$1 " out/results) || { echo "     no answer for $1"; return 1; }
    read -r _ status body <<<"$line"
    [ "$status" = "$2" ] || { echo "     $1: status $status: $body"; return 1; }
    jq -e "$3" <<<"$body" >/dev/null || { echo "     $1: $body"; return 1; }
}
check "POST /v1/certificates (JSON body, Content-Type signed) -> 200" \
    answer cert 200 '.serial and (.certificate | startswith("-----BEGIN CERTIFICATE-----"))'
check "GET /v1/whoami -> 200, the access key's principal, sigv4" \
    answer whoami 200 ".principal == \"$alice\" and .authenticated_by == \"sigv4\" and .admin == true"
check "GET /v1/certificates?limit=5 -> 200" answer list-plain 200 '.certificates | type == "array"'
check "encodeURIComponent query, unsorted, ':' '/' and a space escaped -> 200" \
    answer list-encoded 200 '.certificates | type == "array"'
check "characters aws4fetch escapes and encodeURIComponent does not, '+', '~', UTF-8 -> 200" \
    answer list-special 200 '.certificates == []'
check "a raw query with %20 -> 200" answer list-raw 200 '.certificates | type == "array"'
check "the certificate issued is found by name=web%201" \
    answer list-encoded 200 '.certificates | length == 1 and .[0].subject == "CN=web 1"'
check "  ... and by the raw name=web%201" answer list-raw 200 '.certificates | length == 1'
check "pitfall: a raw '+' (aws4fetch signs a space, hsmsignd reads a plus) -> 401" \
    answer list-raw-plus 401 '.error == "signature_mismatch"'
check "pitfall: URLSearchParams.toString() (a space as '+') -> 401" \
    answer urlsearchparams 401 '.error == "signature_mismatch"'
finish
