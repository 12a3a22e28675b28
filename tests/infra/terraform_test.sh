#!/usr/bin/env bash
# infra/terraform with a real terraform binary and the AWS provider, offline:
#   1. `terraform init` (from a local provider mirror) and `terraform validate` of every example
#      root (infra/terraform/examples/*), which checks the provider schemas;
#   2. `terraform plan` of tests/infra/terraform (the authorizer, org_api and health_check modules
#      with test values; the provider is told to skip every AWS call) and, on the plan:
#      - the authorizer's config, as the function's environment carries it, is accepted by the
#        real hsmsign-authorizer (argument 1): a malformed token is a Deny (exit 1), not a config
#        error (exit 2); the same config with an unknown member is refused (exit 2), so the check
#        is not vacuous;
#      - the function runs the image command hsmsign-authorizer, with no PIN or HSM variable;
#      - the org API publishes exactly the IAM routes, each with SigV4 and a Lambda proxy
#        integration of payload 1.0; the health check is HTTPS /healthz and its alarm uses the
#        us-east-1 provider;
#   2b. `terraform plan` of examples/authorizer with its terraform.tfvars.example (the providers
#      overridden to skip AWS calls), checking the authorizer, the route, the JWT authorizer and
#      where the alarm topic goes;
#   2c. on the same plan, modules/console (wired to modules/api as examples/production does): the
#      CSP and security headers, HTTPS/TLS, the bucket's privacy and policy, the uploaded files'
#      keys, types and etags, the Cognito pools and the role's trust; the API's CORS (and none
#      without a console origin);
#   3. an invalid authorizer input (mtls naming both a table and a status URL) fails the plan; so
#      do a console dist_dir without index.html and an api_base_url with a path.
# Needs terraform on PATH and the hashicorp/aws provider in a plugin directory
# (HSMSIGN_TF_PLUGIN_DIR, default /opt/tf-plugins): neither is a Debian or npm package, so the
# test exits 77 (skipped) without them, also under CI.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
authorizer_bin=${1:-}
plugins=${HSMSIGN_TF_PLUGIN_DIR:-/opt/tf-plugins}

command -v terraform >/dev/null || { echo "skipped: no terraform binary" >&2; exit 77; }
[ -d "$plugins/registry.terraform.io/hashicorp/aws" ] ||
    { echo "skipped: no hashicorp/aws provider under $plugins (HSMSIGN_TF_PLUGIN_DIR)" >&2; exit 77; }
command -v jq >/dev/null || { echo "skipped: jq missing" >&2; exit 77; }
[ -x "$authorizer_bin" ] || { echo "usage: $0 PATH/TO/hsmsign-authorizer" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
cp -r "$repo/infra/terraform" "$work/terraform"
cp -r "$here/terraform" "$work/fixture"

passed=0 failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}
jqc() { jq -e "$@" >/dev/null; } # jq as a predicate
tf_init() { (cd "$1" && terraform init -backend=false -plugin-dir="$plugins" -input=false -no-color >"$work/init.log" 2>&1) || { cat "$work/init.log"; return 1; }; }

# --- 1. validate the examples --------------------------------------------------------------------
for dir in "$work"/terraform/examples/*/; do
    name=$(basename "$dir")
    if tf_init "$dir" && (cd "$dir" && terraform validate -no-color); then
        ok "examples/$name: terraform validate"
    else
        fail "examples/$name: terraform validate"
    fi
done

# --- 2. plan the fixture ---------------------------------------------------------------------------
fx=$work/fixture
tf_init "$fx" || { echo "terraform init of the fixture failed"; exit 1; }
if (cd "$fx" && terraform plan -refresh=false -input=false -no-color -out=plan.bin >"$work/plan.log" 2>&1); then
    ok "fixture: terraform plan"
else
    cat "$work/plan.log"
    fail "fixture: terraform plan"
    echo "$passed passed, $failed failed"
    exit 1
fi
(cd "$fx" && terraform show -json plan.bin) >"$work/plan.json"
res() { jq -c --arg t "$1" '[.planned_values.root_module.child_modules[] | .resources[]? | select(.type == $t) | .values]' "$work/plan.json"; }

lambda=$(res aws_lambda_function)
jq -r '.[0].environment[0].variables.HSMSIGN_AUTHORIZER_CONFIG_JSON' <<<"$lambda" >"$work/authorizer.json"
rc=0
echo "not.a.jws" | env -i PATH="$PATH" AWS_REGION=eu-central-1 AWS_ACCESS_KEY_ID=AKIDEXAMPLE \
    AWS_SECRET_ACCESS_KEY=not-a-secret AWS_ENDPOINT_URL=http://127.0.0.1:9 \
    "$authorizer_bin" --config "$work/authorizer.json" --check-token - --route "GET /hello" \
    >"$work/decision.json" 2>"$work/decision.err" || rc=$?
check "authorizer: the module's config is accepted by hsmsign-authorizer (a bad token is a Deny)" \
    bash -c "[ $rc = 1 ] && jq -e '.decision == \"Deny\" and .reason == \"token_malformed\"' '$work/decision.json' >/dev/null"
jq '. + {unknown_member: 1}' "$work/authorizer.json" >"$work/authorizer-bad.json"
rc=0
echo "not.a.jws" | env -i PATH="$PATH" AWS_REGION=eu-central-1 \
    "$authorizer_bin" --config "$work/authorizer-bad.json" --check-token - --route "GET /hello" \
    >/dev/null 2>&1 || rc=$?
check "authorizer: the same config with an unknown member is refused (exit 2)" test "$rc" = 2
check "authorizer: config has the JWKS from SSM, the mTLS table, the route's scopes, the wildcard" \
    jqc '.jwks.ssm_parameter == "/hsmsign-test/jwks" and .mtls.dynamodb_table == "hsmsign-test-inventory"
           and .routes["GET /hello"].scopes == ["read"] and .wildcard_resource == true' "$work/authorizer.json"
check "authorizer: image command hsmsign-authorizer, image by digest" \
    jqc '.[0].image_config[0].command == ["hsmsign-authorizer"] and (.[0].image_uri | test("@sha256:[0-9a-f]{64}$"))' <<<"$lambda"
check "authorizer: no PIN, HSM or signer parameter in its environment" \
    jqc '.[0].environment[0].variables | keys - ["HSMSIGN_AUTHORIZER_CONFIG_JSON", "HSMSIGN_LOG_LEVEL", "HSMSIGN_RUNTIME_DIR"] | length == 0' <<<"$lambda"
check "authorizer: log group with a retention" jqc '.[] | select(.name == "/aws/lambda/hsmsign-test-authorizer") | .retention_in_days > 0' <<<"$(res aws_cloudwatch_log_group)"
check "authorizer: API Gateway may invoke it from the given authorizer only" \
    jqc '[.[] | select(.function_name == "hsmsign-test-authorizer")] | length == 1 and .[0].principal == "apigateway.amazonaws.com"
           and .[0].source_arn == "arn:aws:execute-api:eu-central-1:123456789012:abcdef1234/authorizers/xyz123"' <<<"$(res aws_lambda_permission)"

body=$(jq -r '.[0].body' <<<"$(res aws_api_gateway_rest_api)")
check "org_api: exactly the IAM routes of api/api_route.c" \
    bash -c "diff <(jq -r '.paths | to_entries[] | .key as \$p | .value | keys[] | select(. != \"parameters\") | \"\(ascii_upcase) \(\$p)\"' <<<'$body' | sort) \
                  <(grep -o 'ROW(\"[A-Z]*\", \"[^\"]*\", [a-z_]*, API_ROUTE_IAM[A-Z_]*' '$repo/api/api_route.c' | sed -E 's/ROW\\(\"([A-Z]+)\", \"([^\"]+)\".*/\\1 \\2/' | sort)"
check "org_api: every operation is SigV4 with a payload 1.0 Lambda proxy integration" \
    jqc '[.paths[] | to_entries[] | select(.key != "parameters") | .value]
           | all(.security == [{"sigv4": []}] and .["x-amazon-apigateway-integration"].type == "aws_proxy"
                 and .["x-amazon-apigateway-integration"].payloadFormatVersion == "1.0")' <<<"$body"
check "org_api: the security scheme is awsSigv4" \
    jqc '.components.securitySchemes.sigv4["x-amazon-apigateway-authtype"] == "awsSigv4"' <<<"$body"

check "health_check: HTTPS GET /healthz on the domain, with SNI" \
    jqc '.[0].type == "HTTPS" and .[0].fqdn == "pki.example.com" and .[0].resource_path == "/healthz" and .[0].enable_sni == true' \
    <<<"$(res aws_route53_health_check)"
check "health_check: the alarm is on AWS/Route53 HealthCheckStatus with the us-east-1 provider" \
    bash -c "jq -e '.[0].namespace == \"AWS/Route53\" and .[0].metric_name == \"HealthCheckStatus\"' <<<'$(res aws_cloudwatch_metric_alarm)' >/dev/null &&
             jq -e '.configuration.root_module.module_calls.health.module.resources[] | select(.address == \"aws_cloudwatch_metric_alarm.this\") | .provider_config_key == \"aws.us_east_1\"' '$work/plan.json' >/dev/null &&
             jq -e '.configuration.provider_config[\"aws.us_east_1\"].expressions.region.constant_value == \"us-east-1\"' '$work/plan.json' >/dev/null"

# --- 2c. the console (modules/console) and the API's CORS, from the same plan ----------------------
mres() { jq -c --arg m "$1" --arg t "$2" '[.planned_values.root_module.child_modules[] | select(.address == $m) | .resources[]? | select(.type == $t) | .values]' "$work/plan.json"; }
mdata() { jq -c --arg m "$1" --arg a "$2" '[.planned_values.root_module.child_modules[] | select(.address == $m) | .resources[]? | select(.address == ($m + "." + $a)) | .values][0]' "$work/plan.json"; }
csp_want="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self' https://pki.example.com https://cognito-identity.eu-central-1.amazonaws.com https://example-pki-console.auth.eu-central-1.amazoncognito.com; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
# shellcheck disable=SC2016 # $w is jq's
check "console: the CSP is hsmsignd's with the API, Cognito identity and hosted UI origins in connect-src" \
    jqc --arg w "$csp_want" '.[0].security_headers_config[0].content_security_policy[0] | .content_security_policy == $w and .override' <<<"$(mres module.console aws_cloudfront_response_headers_policy)"
check "console: HSTS one year, nosniff, Referrer-Policy no-referrer, X-Frame-Options DENY, each overriding S3" \
    jqc '.[0].security_headers_config[0] | .strict_transport_security[0].access_control_max_age_sec == 31536000
           and .strict_transport_security[0].override and .content_type_options[0].override
           and .referrer_policy[0].referrer_policy == "no-referrer" and .referrer_policy[0].override
           and .frame_options[0].frame_option == "DENY" and .frame_options[0].override' <<<"$(mres module.console aws_cloudfront_response_headers_policy)"
check "console: the distribution serves index.html at /, HTTPS only, GET/HEAD, TLS 1.2+ with SNI on the custom domain" \
    jqc '.[0] | .default_root_object == "index.html" and .aliases == ["console.pki.example.com"]
           and .default_cache_behavior[0].viewer_protocol_policy == "https-only"
           and (.default_cache_behavior[0].allowed_methods | sort) == ["GET", "HEAD"]
           and .viewer_certificate[0].minimum_protocol_version == "TLSv1.2_2021" and .viewer_certificate[0].ssl_support_method == "sni-only"
           and .viewer_certificate[0].cloudfront_default_certificate == false' <<<"$(mres module.console aws_cloudfront_distribution)"
check "console: without a custom domain, CloudFront's default certificate and no alias" \
    jqc '.[0] | (.aliases // []) == [] and .viewer_certificate[0].cloudfront_default_certificate == true and .default_cache_behavior[0].viewer_protocol_policy == "https-only"' \
    <<<"$(mres module.console_default_domain aws_cloudfront_distribution)"
check "console: the certificate is requested in us-east-1 with DNS validation" \
    jqc '[.configuration.root_module.module_calls.console.module.resources[] | select(.address == "aws_acm_certificate.this") | .provider_config_key] == ["aws.us_east_1"]' "$work/plan.json"
check "console: the bucket blocks public access, is SSE-S3 encrypted and versioned" \
    bash -c "jq -e '.[0] | .block_public_acls and .block_public_policy and .ignore_public_acls and .restrict_public_buckets' <<<'$(mres module.console aws_s3_bucket_public_access_block)' >/dev/null &&
             jq -e '.[0].rule[0].apply_server_side_encryption_by_default[0].sse_algorithm == \"AES256\"' <<<'$(mres module.console aws_s3_bucket_server_side_encryption_configuration)' >/dev/null &&
             jq -e '.[0].versioning_configuration[0].status == \"Enabled\"' <<<'$(mres module.console aws_s3_bucket_versioning)' >/dev/null"
check "console: the bucket policy lets only CloudFront (this distribution, AWS:SourceArn) read, and denies plain HTTP" \
    jqc '.statement | (map(select(.effect == "Allow")) | length == 1 and .[0].actions == ["s3:GetObject"]
           and .[0].principals == [{"type": "Service", "identifiers": ["cloudfront.amazonaws.com"]}]
           and .[0].condition[0].variable == "AWS:SourceArn")
         and any(.[]; .effect == "Deny" and .condition[0].variable == "aws:SecureTransport")' <<<"$(mdata module.console data.aws_iam_policy_document.bucket)"
check "console: Origin Access Control signs every S3 request" \
    jqc '.[0] | .origin_access_control_origin_type == "s3" and .signing_behavior == "always" and .signing_protocol == "sigv4"' <<<"$(mres module.console aws_cloudfront_origin_access_control)"
objs=$(mres module.console aws_s3_object)
check "console: every dist file is uploaded (not dot-files, not dist's own config.json), config.json generated" \
    jqc '[.[].key] | sort == ["assets/app.css", "assets/app.js", "blob.bin", "config.json", "index.html", "logo.svg"]' <<<"$objs"
check "console: content types by extension, octet-stream otherwise; index.html and config.json no-cache" \
    jqc 'map({(.key): [.content_type, .cache_control]}) | add
           | .["index.html"] == ["text/html; charset=utf-8", "no-cache"] and .["assets/app.js"][0] == "text/javascript; charset=utf-8"
             and .["assets/app.css"] == ["text/css; charset=utf-8", "public, max-age=300"] and .["logo.svg"][0] == "image/svg+xml"
             and .["blob.bin"][0] == "application/octet-stream" and .["config.json"] == ["application/json", "no-cache"]' <<<"$objs"
etags=$(cd "$fx/console-dist" && for f in index.html assets/app.js assets/app.css logo.svg blob.bin; do printf '%s %s\n' "$f" "$(md5sum <"$f" | cut -d' ' -f1)"; done | jq -R 'split(" ") | {(.[0]): .[1]}' | jq -s add)
# shellcheck disable=SC2016 # $e is jq's
check "console: each object's etag is its file's MD5 (uploads follow content changes)" \
    jqc --argjson e "$etags" 'map(select(.key != "config.json")) | all(.etag == $e[.key])' <<<"$objs"
check "console: user pool without self sign-up, MFA on, deletion protection" \
    jqc '.[0] | .admin_create_user_config[0].allow_admin_create_user_only and .mfa_configuration == "ON" and .deletion_protection == "ACTIVE"' <<<"$(mres module.console aws_cognito_user_pool)"
check "console: the app client is public, code flow only, redirecting to the console" \
    jqc '.[0] | .generate_secret == false and .allowed_oauth_flows == ["code"] and .allowed_oauth_flows_user_pool_client
           and .callback_urls == ["https://console.pki.example.com/"] and .supported_identity_providers == ["COGNITO"]
           and .explicit_auth_flows == ["ALLOW_REFRESH_TOKEN_AUTH"]' <<<"$(mres module.console aws_cognito_user_pool_client)"
check "console: the identity pool has no unauthenticated identities and no classic flow" \
    jqc '.[0] | .allow_unauthenticated_identities == false and .allow_classic_flow == false and .cognito_identity_providers[0].server_side_token_check' \
    <<<"$(mres module.console aws_cognito_identity_pool)"
check "console: only authenticated identities of this pool may assume the role" \
    jqc '.statement[0] | .actions == ["sts:AssumeRoleWithWebIdentity"] and .principals[0].identifiers == ["cognito-identity.amazonaws.com"]
           and (.condition | map(.variable) | sort) == ["cognito-identity.amazonaws.com:amr", "cognito-identity.amazonaws.com:aud"]
           and any(.condition[]; .variable == "cognito-identity.amazonaws.com:amr" and .values == ["authenticated"])' \
    <<<"$(mdata module.console data.aws_iam_policy_document.assume)"
check "console: the role may invoke the API (and gets the extra policy); without an API, no invoke policy" \
    bash -c "jq -e 'length == 1' <<<'$(mres module.console aws_iam_role_policy)' >/dev/null &&
             jq -e '.[0].policy_arn == \"arn:aws:iam::123456789012:policy/hsmsign-test-extra\"' <<<'$(mres module.console aws_iam_role_policy_attachment)' >/dev/null &&
             jq -e 'length == 0' <<<'$(mres module.console_default_domain aws_iam_role_policy)' >/dev/null"
check "api: CORS for the console origin only, GET/HEAD/POST, the SigV4 headers, Location/Retry-After/X-Request-Id exposed, no credentials" \
    jqc '.[0].cors_configuration[0] | .allow_origins == ["https://console.pki.example.com"] and (.allow_methods | sort) == ["GET", "HEAD", "POST"]
           and (.allow_headers | sort) == ["authorization", "content-type", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"]
           and (.expose_headers | sort) == ["location", "retry-after", "x-request-id"] and .allow_credentials == false' \
    <<<"$(mres module.api aws_apigatewayv2_api)"
check "api: no CORS without console_origin" jqc '.[0].cors_configuration == []' <<<"$(mres module.api_no_console aws_apigatewayv2_api)"
check "api: CORS adds no OPTIONS or ANY route (API Gateway answers preflights itself)" \
    jqc '[.[].route_key | select(test("^(OPTIONS|ANY) "))] | length == 0' <<<"$(mres module.api aws_apigatewayv2_route)"

# --- 2b. plan examples/authorizer with its terraform.tfvars.example, offline -------------------------
ex=$work/terraform/examples/authorizer
sed -n '/^provider "aws" {/,/^}/p' "$fx/main.tf" | sed '/region/d' >"$ex/offline_override.tf"
sed -n '/^provider "aws" {/,$p' "$fx/main.tf" | sed -n '/alias/,/^}/p' |
    { echo 'provider "aws" {'; sed '/region/d'; } >>"$ex/offline_override.tf"
cp "$ex/terraform.tfvars.example" "$ex/terraform.tfvars"
if (cd "$ex" && terraform plan -refresh=false -input=false -no-color -out=plan.bin >"$work/plan-ex.log" 2>&1); then
    ok "examples/authorizer: terraform plan with terraform.tfvars.example"
    (cd "$ex" && terraform show -json plan.bin) >"$work/plan-ex.json"
    exres() { jq -c --arg t "$1" '[.. | objects | select(.type? == $t and has("values")) | .values]' "$work/plan-ex.json"; }
    check "examples/authorizer: a TOKEN authorizer with a 300 s result cache on GET /hello" \
        jqc '.[0].type == "TOKEN" and .[0].authorizer_result_ttl_in_seconds == 300 and .[0].identity_source == "method.request.header.Authorization"' <<<"$(exres aws_api_gateway_authorizer)"
    check "examples/authorizer: with the cache on, the authorizer answers with the stage wildcard" \
        jqc '.[0].environment[0].variables.HSMSIGN_AUTHORIZER_CONFIG_JSON | fromjson | .wildcard_resource == true and .routes["GET /hello"].scopes == ["read"]' <<<"$(exres aws_lambda_function)"
    check "examples/authorizer: GET /hello uses the custom authorizer" \
        jqc '.[0].http_method == "GET" and .[0].authorization == "CUSTOM"' <<<"$(exres aws_api_gateway_method)"
    check "examples/authorizer: the HTTP API's JWT authorizer has hsmsign's issuer and the audiences" \
        jqc '.[0].authorizer_type == "JWT" and .[0].jwt_configuration[0].issuer == "https://pki.example.com" and .[0].jwt_configuration[0].audience == ["https://hello.example.com"]' <<<"$(exres aws_apigatewayv2_authorizer)"
    check "examples/authorizer: the alarm topic is created in us-east-1" \
        jqc '[.configuration.root_module.resources[] | select(.address == "aws_sns_topic.alarms") | .provider_config_key] == ["aws.us_east_1"]' "$work/plan-ex.json"
else
    cat "$work/plan-ex.log"
    fail "examples/authorizer: terraform plan with terraform.tfvars.example"
fi

# --- 3. an invalid input fails the plan ------------------------------------------------------------
if (cd "$fx" && terraform plan -refresh=false -input=false -no-color \
    -var 'mtls={dynamodb_table_name = "t", status_url = "https://pki.example.com"}' >"$work/plan-bad.log" 2>&1); then
    fail "authorizer: mtls with a table and a status URL is refused"
else
    check "authorizer: mtls with a table and a status URL is refused" grep -q "exactly one of dynamodb_table_name and status_url" "$work/plan-bad.log"
fi

if (cd "$fx" && terraform plan -refresh=false -input=false -no-color -var console_dist_dir=console-dist/assets >"$work/plan-bad.log" 2>&1); then
    fail "console: a dist_dir without index.html is refused"
else
    check "console: a dist_dir without index.html is refused" grep -q "dist_dir has no index.html" "$work/plan-bad.log"
fi
if (cd "$fx" && terraform plan -refresh=false -input=false -no-color -var console_api_base_url=https://pki.example.com/v1 >"$work/plan-bad.log" 2>&1); then
    fail "console: an api_base_url with a path is refused"
else
    check "console: an api_base_url with a path is refused" grep -q "api_base_url must be an https origin" "$work/plan-bad.log"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
