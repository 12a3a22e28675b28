#!/usr/bin/env bash
# The SSH test harness itself (tests/integration/ssh_lib.sh) against a real OpenSSH sshd on
# 127.0.0.1, with ssh-keygen standing in for the CA (the SSH API tests put hsmsign's CA in its
# place): user certificates for Ed25519, ECDSA and RSA keys log in, from either of two trusted CA
# keys; a certificate for another principal, an expired one, one from an untrusted CA and a bare
# key are refused; a host certificate (added by a SIGHUP reload) is trusted through
# @cert-authority under StrictHostKeyChecking=yes and refused without it or for other names; a
# certificate revoked in a KRL (serial) or a key in a plain revoked-keys list is refused at the
# next login while the others still log in. Replacing the files sshd_config names (revoked keys,
# principals, CA keys, host certificate) takes effect without a reload.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
ssh_require
work=$(mktemp -d)
trap 'ssh_sshd_stop; rm -rf "$work"' EXIT
cd "$work" || exit 1
keygen() { ssh-keygen -q -N '' -C "$1" -f "$1" "${@:2}"; }

# --- the stand-in CAs: two user CA keys (rotation: both in TrustedUserCAKeys), a host CA -----
keygen user_ca -t ed25519
keygen user_ca2 -t rsa -b 3072
keygen host_ca -t ecdsa -b 384
keygen other_ca -t ed25519
cat user_ca.pub user_ca2.pub >trusted_user_cas

ssh_sshd_init "$work/sshd"
ssh_principals ops team-a
ssh_sshd_start trusted_user_cas || exit 1
sshd_pid=$ssh_pid

# user KEY_TYPE NAME CA SERIAL PRINCIPALS [ssh-keygen -s options]: a key pair and its certificate
# NAME-cert.pub, valid from 5 minutes ago for an hour unless the options say otherwise.
user() {
    local type=$1 name=$2 ca=$3 serial=$4 principals=$5
    shift 5
    case $type in
    rsa) keygen "$name" -t rsa -b 2048 ;;
    ecdsa) keygen "$name" -t ecdsa -b 256 ;;
    *) keygen "$name" -t "$type" ;;
    esac
    ssh-keygen -q -s "$ca" -I "id-$name" -n "$principals" -V -5m:+1h -z "$serial" "$@" "$name.pub"
}
user ed25519 u_ed user_ca 101 ops
user ecdsa u_ec user_ca 102 team-a
user rsa u_rsa user_ca 103 ops,someone-else
user ed25519 u_ca2 user_ca2 104 ops -t rsa-sha2-512
user ed25519 u_wrong user_ca 105 someone-else
user ed25519 u_expired user_ca 106 ops -V 20200101:20200102
user ed25519 u_other other_ca 107 ops
keygen u_bare -t ed25519

# --- user certificates -------------------------------------------------------------------------
ssh_check_login "ed25519 user certificate logs in" u_ed u_ed-cert.pub
check "sshd logged the certificate it accepted" has -F 'Accepted certificate ID "id-u_ed" (serial 101)' <<<"$ssh_log_new"
ssh_check_login "ecdsa user certificate logs in" u_ec u_ec-cert.pub
ssh_check_login "rsa user certificate logs in" u_rsa u_rsa-cert.pub
ssh_check_login "certificate from the second trusted CA key (RSA, rsa-sha2-512) logs in" u_ca2 u_ca2-cert.pub
check "its signature is rsa-sha2-512" has -F '(using rsa-sha2-512)' < <(ssh-keygen -L -f u_ca2-cert.pub)
check "the remote command ran as the login user" ssh_login u_ed u_ed-cert.pub -- id -un
check "... and printed its name" test "$ssh_out" = "$ssh_user"

ssh_check_refused "principal not in AuthorizedPrincipalsFile: refused" \
    'Permission denied (publickey)' 'Certificate does not contain an authorized principal' \
    u_wrong u_wrong-cert.pub
ssh_check_refused "expired certificate: refused" \
    'Permission denied (publickey)' 'Certificate invalid: expired' u_expired u_expired-cert.pub
# (sshd 9.2 names no reason for an untrusted CA at VERBOSE, nor at DEBUG1.)
other_ca_fp=$(ssh-keygen -l -f other_ca.pub | cut -d' ' -f2)
ssh_check_refused "certificate from an untrusted CA: refused" 'Permission denied (publickey)' \
    "Failed publickey for $ssh_user from 127.0.0.1 port" u_other u_other-cert.pub
check "... the failure names that certificate and CA" \
    has -F "ID id-u_other (serial 107) CA ED25519 $other_ca_fp" <<<"$ssh_log_new"
ssh_check_refused "bare key without a certificate (AuthorizedKeysFile none): refused" \
    'Permission denied (publickey)' 'Failed publickey' u_bare ''

ssh_principals team-a
ssh_check_refused "principal file changed (ops gone), no reload: refused" \
    'Permission denied (publickey)' 'Certificate does not contain an authorized principal' \
    u_ed u_ed-cert.pub
ssh_principals ops team-a
cat other_ca.pub >>trusted_user_cas
ssh_check_login "CA key added to TrustedUserCAKeys, no reload: its certificate logs in" \
    u_other u_other-cert.pub
cat user_ca.pub user_ca2.pub >trusted_user_cas

# --- host certificate --------------------------------------------------------------------------
ssh_known_hosts_ca host_ca.pub kh_ca
: >kh_empty
ssh_known_hosts_ca user_ca.pub kh_wrong_ca
ssh_check_refused "no HostCertificate yet: the @cert-authority line alone is not enough" \
    'Host key verification failed.' '' u_ed u_ed-cert.pub kh_ca yes
ssh-keygen -q -s host_ca -h -I test-host -n 127.0.0.1,localhost -V -5m:+1h -z 900 "$ssh_host_key.pub"
check "HostCertificate added to the config, SIGHUP reload" ssh_sshd_host_cert "$ssh_host_key-cert.pub"
check "the reload kept the pid (sshd -D re-executes itself)" test "$ssh_pid" = "$sshd_pid"
ssh_check_login "host certificate trusted through @cert-authority (StrictHostKeyChecking=yes)" \
    u_ed u_ed-cert.pub kh_ca yes
check "known_hosts stayed as it was (only the CA line)" test "$(wc -l <kh_ca)" -eq 1
ssh_check_refused "empty known_hosts, StrictHostKeyChecking=yes: refused" \
    'Host key verification failed.' '' u_ed u_ed-cert.pub kh_empty yes
ssh_check_refused "@cert-authority line of another CA: refused" \
    'Host key verification failed.' '' u_ed u_ed-cert.pub kh_wrong_ca yes

# The certificate file replaced (same path) by one for other names, no reload: the client
# refuses it.
ssh-keygen -q -s host_ca -h -I test-host-2 -n other.example -V -5m:+1h -z 901 "$ssh_host_key.pub"
ssh_check_refused "host certificate not naming 127.0.0.1: refused" \
    'Host key verification failed.' '' u_ed u_ed-cert.pub kh_ca yes
check "... because of the certificate's principals" has -F 'not a listed principal' <<<"$ssh_err"
ssh-keygen -q -s host_ca -h -I test-host-3 -n 127.0.0.1 -V -5m:+1h -z 902 "$ssh_host_key.pub"
ssh_check_login "a host certificate naming 127.0.0.1 again: trusted" u_ed u_ed-cert.pub kh_ca yes
check "SIGHUP reload with an unchanged config" ssh_sshd_reload
ssh_check_login "still trusted after the reload" u_ed u_ed-cert.pub kh_ca yes

# --- revocation: RevokedKeys is read at every authentication -----------------------------------
printf 'serial: 102\n' >krl.spec
ssh-keygen -q -k -f krl -s user_ca.pub krl.spec
check "ssh-keygen -Q sees the certificate as revoked" has -F 'REVOKED' < <(ssh-keygen -Q -f krl u_ec-cert.pub 2>&1 || true)
ssh_revoked_set krl
ssh_check_refused "certificate revoked by serial in the KRL: refused (no reload)" \
    'Permission denied (publickey)' 'revoked by file' u_ec u_ec-cert.pub
ssh_check_login "another certificate of the same CA still logs in" u_ed u_ed-cert.pub
ssh_check_login "... and one of the other CA key" u_ca2 u_ca2-cert.pub
cp u_ed.pub revoked.list
ssh_revoked_set revoked.list
ssh_check_refused "key in a plain revoked-keys list: its certificate is refused" \
    'Permission denied (publickey)' 'revoked by file' u_ed u_ed-cert.pub
ssh_check_login "the KRL replaced by the list: the serial-revoked certificate logs in again" \
    u_ec u_ec-cert.pub
check "sshd is still the one we started" kill -0 "$sshd_pid"

finish
