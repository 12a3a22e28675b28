#!/usr/bin/env bash
# keyceremony ssh-ca end to end (issue 11, deliverable 1), against a real OpenSSH sshd on
# 127.0.0.1 (tests/integration/ssh_lib.sh): the ceremony makes a user CA key and a host CA key in
# a fresh SoftHSM2 token, a second run adds a newer user CA key (rotation), export writes
# ssh_user_ca.pub (newest first), ssh_host_ca.pub and ssh_known_hosts, and verify accepts them.
# Certificates signed with those token keys through signer/sgn_ssh_cert (ssh_ca_sign.c) then
# log in to an sshd whose TrustedUserCAKeys is the exported ssh_user_ca.pub -- with either
# published user CA key -- and the sshd's host certificate is trusted through the exported
# ssh_known_hosts under StrictHostKeyChecking=yes. A certificate from a CA key that was made
# but not published is refused. (The ceremony's own checks -- key types, protections,
# --dry-run, refusals, verify against tampering -- are in ceremony_types_test.sh.)
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
ssh_require
require pkcs11-tool
kc=${KEYCEREMONY:?}
sign=${SSH_CA_SIGN:?}
work=$(mktemp -d)
trap 'ssh_sshd_stop; rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir -p out cfg
label=ssh-ca-test
new_token "$work/token" "$label"
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"
printf '{ %s }\n' "$token" >cfg/token.json
run() { "$kc" "$@" 2>>out/ceremony.log; }

# The newest user CA key is Ed25519 where the token offers CKM_EDDSA (SoftHSM2 2.6 does).
newest_type=RSA-3072
if pkcs11-tool --module "$module" -M 2>/dev/null | grep -q '^ *EDDSA'; then
    newest_type=Ed25519
fi

# --- the ceremony: a user and a host CA key, then a newer user CA key -----------------------
cat >cfg/ssh-ca-1.json <<EOF
{ $token, "transcript": "out/transcript.jsonl",
  "user_ca": {"label": "ssh-user-ca-1", "type": "EC-P384"},
  "host_ca": {"label": "ssh-host-ca-1", "type": "EC-P256"} }
EOF
cat >cfg/ssh-ca-2.json <<EOF
{ $token, "transcript": "out/transcript.jsonl",
  "user_ca": {"label": "ssh-user-ca-2", "type": "$newest_type"} }
EOF
cat >cfg/ssh-ca-unpublished.json <<EOF
{ $token, "transcript": "out/transcript.jsonl",
  "user_ca": {"label": "ssh-user-ca-unpublished", "type": "EC-P256"} }
EOF
check "ssh-ca: user CA (EC-P384) and host CA (EC-P256)" run ssh-ca --config cfg/ssh-ca-1.json
check "ssh-ca: a newer user CA key ($newest_type)" run ssh-ca --config cfg/ssh-ca-2.json
check "ssh-ca: a user CA key that is never published" \
    run ssh-ca --config cfg/ssh-ca-unpublished.json

# --- sshd, then export with its [127.0.0.1]:port among the host patterns ---------------------
ssh_sshd_init "$work/sshd"
ssh_principals ops
# TrustedUserCAKeys is read at each login: export writes the file after sshd has started.
ssh_sshd_start out/ssh_user_ca.pub || exit 1
cat >cfg/export.json <<EOF
{ $token, "transcript": "out/transcript.jsonl",
  "ssh": {"user_ca_keys": ["ssh-user-ca-2", "pkcs11:token=$label;object=ssh-user-ca-1;type=private"],
          "host_ca_keys": ["ssh-host-ca-1"],
          "known_hosts_patterns": ["*.example.com", "[127.0.0.1]:$ssh_port"],
          "user_ca_output": "out/ssh_user_ca.pub", "host_ca_output": "out/ssh_host_ca.pub",
          "known_hosts_output": "out/ssh_known_hosts"} }
EOF
check "export writes the SSH CA files" run export --config cfg/export.json
transcript_fp() { # LABEL: the SSH fingerprint the transcript recorded for that key
    $py - "$1" <<'PY'
import json, sys
lines = [json.loads(l) for l in open("out/transcript.jsonl")]
print([l for l in lines if l.get("key_label") == sys.argv[1] and "ssh_fingerprint" in l][0]["ssh_fingerprint"])
PY
}
fps_of() { ssh-keygen -l -f "$1" | awk '{print $2 " " $3}' | tr '\n' ' '; }
user_fps="$(transcript_fp ssh-user-ca-2) ssh-user-ca-2 $(transcript_fp ssh-user-ca-1) ssh-user-ca-1 "
check "ssh_user_ca.pub: ssh-keygen -l lists the newest key first; fingerprints as the transcript's" \
    test "$(fps_of out/ssh_user_ca.pub)" = "$user_fps"
check "ssh_host_ca.pub: the host CA key, fingerprint as the transcript's" \
    test "$(fps_of out/ssh_host_ca.pub)" = "$(transcript_fp ssh-host-ca-1) ssh-host-ca-1 "
known_hosts_line() {
    [ "$(wc -l <out/ssh_known_hosts)" -eq 1 ] &&
        [ "$(cat out/ssh_known_hosts)" = "@cert-authority *.example.com,[127.0.0.1]:$ssh_port $(cat out/ssh_host_ca.pub)" ]
}
check "ssh_known_hosts: @cert-authority, the patterns, the host CA line" known_hosts_line
cat >cfg/verify.json <<EOF
{ $token, "ssh": {"user_ca": "out/ssh_user_ca.pub", "host_ca": "out/ssh_host_ca.pub",
                  "known_hosts": "out/ssh_known_hosts"} }
EOF
check "verify accepts the exported files" run verify --config cfg/verify.json

# --- user certificates from the token's CA keys log in --------------------------------------
ssh-keygen -q -t ed25519 -N '' -C u_ed -f u_ed
ssh-keygen -q -t rsa -b 2048 -N '' -C u_rsa -f u_rsa
ssh-keygen -q -t ecdsa -b 256 -N '' -C u_un -f u_un
certify() { # CA_LABEL user|host SERIAL PRINCIPALS SUBJECT_PUB OUT
    "$sign" cfg/token.json "$@" 2>>out/sign.log
}
check "ssh_ca_sign: user certificate by the newest user CA key" \
    certify ssh-user-ca-2 user 11 ops u_ed.pub u_ed-cert.pub
check "ssh_ca_sign: user certificate by the older user CA key" \
    certify ssh-user-ca-1 user 12 ops u_rsa.pub u_rsa-cert.pub
check "ssh_ca_sign: user certificate by the unpublished CA key" \
    certify ssh-user-ca-unpublished user 13 ops u_un.pub u_un-cert.pub
signed_by() { # CERT CA_LABEL: ssh-keygen -L names that CA key's fingerprint
    ssh-keygen -L -f "$1" | grep -F 'Signing CA:' | has -F "$(transcript_fp "$2")"
}
check "ssh-keygen -L: the newest user CA key signed the first certificate" \
    signed_by u_ed-cert.pub ssh-user-ca-2
check "ssh-keygen -L: the older user CA key (P-384) signed the second" \
    signed_by u_rsa-cert.pub ssh-user-ca-1
ssh_check_login "a certificate of the newest user CA key logs in (TrustedUserCAKeys = export)" \
    u_ed u_ed-cert.pub
check "sshd accepted it by its serial" has -F 'Accepted certificate ID "ssh_ca_test" (serial 11)' <<<"$ssh_log_new"
ssh_check_login "a certificate of the older user CA key, still published, logs in" \
    u_rsa u_rsa-cert.pub
ssh_check_refused "a certificate of a token CA key that export did not publish: refused" \
    'Permission denied (publickey)' 'Failed publickey' u_un u_un-cert.pub

# --- the host certificate, trusted through the exported ssh_known_hosts ---------------------
check "ssh_ca_sign: host certificate for sshd's host key by the host CA key" \
    certify ssh-host-ca-1 host 21 127.0.0.1 "$ssh_host_key.pub" "$ssh_host_key-cert.pub"
check "ssh-keygen -L: a host certificate for 127.0.0.1" \
    has -F 'Type: ssh-ed25519-cert-v01@openssh.com host certificate' < <(ssh-keygen -L -f "$ssh_host_key-cert.pub")
check "sshd presents the host certificate (HostCertificate, reload)" \
    ssh_sshd_host_cert "$ssh_host_key-cert.pub"
ssh_check_login "host certificate trusted through the exported ssh_known_hosts (StrictHostKeyChecking=yes)" \
    u_ed u_ed-cert.pub out/ssh_known_hosts yes
: >kh_empty
ssh_check_refused "without the @cert-authority line the same host is refused" \
    'Host key verification failed.' '' u_ed u_ed-cert.pub kh_empty yes
printf '@cert-authority [127.0.0.1]:%s %s\n' "$ssh_port" "$(head -n 1 out/ssh_user_ca.pub)" >kh_user_ca
ssh_check_refused "a user CA key in the @cert-authority line instead: refused" \
    'Host key verification failed.' '' u_ed u_ed-cert.pub kh_user_ca yes
no_pin() { ! grep -rqF -f "$work/token/user.pin" out cfg; }
check "no PIN in the transcript, the logs or any output" no_pin
finish
