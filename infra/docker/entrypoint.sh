#!/bin/bash
# hsmsign-entrypoint: prepares hsmsignd's run-time files, then execs hsmsignd; or, for the
# authorizer function, writes hsmsign-authorizer's config and execs hsmsign-authorizer.
#
# Which program: the first argument (ECS: the container command), else _HANDLER (Lambda:
# provided.al2023's /lambda-entrypoint.sh sets it from the function's image command, e.g.
# image_config.command = ["hsmsign-authorizer"]), else hsmsignd. Any other name is refused.
#
# In the image it is /usr/local/bin/hsmsign-entrypoint and also the Lambda bootstrap
# (/var/runtime/bootstrap, which provided.al2023's /lambda-entrypoint.sh execs). ECS runs it as
# the container's entry point. hsmsignd itself decides between the Lambda Runtime API loop
# (AWS_LAMBDA_RUNTIME_API set) and its HTTP server.
#
# Steps (each optional, driven by the environment; infra/terraform/modules/signer sets it):
#   1. HSMSIGN_SSM_CONFIG, HSMSIGN_SSM_JWKS, HSMSIGN_SSM_TRUSTSTORE, HSMSIGN_SSM_HSM_CA_CERT:
#      names of SSM String parameters, read with one GetParameters call into
#      $HSMSIGN_RUNTIME_DIR/{hsmsignd.json,jwks.json,truststore.pem,customerCA.crt}. The config
#      must refer to those paths (jwt.jwks_file, ca.chain_file). Without HSMSIGN_SSM_CONFIG the
#      config is $HSMSIGN_CONFIG (e.g. a file in the image).
#   2. HSMSIGN_CLOUDHSM_HSM_IPS (space-separated HSM ENI addresses): writes the CloudHSM client
#      configuration (configure-pkcs11 -a ... --hsm-ca-cert customerCA.crt) under
#      $HSMSIGN_CLOUDHSM_STATE_DIR, where the image links /opt/cloudhsm/etc and /opt/cloudhsm/run
#      (the image's own file system is read-only in Lambda).
#      HSMSIGN_CLOUDHSM_DISABLE_KEY_AVAILABILITY_CHECK=1 is for one-HSM development clusters only.
#   3. HSMSIGN_PIN_SECRET_ARN: reads the secret (secretsmanager:GetSecretValue) and puts its
#      string (or, with HSMSIGN_PIN_SECRET_JSON_KEY, that member of it) into the environment
#      variable the config's token.pin_env names. The PIN never touches a file, never appears in
#      an argument list (curl gets credentials and the secret request on standard input) and is
#      never logged (no xtrace; log lines are fixed texts).
#   4. exec hsmsignd (HSMSIGN_CONFIG=the config path), with no arguments.
#
# hsmsign-authorizer (docs/authorizer.md, modules/authorizer) needs no token, no PIN and no
# CloudHSM client: HSMSIGN_PIN_SECRET_ARN and HSMSIGN_CLOUDHSM_HSM_IPS are refused. Its config
# (HSMSIGN_AUTHORIZER_CONFIG for the program) is, in this order:
#   HSMSIGN_AUTHORIZER_CONFIG_JSON   the config itself (no secret in it), written to
#                                    $HSMSIGN_RUNTIME_DIR/hsmsign-authorizer.json: no AWS call at
#                                    start, so the cold start stays short
#   HSMSIGN_SSM_CONFIG               an SSM String parameter, fetched to the same file
#   HSMSIGN_AUTHORIZER_CONFIG        a file already there (e.g. in the image)
# The program validates the config itself and reports a bad one to /runtime/init/error. It reads
# its JWKS (jwks.ssm_parameter / jwks.url) and certificate status itself, with the function role's
# credentials from the environment, so rotations need no restart.
#
# AWS calls use curl --aws-sigv4 with the role's credentials: AWS_ACCESS_KEY_ID/
# AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN (Lambda) or the ECS container credentials endpoint
# (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI). Region: AWS_REGION. Endpoints:
# https://SERVICE.REGION.amazonaws.com (VPC endpoints with private DNS), or AWS_ENDPOINT_URL_SSM /
# AWS_ENDPOINT_URL_SECRETS_MANAGER (as the AWS SDKs read them; tests use a local stand-in).
# Overridable paths (tests): HSMSIGND, HSMSIGN_AUTHORIZER_BIN, HSMSIGN_CONFIGURE_PKCS11,
# HSMSIGN_CLOUDHSM_ETC_IMAGE.
#
# On a failure it logs one JSON line on stderr, reports it to the Lambda Runtime API's
# /runtime/init/error when running in Lambda, and exits 1.
set -euo pipefail
set +x
umask 077

readonly RUNTIME_DIR=${HSMSIGN_RUNTIME_DIR:-/tmp/hsmsign}
readonly STATE_DIR=${HSMSIGN_CLOUDHSM_STATE_DIR:-/tmp/cloudhsm}
readonly ETC_IMAGE=${HSMSIGN_CLOUDHSM_ETC_IMAGE:-/opt/cloudhsm/etc.image}
readonly CONFIGURE_PKCS11=${HSMSIGN_CONFIGURE_PKCS11:-/opt/cloudhsm/bin/configure-pkcs11}
readonly HSMSIGND_BIN=${HSMSIGND:-/usr/local/bin/hsmsignd}
readonly AUTHORIZER_BIN=${HSMSIGN_AUTHORIZER_BIN:-/usr/local/bin/hsmsign-authorizer}
readonly CURL_TIMEOUT=${HSMSIGN_ENTRYPOINT_TIMEOUT:-10}

# One JSON line, like hsmsignd's own; $2 and $3 are fixed texts or names, never secret values.
log() {
    local level=$1 event=$2 detail=${3:-}
    detail=${detail//\\/\\\\}
    detail=${detail//\"/\\\"}
    printf '{"level":"%s","event":"entrypoint.%s","detail":"%s"}\n' "$level" "$event" "$detail" >&2
}

die() {
    log error "$1" "${2:-}"
    if [ -n "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
        printf '{"errorMessage":"hsmsign entrypoint failed at %s","errorType":"Runtime.EntrypointFailed"}' "$1" |
            curl -sS -o /dev/null --max-time 2 -X POST \
                -H 'Lambda-Runtime-Function-Error-Type: Runtime.EntrypointFailed' \
                --data-binary @- "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/init/error" || true
    fi
    exit 1
}

# Credentials of the task or function role into shell variables (never exported further).
AK='' SK='' TOKEN=''
load_credentials() {
    if [ -n "${AWS_ACCESS_KEY_ID:-}" ] && [ -n "${AWS_SECRET_ACCESS_KEY:-}" ]; then
        AK=$AWS_ACCESS_KEY_ID SK=$AWS_SECRET_ACCESS_KEY TOKEN=${AWS_SESSION_TOKEN:-}
        return
    fi
    local uri='' auth='' creds
    if [ -n "${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI:-}" ]; then
        uri="http://169.254.170.2${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}"
    elif [ -n "${AWS_CONTAINER_CREDENTIALS_FULL_URI:-}" ]; then
        uri=$AWS_CONTAINER_CREDENTIALS_FULL_URI
        if [ -n "${AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE:-}" ]; then
            auth=$(<"$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        else
            auth=${AWS_CONTAINER_AUTHORIZATION_TOKEN:-}
        fi
    else
        die credentials "no AWS credentials in the environment"
    fi
    # The authorization token goes to curl on standard input, not on its command line.
    creds=$(printf 'header = "Authorization: %s"\n' "$auth" |
        curl -sS --fail --max-time "$CURL_TIMEOUT" --retry 3 --config - "$uri") ||
        die credentials "container credentials endpoint failed"
    AK=$(printf '%s' "$creds" | jq -er .AccessKeyId) || die credentials "no AccessKeyId"
    SK=$(printf '%s' "$creds" | jq -er .SecretAccessKey) || die credentials "no SecretAccessKey"
    TOKEN=$(printf '%s' "$creds" | jq -r '.Token // empty')
}

# aws_json ENDPOINT SIGNING_NAME TARGET: POSTs the JSON request read from stdin to the service's
# JSON API, signed with SigV4, and prints the response body. The credentials and the session
# token reach curl through its standard input (--config -), never its argument list; the request
# body (parameter names, the secret's ARN: nothing secret) is an argument.
aws_json() {
    local endpoint=$1 signing_name=$2 target=$3 body
    body=$(cat)
    {
        printf 'user = "%s:%s"\n' "$AK" "$SK"
        if [ -n "$TOKEN" ]; then printf 'header = "X-Amz-Security-Token: %s"\n' "$TOKEN"; fi
    } | curl -sS --fail-with-body --max-time "$CURL_TIMEOUT" --retry 3 --retry-connrefused \
        --aws-sigv4 "aws:amz:${REGION}:${signing_name}" \
        -H 'Content-Type: application/x-amz-json-1.1' -H "X-Amz-Target: ${target}" \
        --data-binary "$body" --config - "${endpoint%/}/"
}

fetch_parameters() {
    local -a roles=() names=()
    local role var
    for role in config jwks truststore hsm_ca_cert; do
        var="HSMSIGN_SSM_${role^^}"
        if [ -n "${!var:-}" ]; then
            roles+=("$role")
            names+=("${!var}")
        fi
    done
    [ ${#names[@]} -gt 0 ] || return 0
    local endpoint=${AWS_ENDPOINT_URL_SSM:-https://ssm.${REGION}.amazonaws.com}
    local resp
    resp=$(printf '%s\n' "${names[@]}" | jq -cRn '{Names: [inputs], WithDecryption: false}' |
        aws_json "$endpoint" ssm AmazonSSM.GetParameters) || die ssm "GetParameters failed"
    if printf '%s' "$resp" | jq -e '(.InvalidParameters // []) | length > 0' >/dev/null; then
        die ssm "parameters not found: $(printf '%s' "$resp" | jq -r '.InvalidParameters | join(" ")')"
    fi
    local i file
    for i in "${!roles[@]}"; do
        case ${roles[$i]} in
        config) file=$PROGRAM.json ;;
        jwks) file=jwks.json ;;
        truststore) file=truststore.pem ;;
        hsm_ca_cert) file=customerCA.crt ;;
        esac
        printf '%s' "$resp" | jq -jer --arg n "${names[$i]}" \
            '.Parameters[] | select(.Name == $n) | .Value' >"$RUNTIME_DIR/$file.tmp" ||
            die ssm "parameter ${names[$i]} missing from the answer"
        chmod 0644 "$RUNTIME_DIR/$file.tmp"
        mv -f "$RUNTIME_DIR/$file.tmp" "$RUNTIME_DIR/$file"
    done
    log info parameters "read ${names[*]}"
}

configure_cloudhsm() {
    [ -n "${HSMSIGN_CLOUDHSM_HSM_IPS:-}" ] || return 0
    local -a ips
    read -r -a ips <<<"$HSMSIGN_CLOUDHSM_HSM_IPS"
    local ip
    for ip in "${ips[@]}"; do
        [[ $ip =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || die cloudhsm "not an IPv4 address: $ip"
    done
    [ -s "$RUNTIME_DIR/customerCA.crt" ] || die cloudhsm "no customerCA.crt (HSMSIGN_SSM_HSM_CA_CERT)"
    rm -rf "${STATE_DIR:?}/etc"
    mkdir -p "$STATE_DIR/etc" "$STATE_DIR/run"
    cp -R "$ETC_IMAGE/." "$STATE_DIR/etc/"
    cp "$RUNTIME_DIR/customerCA.crt" "$STATE_DIR/etc/customerCA.crt"
    "$CONFIGURE_PKCS11" -a "${ips[@]}" --hsm-ca-cert "$STATE_DIR/etc/customerCA.crt" >&2 ||
        die cloudhsm "configure-pkcs11 -a failed"
    if [ "${HSMSIGN_CLOUDHSM_DISABLE_KEY_AVAILABILITY_CHECK:-0}" = 1 ]; then
        log warn cloudhsm "key availability check disabled: development clusters only"
        "$CONFIGURE_PKCS11" --disable-key-availability-check >&2 || die cloudhsm "configure-pkcs11 failed"
    fi
    log info cloudhsm "client configured for ${#ips[@]} HSM(s)"
}

load_pin() {
    [ -n "${HSMSIGN_PIN_SECRET_ARN:-}" ] || return 0
    local pin_env resp pin
    pin_env=$(jq -r '.token.pin_env // empty' "$CONFIG") || die pin "config is not JSON"
    [[ $pin_env =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die pin "the config's token.pin_env must name an environment variable"
    local endpoint=${AWS_ENDPOINT_URL_SECRETS_MANAGER:-https://secretsmanager.${REGION}.amazonaws.com}
    resp=$(jq -cn --arg id "$HSMSIGN_PIN_SECRET_ARN" '{SecretId: $id}' |
        aws_json "$endpoint" secretsmanager secretsmanager.GetSecretValue) || die pin "GetSecretValue failed"
    if [ -n "${HSMSIGN_PIN_SECRET_JSON_KEY:-}" ]; then
        pin=$(printf '%s' "$resp" | jq -er --arg k "$HSMSIGN_PIN_SECRET_JSON_KEY" '.SecretString | fromjson | .[$k] | strings') ||
            die pin "the secret has no string member HSMSIGN_PIN_SECRET_JSON_KEY"
    else
        pin=$(printf '%s' "$resp" | jq -er '.SecretString | strings') || die pin "the secret has no SecretString"
    fi
    resp=''
    [ -n "$pin" ] || die pin "the secret is empty"
    printf -v "$pin_env" '%s' "$pin"
    export "${pin_env?}"
    pin=''
    log info pin "CU PIN loaded into \$$pin_env"
}

main_hsmsignd() {
    if [ -n "${HSMSIGN_SSM_CONFIG:-}${HSMSIGN_SSM_JWKS:-}${HSMSIGN_SSM_TRUSTSTORE:-}${HSMSIGN_SSM_HSM_CA_CERT:-}${HSMSIGN_PIN_SECRET_ARN:-}" ]; then
        [ -n "$REGION" ] || die region "AWS_REGION is not set"
        load_credentials
    fi
    fetch_parameters
    if [ -n "${HSMSIGN_SSM_CONFIG:-}" ]; then
        CONFIG=$RUNTIME_DIR/hsmsignd.json
    else
        CONFIG=${HSMSIGN_CONFIG:-}
    fi
    if [ -z "$CONFIG" ] || [ ! -r "$CONFIG" ]; then
        die config "no config: set HSMSIGN_SSM_CONFIG or HSMSIGN_CONFIG"
    fi
    configure_cloudhsm
    load_pin
    AK='' SK='' TOKEN=''
    export HSMSIGN_CONFIG=$CONFIG
    exec "$HSMSIGND_BIN"
}

main_authorizer() {
    [ -z "${HSMSIGN_PIN_SECRET_ARN:-}" ] || die authorizer "the authorizer takes no PIN: unset HSMSIGN_PIN_SECRET_ARN"
    [ -z "${HSMSIGN_CLOUDHSM_HSM_IPS:-}" ] || die authorizer "the authorizer uses no HSM: unset HSMSIGN_CLOUDHSM_HSM_IPS"
    if [ -n "${HSMSIGN_SSM_JWKS:-}${HSMSIGN_SSM_TRUSTSTORE:-}${HSMSIGN_SSM_HSM_CA_CERT:-}" ]; then
        die authorizer "the authorizer reads its JWKS itself (jwks.ssm_parameter): unset HSMSIGN_SSM_JWKS, _TRUSTSTORE, _HSM_CA_CERT"
    fi
    CONFIG=$RUNTIME_DIR/$PROGRAM.json
    # The cold start counts: only shell builtins on this path but one mkdir (the file is the
    # program's own, 0600 under umask 077, written once in a fresh execution environment).
    if [ -n "${HSMSIGN_AUTHORIZER_CONFIG_JSON:-}" ]; then
        [ -z "${HSMSIGN_SSM_CONFIG:-}" ] || die config "set one of HSMSIGN_AUTHORIZER_CONFIG_JSON and HSMSIGN_SSM_CONFIG"
        printf '%s' "$HSMSIGN_AUTHORIZER_CONFIG_JSON" >"$CONFIG" || die config "cannot write $CONFIG"
        unset HSMSIGN_AUTHORIZER_CONFIG_JSON
    elif [ -n "${HSMSIGN_SSM_CONFIG:-}" ]; then
        [ -n "$REGION" ] || die region "AWS_REGION is not set"
        load_credentials
        fetch_parameters
        AK='' SK='' TOKEN=''
    else
        CONFIG=${HSMSIGN_AUTHORIZER_CONFIG:-}
    fi
    if [ -z "$CONFIG" ] || [ ! -r "$CONFIG" ]; then
        die config "no config: set HSMSIGN_AUTHORIZER_CONFIG_JSON, HSMSIGN_SSM_CONFIG or HSMSIGN_AUTHORIZER_CONFIG"
    fi
    export HSMSIGN_AUTHORIZER_CONFIG=$CONFIG
    exec "$AUTHORIZER_BIN"
}

main() {
    PROGRAM=${1:-${_HANDLER:-hsmsignd}}
    case $PROGRAM in
    hsmsignd | hsmsign-authorizer) ;;
    *) die program "unknown program (the image command must be hsmsignd or hsmsign-authorizer)" ;;
    esac
    readonly PROGRAM
    REGION=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
    if [ "$PROGRAM" = hsmsign-authorizer ]; then
        [ -d "$RUNTIME_DIR" ] || mkdir -m 0700 "$RUNTIME_DIR" || die config "cannot create $RUNTIME_DIR"
        main_authorizer
    else
        mkdir -p "$RUNTIME_DIR"
        chmod 0700 "$RUNTIME_DIR"
        main_hsmsignd
    fi
}

main "$@"
