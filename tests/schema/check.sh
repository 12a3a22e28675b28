#!/usr/bin/env bash
# The config schemas in docs/schema (issue 13, deliverable 6), checked with ajv (draft 2020-12)
# and ajv-formats, pinned by tests/schema/package-lock.json:
#   (a) every example ceremony config (keyceremony/examples) is valid against its step's schema;
#   (b) the service configs -- the quickstart's generated one and two that between them set every
#       member the schema lists -- are valid against docs/schema/hsmsignd.schema.json AND pass
#       `hsmsignd --check-config`;
#   (c) the schema and the parsers agree on the member names: every member path the schema lists
#       occurs in (b)'s full configs (so --check-config, which rejects unknown members, knows
#       it), and every name in the parsers' allowed-member lists (api/, pkcs11/p11_config.c,
#       service/svc_profile.c, service/svc_token_profile.c, service/svc_sched.c;
#       keyceremony/kc_config.c for the ceremony schemas) is a member the schemas list;
#   (d) at every object the schema lists, an unknown member is rejected by the schema and by
#       --check-config; a few wrong types and ranges are rejected by both.
# Installs the pinned packages with `npm ci` into tests/schema/node_modules when missing; exits 77
# (skipped) when node/npm are missing or the registry cannot be reached (a failure under CI).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
hsmsignd=${HSMSIGND:?HSMSIGND must be set (ctest sets it)}
py=/usr/bin/python3
cd "$here"
. "$here/../testlib/npm_ready.sh"
npm_ready schema ajv ajv-formats

passed=0
failed=0
check() {
    local what=$1
    shift
    if "$@"; then passed=$((passed + 1)); echo "ok   $what"; else failed=$((failed + 1)); echo "FAIL $what"; fi
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# (a) the ceremony examples.
step_of() { # example file name -> its step's schema
    case $(basename "$1" .json) in
    export*) echo export ;; intermediate*) echo intermediate ;; jwt-key-retire) echo jwt-key-retire ;;
    jwt-key*) echo jwt-key ;; root*) echo root ;; ssh-ca*) echo ssh-ca ;; verify*) echo verify ;;
    *) basename "$1" .json ;;
    esac
}
n=0
for f in "$repo"/keyceremony/examples/*.json; do
    check "(a) keyceremony/examples/$(basename "$f") is valid ($(step_of "$f"))" \
        node check.mjs validate "ceremony/$(step_of "$f").schema.json" "$f"
    n=$((n + 1))
done
check "(a) there were ceremony examples to check" test "$n" -ge 10

# (b) service configs. Files they name only have to exist for --check-config (no token).
cd "$work"
mkdir -p out var/dev/ceremony var/softhsm
for f in out/module.so out/chain.pem out/jwks.json out/caller.secret out/session.token \
    var/dev/ceremony/truststore.pem var/dev/ceremony/jwks.json var/dev/access-key.secret; do
    printf 'x' >"$f"
done
umask 077
printf 'pin' >out/user.pin
printf 'pin' >var/softhsm/user.pin
umask 022
# The quickstart's service config, as scripts/quickstart.sh writes it.
# shellcheck disable=SC2016 # the quickstart heredoc's own $endpoint and $key_id, replaced literally
sed -n '/^    cat > var\/dev\/hsmsignd.json <<JSON$/,/^JSON$/p' "$repo/scripts/quickstart.sh" |
    sed '1d;$d' | sed -e 's|\$endpoint|http://127.0.0.1:8080|g' -e 's|\$key_id|AKIAHSMDEV0123456789|g' \
    >quickstart.json
check "(b) the quickstart's config was found in scripts/quickstart.sh" grep -q '"policy"' quickstart.json
sed -i 's|/usr/lib/softhsm/libsofthsm2.so|out/module.so|' quickstart.json
arn=arn:aws:iam::123456789012:role/full
cat >full-a.json <<EOF
{ "listen": "127.0.0.1:8443",
  "token": {"module": "out/module.so", "label": "full", "pin_file": "out/user.pin",
            "pool_size": 4, "wait_ms": 2000, "idle_check_seconds": 60,
            "throttle_deadline_ms": 2000,
            "throttle_codes": ["CKR_FUNCTION_FAILED", "0x80000001"]},
  "ca": {"key": "pkcs11:token=full;object=issuing;type=private", "chain_file": "out/chain.pem",
         "default_ttl_hours": 12, "max_ttl_hours": 24, "crl_url": "https://pki.example.com/v1/crl",
         "crl_validity_hours": 24},
  "profiles": {"client": {"extended_key_usage": ["clientAuth"]},
               "server": {"extended_key_usage": ["serverAuth"],
                          "key_usage": ["digitalSignature", "keyEncipherment"],
                          "require_dns_san": true, "max_ttl_hours": 24, "default_ttl_hours": 12,
                          "rsa_public_exponents": {"min": 65537, "max": 65537}}},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://full.example", "jwks_file": "out/jwks.json", "default_alg": "ES256",
          "default_ttl_seconds": 300, "max_ttl_seconds": 3600},
  "token_profiles": {"snowflake": {"audience": "https://xy12345.snowflakecomputing.com",
      "ttl_seconds": 600, "alg": "ES256", "key": "jwt-1",
      "subject": {"from": "role_session_name", "strip_domain": "@example.com", "lookup": {"alice": "ALICE"}},
      "claims": {"scp": "session:role:ANALYST"}, "claims_from_policy": true}},
  "auth": {"sigv4": {"region": "eu-west-1", "service": "execute-api", "max_skew_seconds": 300,
                     "access_keys": [{"access_key_id": "AKIAFULL", "secret_file": "out/caller.secret",
                                      "session_token_file": "out/session.token", "principal_arn": "$arn"}]},
           "mtls": {"proxy_header": "X-Client-Cert", "trusted_proxies": ["127.0.0.1", "::1"]}},
  "policy": {"admins": ["$arn"], "rules": [
      {"principals": ["$arn"], "profiles": ["client", "server"], "cn_patterns": ["*"],
       "dns_patterns": ["**"], "allow_wildcards": true, "email_patterns": ["*@example.com"],
       "uri_patterns": ["spiffe://example.com/*"], "ip_ranges": ["10.0.0.0/8"],
       "max_cert_ttl_hours": 24, "audiences": ["*"], "max_token_ttl_seconds": 3600,
       "token_profiles": ["snowflake"], "token_claims": {"team": "a"},
       "ssh_cert_types": ["user", "host"], "ssh_principals": ["*"],
       "ssh_max_ttl_seconds": {"user": 3600, "host": 86400},
       "ssh_extensions": ["permit-pty"], "ssh_critical_options": ["force-command", "source-address"],
       "ssh_required_critical_options": {"force-command": "/bin/true", "source-address": "10.0.0.0/8"}}]},
  "limits": {"max_connections": 256, "max_connections_per_ip": 32, "request_timeout_seconds": 10,
             "connection_timeout_seconds": 30, "workers": 8, "shutdown_grace_seconds": 10},
  "scheduler": {"shares": {"certificate": 50, "token": 25, "ssh": 15, "crl": 5, "background": 5},
                "max_queue": 64, "queue_timeout_ms": 2000, "limit_growth_ms": 25},
  "ssh": {"user_ca": ["ssh-user-ca-2", "ssh-user-ca-1"], "host_ca": ["ssh-host-ca-1"],
          "krl_validity_seconds": 3600,
          "keygen": {"workers": 2, "queue_max": 64, "result_ttl_seconds": 300,
                     "pending_per_principal_max": 8}},
  "console": {"dir": "out"} }
EOF
cat >full-b.json <<EOF
{ "token": {"module": "out/module.so", "label": "full", "pin_env": "HSM_PIN"},
  "ca": {"key": "issuing", "chain_file": "out/chain.pem"},
  "inventory": {"dynamodb": {"table": "hsmsign-inventory", "region": "eu-west-1",
                             "endpoint": "http://127.0.0.1:8000", "timeout_ms": 3000}},
  "jwt": {"issuer": "https://full.example", "keys": [{"key": "jwt-1", "alg": "ES256"}]},
  "policy": {"rules": [{"principals": ["$arn"], "ssh_cert_types": ["user"], "ssh_principals": ["*"],
                        "ssh_max_ttl_seconds": 3600}]},
  "ssh": {"user_ca": ["ssh-user-ca-1"],
          "keygen": {"queue_url": "http://127.0.0.1:9324/000000000000/keygen",
                     "sqs_region": "eu-west-1", "sqs_endpoint": "http://127.0.0.1:9324"}} }
EOF
for f in quickstart.json full-a.json full-b.json; do
    check "(b) $f is valid against the schema" node "$here/check.mjs" validate hsmsignd.schema.json "$f"
    check "(b) $f passes hsmsignd --check-config" "$hsmsignd" --check-config "$f"
done

# (c) member names, both ways.
node "$here/check.mjs" members hsmsignd.schema.json >schema.members
paths_of() { # every member path of a config, in the schema's notation
    $py - "$@" <<'PY'
import json, sys
maps = {"profiles", "token_profiles"}
out = set()
def walk(v, p):
    if isinstance(v, dict):
        for k, x in v.items():
            if p in ("token_profiles.*.claims", "token_profiles.*.subject.lookup") or p.endswith("token_claims"):
                return
            q = (p + ".*") if p in maps else (p + "." + k if p else k)
            out.add(q); walk(x, q)
    elif isinstance(v, list):
        for x in v:
            walk(x, p + "[]")
for f in sys.argv[1:]:
    walk(json.load(open(f)), "")
print("\n".join(sorted(out)))
PY
}
paths_of full-a.json full-b.json >config.members
missing=$(grep -vxFf config.members schema.members || true)
check "(c) every member the schema lists is set in a config --check-config accepts${missing:+ (missing: ${missing//$'\n'/ })}" \
    test -z "$missing"
names_in_c() { # the quoted names of every allowed-member list in the given sources
    $py - "$@" <<'PY'
import re, sys
names = set()
for f in sys.argv[1:]:
    src = open(f).read()
    for m in re.finditer(r'static const char \*const (allowed|plain|pooled|export_keys|verify_keys|x509|init_token|root|key|intermediate|cross|crl|jwt_key|retire|export_|verify|ssh_ca)\[\] = \{(.*?)\};', src, re.S):
        names.update(re.findall(r'"([^"]+)"', m.group(2)))
print("\n".join(sorted(names)))
PY
}
node "$here/check.mjs" names hsmsignd.schema.json | sort -u >schema.names
names_in_c "$repo/api/api_config.c" "$repo/api/api_policy.c" "$repo/pkcs11/p11_config.c" \
    "$repo/service/svc_profile.c" "$repo/service/svc_token_profile.c" \
    "$repo/service/svc_sched.c" >c.names
check "(c) the parsers' member lists were found (>= 60 names)" test "$(wc -l <c.names)" -ge 60
extra=$(grep -vxFf schema.names c.names || true)
check "(c) every member the service parsers allow is in the schema${extra:+ (not in it: ${extra//$'\n'/ })}" test -z "$extra"
(cd "$repo/docs/schema" && ls ceremony/*.schema.json) | grep -v common >ceremony.list
mapfile -t ceremony_schemas <ceremony.list
node "$here/check.mjs" names "${ceremony_schemas[@]}" | sort -u >ceremony.names
names_in_c "$repo/keyceremony/kc_config.c" >kc.names
check "(c) keyceremony's member lists were found (>= 30 names)" test "$(wc -l <kc.names)" -ge 30
extra=$(grep -vxFf ceremony.names kc.names || true)
check "(c) every member keyceremony allows is in a ceremony schema${extra:+ (not in one: ${extra//$'\n'/ })}" test -z "$extra"

# (d) an unknown member at each object, and wrong types/ranges: both reject.
both_reject() { # FILE TEXT: the schema and --check-config both reject FILE
    node "$here/check.mjs" invalid hsmsignd.schema.json "$1" &&
        ! "$hsmsignd" --check-config "$1" >out/err.txt 2>&1 && grep -qF -- "$2" out/err.txt
}
mutate() { # SRC OUT PYTHON-STATEMENT on d
    $py -c "import json,sys; d=json.load(open(sys.argv[1])); $3; json.dump(d, open(sys.argv[2], 'w'))" "$1" "$2"
}
i=0
for where in "d" "d['token']" "d['ca']" "d['profiles']['server']" "d['inventory']" "d['jwt']" \
    "d['token_profiles']['snowflake']" "d['token_profiles']['snowflake']['subject']" \
    "d['auth']" "d['auth']['sigv4']" "d['auth']['sigv4']['access_keys'][0]" "d['auth']['mtls']" \
    "d['policy']" "d['policy']['rules'][0]" "d['limits']" "d['ssh']" "d['ssh']['keygen']" "d['console']"; do
    i=$((i + 1))
    mutate full-a.json "u$i.json" "${where}['zz_unknown'] = 1"
    check "(d) an unknown member in $where: schema and --check-config reject it" both_reject "u$i.json" zz_unknown
done
mutate full-a.json t1.json "d['limits']['workers'] = 0"
check "(d) limits.workers 0: both reject" both_reject t1.json workers
mutate full-a.json t2.json "d['limits']['shutdown_grace_seconds'] = 'ten'"
check "(d) limits.shutdown_grace_seconds a string: both reject" both_reject t2.json shutdown_grace_seconds
mutate full-a.json t3.json "d['jwt']['keys'] = [{'key': 'k', 'alg': 'ES256'}]"
check "(d) jwt with jwks_file and keys: both reject" both_reject t3.json jwks_file
mutate full-a.json t4.json "del d['policy']"
check "(d) no policy: both reject" both_reject t4.json policy
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
