# shellcheck shell=bash disable=SC2154 # $repo, $bin and $module are the sourcing script's
# Sourced by the benchmarks (http_bench.sh, cpu_loop.sh, lambda_bench.sh): what they share.
# Needs $repo (the checkout), $bin (the build's bin/ with keyceremony) and $module (SoftHSM2).

# bench_ceremony DIR LABEL KEY_TYPE JWT_TYPE JWT_ALG [SSH_TYPE]: a fresh SoftHSM2 token LABEL in
# DIR/token (softhsm/init-token.sh; exports SOFTHSM2_CONF), then the key ceremony with configs
# in DIR/cfg and results in DIR/out: root "bench-root" (EC-P384, out/root.pem), issuing CA
# "bench-issuing" (KEY_TYPE, out/intermediate.pem), JWT key "bench-jwt" (JWT_TYPE, JWT_ALG),
# export (out/truststore.pem, out/jwks.json) and, with SSH_TYPE, an SSH user CA key
# "bench-ssh-user-ca" (out/ssh-user-ca.pub). Each step's stderr goes to DIR/ceremony.log, its
# stdout ("keyceremony STEP: done") to ours; a failed step prints the log's tail and returns 1.
bench_ceremony() {
    local dir=$1 label=$2 type=$3 jwt_type=$4 alg=$5 ssh_type=${6:-} step
    KEYCEREMONY="$bin/keyceremony" "$repo/softhsm/init-token.sh" "$dir/token" "$label" || return 1
    export SOFTHSM2_CONF="$dir/token/softhsm2.conf"
    mkdir -p "$dir/cfg" "$dir/out"
    local token="\"token\": {\"module\": \"${module:?}\", \"label\": \"$label\", \"pin_file\": \"$dir/token/user.pin\"}"
    cat >"$dir/cfg/root.json" <<JSON
{ $token, "key": {"label": "bench-root", "type": "EC-P384"},
  "certificate": {"subject": {"CN": "Bench Root"}, "validity_days": 30,
                  "output": "$dir/out/root.pem"} }
JSON
    cat >"$dir/cfg/intermediate.json" <<JSON
{ $token, "issuer": {"key": "bench-root", "certificate": "$dir/out/root.pem"},
  "key": {"label": "bench-issuing", "type": "$type"},
  "certificate": {"subject": {"CN": "Bench Issuing $type"}, "validity_days": 10,
                  "output": "$dir/out/intermediate.pem"} }
JSON
    cat >"$dir/cfg/jwt-key.json" <<JSON
{ $token, "key": {"label": "bench-jwt", "type": "$jwt_type"}, "alg": "$alg",
  "jwk_output": "$dir/out/jwt.jwk.json" }
JSON
    cat >"$dir/cfg/export.json" <<JSON
{ $token, "root_certificate": "$dir/out/root.pem",
  "intermediate_certificate": "$dir/out/intermediate.pem",
  "jwt_keys": [{"key": "bench-jwt"}], "truststore_output": "$dir/out/truststore.pem",
  "jwks_output": "$dir/out/jwks.json" }
JSON
    local steps=(root intermediate jwt-key export)
    if [ -n "$ssh_type" ]; then
        cat >"$dir/cfg/ssh-ca.json" <<JSON
{ $token, "transcript": "$dir/out/transcript.jsonl",
  "user_ca": {"label": "bench-ssh-user-ca", "type": "$ssh_type",
              "public_key_output": "$dir/out/ssh-user-ca.pub"} }
JSON
        steps+=(ssh-ca)
    fi
    for step in "${steps[@]}"; do
        "$bin/keyceremony" "$step" --config "$dir/cfg/$step.json" 2>>"$dir/ceremony.log" ||
            { echo "ceremony step $step failed:" >&2; tail -n 5 "$dir/ceremony.log" >&2; return 1; }
    done
}
