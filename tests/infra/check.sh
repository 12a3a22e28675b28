#!/usr/bin/env bash
# The structural check of infra/ (tests/infra/check.mjs): `terraform fmt -check -recursive`
# equivalent, HCL parse, variables/outputs/modules/references, a Dockerfile lint; then the check's
# own self-test against tests/infra/fixtures/bad (it must report every planted problem); the
# console's AWS shape (tests/infra/console_check.mjs and its self-test); and
# a shellcheck run over the entrypoint and these scripts when shellcheck is installed.
#   tests/infra/check.sh            check (exit 1 on any finding)
#   tests/infra/check.sh --write    format the .tf/.tfvars files in place first
# Installs the pinned @cdktf packages with `npm ci` into tests/infra/node_modules when missing;
# exits 77 (skipped) when node/npm are missing or the registry cannot be reached (a failure under
# CI).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$here"

# shellcheck source-path=SCRIPTDIR/../testlib
. "$here/../testlib/npm_ready.sh"
npm_ready infra @cdktf/hcl-tools @cdktf/hcl2json

status=0
if [ "${1:-}" = --write ]; then
    node check.mjs --write || status=1
else
    node check.mjs || status=1
fi
log=$(mktemp)
node check.mjs --selftest >"$log" 2>&1 || { cat "$log"; echo "check.mjs --selftest failed" >&2; status=1; }
tail -1 "$log"
rm -f "$log"
# The web console's AWS shape (console_check.mjs): CloudFront's CSP against hsmsignd's, the
# config.json contract against docs/console.md and the console's code, content types, the API's
# CORS; then its self-test (each planted problem must be reported).
node console_check.mjs || status=1
log=$(mktemp)
node console_check.mjs --selftest >"$log" 2>&1 || { cat "$log"; echo "console_check.mjs --selftest failed" >&2; status=1; }
tail -1 "$log"
rm -f "$log"
# The HTTP API (modules/api) routes exactly what hsmsignd serves (api/api_route.c): the IAM rows
# as AWS_IAM routes, the public rows as public routes, except GET /metrics (never published),
# GET /healthz (its own switch, var.healthz_route) and the console's static files, GET /ui and
# GET /ui/{path+} (the AWS shape serves the console from S3 behind CloudFront, never through
# the API). A route added to hsmsignd and not to the API would be a 404 from API Gateway in
# production only.
routes_of() { # routes_of KIND-REGEX: "METHOD PATH" lines of api/api_route.c, sorted
    grep -oE "ROW\(\"[A-Z]+\", \"[^\"]+\", [a-z_]+, API_ROUTE_($1)\)" "$repo/api/api_route.c" |
        sed -E 's/ROW\("([A-Z]+)", "([^"]+)".*/\1 \2/' |
        grep -vE '^GET /(metrics|healthz|ui|ui/\{path\+\})$' | sort
}
tf_list() { # tf_list NAME: the quoted "METHOD /path" strings of local NAME in modules/api/main.tf
    sed -n "/^  $1 *= /,/^  \]/p" "$repo/infra/terraform/modules/api/main.tf" |
        grep -oE '"[A-Z]+ /[^"]*"' | tr -d '"' | grep -vE '^GET /healthz$' | sort
}
for pair in "iam_routes:IAM|IAM_OR_CERT" "public_routes:PUBLIC"; do
    if ! diff <(tf_list "${pair%%:*}") <(routes_of "${pair#*:}") >/dev/null; then
        echo "modules/api ${pair%%:*} differ from api/api_route.c (< terraform, > hsmsignd):" >&2
        diff <(tf_list "${pair%%:*}") <(routes_of "${pair#*:}") >&2 || true
        status=1
    elif [ -z "$(tf_list "${pair%%:*}")" ]; then
        echo "modules/api ${pair%%:*}: no routes found (the check no longer reads main.tf)" >&2
        status=1
    else
        echo "modules/api ${pair%%:*}: the same routes as api/api_route.c"
    fi
done
if command -v shellcheck >/dev/null; then
    if shellcheck -x "$repo/infra/docker/entrypoint.sh" "$here/check.sh" "$here/entrypoint_test.sh" "$here/terraform_test.sh"; then
        echo "shellcheck: ok"
    else
        status=1
    fi
fi
exit "$status"
