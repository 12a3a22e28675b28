# A throwaway OpenSSH sshd on 127.0.0.1 for the SSH tests, and an ssh client pointed at it
# (sourced after lib.sh, not run). docs/ssh.md "Testing with a real sshd" explains the set-up.
#
#   ssh_require                      skip (77; a failure under CI) when sshd/ssh/ssh-keygen or
#                                    a usable login account are missing
#   ssh_sshd_init DIR                DIR (made absolute) holds everything: host key, config, log,
#                                    principals, revoked keys; sets ssh_dir, ssh_user,
#                                    ssh_host_key, ssh_revoked
#   ssh_sshd_start USER_CA [HOST_CERT]
#                                    sshd -D on a free 127.0.0.1 port trusting USER_CA (a file of
#                                    CA public-key lines); sets ssh_port, ssh_pid, ssh_log
#   ssh_sshd_host_cert HOST_CERT     rewrites the config with HostCertificate HOST_CERT and
#                                    reloads
#   ssh_sshd_reload                  SIGHUP: sshd re-executes itself and re-reads its config
#   ssh_sshd_stop                    ends it (safe to call twice, and from an EXIT trap)
#   ssh_principals PRINCIPAL...      the login user's AuthorizedPrincipalsFile
#   ssh_revoked_set FILE             atomically replaces the RevokedKeys file (KRL or key list)
#   ssh_known_hosts_ca HOST_CA OUT   OUT gets "@cert-authority [127.0.0.1]:PORT <HOST_CA line>"
#   ssh_login KEY CERT [KNOWN_HOSTS [STRICT]] [-- CMD...]
#                                    ssh as ssh_user running CMD (default: echo ok); sets ssh_out
#                                    (stdout), ssh_err (stderr text), ssh_log_new (sshd log lines
#                                    written during the attempt); returns ssh's status. The
#                                    array ssh_extra adds client options (e.g. -o ...)
#   ssh_check_login WHAT KEY CERT [KNOWN_HOSTS [STRICT]]
#   ssh_check_refused WHAT CLIENT_TEXT LOG_TEXT KEY CERT [KNOWN_HOSTS [STRICT]]
#                                    lib.sh checks: the login printed "ok" / the login failed with
#                                    CLIENT_TEXT in ssh's stderr and LOG_TEXT in the new sshd log
#                                    lines (an empty text is not checked)
#
# What sshd reads when (OpenSSH 9.2, checked by ssh_harness_test.sh): sshd_config only at start
# and on SIGHUP (each connection's re-executed child gets the listener's copy); the files named
# by RevokedKeys, TrustedUserCAKeys, AuthorizedPrincipalsFile and HostCertificate at
# every connection, so replacing them needs no reload.
#
# CERT may be empty (the bare key; then KEY-cert.pub must not exist, since ssh loads it on its
# own). KNOWN_HOSTS defaults to none (/dev/null with StrictHostKeyChecking=no), STRICT to "yes"
# when KNOWN_HOSTS is given.

ssh_sshd_bin=/usr/sbin/sshd # sshd re-executes itself and refuses to run from a relative path
ssh_pid=
ssh_extra=()

# ssh_require: the tools, the account we log in as (the current user: an unprivileged sshd can
# only let its own user in) and its shell.
ssh_require() {
    require ssh ssh-keygen
    local why=
    if [ ! -x "$ssh_sshd_bin" ]; then
        why="$ssh_sshd_bin not installed (openssh-server; scripts/deps.sh installs it)"
    else
        why=$(ssh_account_problem)
    fi
    [ -z "$why" ] && return 0
    if [ "${CI:-}" = true ]; then
        echo "sshd tests cannot run under CI: $why" >&2
        exit 1
    fi
    echo "skipped: $why" >&2
    exit 77
}

# ssh_account_problem: prints why the current user cannot log in through our sshd, or nothing.
ssh_account_problem() {
    local user shell hash
    if ! user=$(id -un 2>/dev/null); then
        echo "uid $(id -u) has no passwd entry; sshd cannot log it in"
        return
    fi
    shell=$(getent passwd "$user" | cut -d: -f7)
    case $shell in
    "" | */nologin | */false)
        echo "user $user has no login shell (${shell:-none}); ssh ... echo ok needs one"
        return
        ;;
    esac
    if [ ! -x "$shell" ]; then
        echo "user $user's shell $shell is not executable (sshd refuses the login)"
        return
    fi
    # With UsePAM no, sshd refuses an account whose shadow password starts with "!" (locked),
    # even for public-key logins. Only root can read the shadow file, and only a root sshd can
    # read it too: an unprivileged sshd sees "x" and lets a locked account in.
    if [ "$(id -u)" -eq 0 ]; then
        hash=$(getent shadow "$user" | cut -d: -f2)
        case $hash in
        '!'*) echo "account $user is locked (password field starts with '!'); sshd with UsePAM no refuses it; unlock it with: usermod -p '*' $user" ;;
        esac
    fi
}

# ssh_sshd_init DIR: the directory layout; a fresh ed25519 host key (DIR/host_key).
ssh_sshd_init() {
    mkdir -p "$1"
    ssh_dir=$(cd "$1" && pwd)
    ssh_user=$(id -un)
    ssh_host_key=$ssh_dir/host_key
    ssh_revoked=$ssh_dir/revoked_keys
    mkdir -p "$ssh_dir/principals"
    rm -f "$ssh_host_key" "$ssh_host_key.pub"
    ssh-keygen -q -t ed25519 -N '' -C "hsmsign-test-host" -f "$ssh_host_key"
    : >"$ssh_revoked" # an empty key list: nothing revoked (a missing file would refuse every key)
    : >"$ssh_dir/principals/$ssh_user"
}

# ssh_free_port: a 127.0.0.1 TCP port that was free a moment ago.
ssh_free_port() {
    /usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# ssh_sshd_config: writes $ssh_dir/sshd_config for $ssh_port, $ssh_user_ca and $ssh_host_cert.
# Every path is absolute (sshd does chdir("/"), and its SIGHUP re-exec reads the config again
# from there).
ssh_sshd_config() {
    local port=$ssh_port user_ca=$ssh_user_ca host_cert=$ssh_host_cert
    {
        echo "# a throwaway sshd for hsmsign's tests (tests/integration/ssh_lib.sh)"
        echo "ListenAddress 127.0.0.1:$port"
        echo "HostKey $ssh_host_key"
        [ -n "$host_cert" ] && echo "HostCertificate $host_cert"
        echo "PidFile $ssh_dir/sshd.pid"
        echo "TrustedUserCAKeys $user_ca"
        echo "AuthorizedPrincipalsFile $ssh_dir/principals/%u"
        echo "AuthorizedKeysFile none"
        echo "RevokedKeys $ssh_revoked"
        echo "PubkeyAuthentication yes"
        echo "PasswordAuthentication no"
        echo "KbdInteractiveAuthentication no"
        echo "HostbasedAuthentication no"
        echo "GSSAPIAuthentication no"
        echo "PermitRootLogin prohibit-password"
        echo "AllowUsers $ssh_user"
        echo "UsePAM no"
        echo "StrictModes no"
        echo "PermitUserRC no"
        echo "PrintMotd no"
        echo "PermitTTY no"
        echo "X11Forwarding no"
        echo "AllowTcpForwarding no"
        echo "AllowAgentForwarding no"
        echo "UseDNS no"
        echo "LoginGraceTime 30"
        echo "LogLevel VERBOSE"
    } >"$ssh_dir/sshd_config"
    # OpenSSH >= 9.8 penalises a source address whose logins fail by refusing its connections for
    # a while, which would turn the refusal checks' failures into refused connections for the
    # logins after them. Older sshd (Debian 12 has 9.2) does not know the option.
    if "$ssh_sshd_bin" -t -f "$ssh_dir/sshd_config" -o PerSourcePenalties=no 2>/dev/null; then
        echo "PerSourcePenalties no" >>"$ssh_dir/sshd_config"
    fi
}

# ssh_sshd_wait_listening COUNT: waits until the log has COUNT "Server listening" lines (sshd
# writes that line once its socket listens). Fails when sshd died or after 10 s.
ssh_sshd_wait_listening() {
    local want=$1 n
    for _ in $(seq 1 200); do
        n=$(grep -c "^Server listening on 127.0.0.1 port $ssh_port\." "$ssh_log" 2>/dev/null) || true
        [ "${n:-0}" -ge "$want" ] && return 0
        kill -0 "$ssh_pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# ssh_sshd_start USER_CA [HOST_CERT]: see the header. Retries on another port when the one it
# picked was taken in the meantime.
ssh_sshd_start() {
    local attempt
    ssh_user_ca=$(ssh_absolute "$1")
    ssh_host_cert=$(ssh_absolute "${2:-}")
    if [ "$(id -u)" -eq 0 ]; then
        # Privilege separation: a root sshd chroots its pre-auth child into /run/sshd (root-owned,
        # not group/world-writable; Debian's ssh.service makes it with RuntimeDirectory=sshd).
        mkdir -p /run/sshd
        chmod 0755 /run/sshd
    fi
    ssh_log=$ssh_dir/sshd.log
    for attempt in 1 2 3 4 5; do
        ssh_port=$(ssh_free_port)
        ssh_sshd_config
        if ! "$ssh_sshd_bin" -t -f "$ssh_dir/sshd_config" 2>"$ssh_dir/sshd-t.err"; then
            echo "sshd -t refused the configuration:" >&2
            cat "$ssh_dir/sshd-t.err" >&2
            return 1
        fi
        : >"$ssh_log"
        # -D: no daemon, so $! is sshd itself; -E: its log goes to a file instead of syslog.
        "$ssh_sshd_bin" -D -f "$ssh_dir/sshd_config" -E "$ssh_log" </dev/null &
        ssh_pid=$!
        ssh_sshd_wait_listening 1 && return 0
        kill -TERM "$ssh_pid" 2>/dev/null || true
        wait "$ssh_pid" 2>/dev/null || true
        ssh_pid=
ssh_extra=()
        grep -q 'Address already in use' "$ssh_log" || break
        echo "sshd: port $ssh_port taken (attempt $attempt); another" >&2
    done
    echo "sshd did not start:" >&2
    tail -n 5 "$ssh_log" >&2
    return 1
}

# ssh_absolute PATH: PATH from the current directory made absolute (empty stays empty).
ssh_absolute() {
    case $1 in
    /* | "") echo "$1" ;;
    *) echo "$PWD/$1" ;;
    esac
}

# ssh_sshd_host_cert HOST_CERT: sshd presents HOST_CERT (a certificate of $ssh_host_key.pub)
# from now on: a new config line, so a reload.
ssh_sshd_host_cert() {
    ssh_host_cert=$(ssh_absolute "$1")
    ssh_sshd_config
    "$ssh_sshd_bin" -t -f "$ssh_dir/sshd_config" || return 1
    ssh_sshd_reload
}

# ssh_sshd_reload: SIGHUP. sshd -D re-executes itself with the same arguments (the pid stays)
# and reads its configuration again; waits until it listens again. Needed after editing
# sshd_config, not after replacing a file it names (see the header).
ssh_sshd_reload() {
    local before
    before=$(grep -c "^Server listening on 127.0.0.1 port $ssh_port\." "$ssh_log") || true
    kill -HUP "$ssh_pid"
    ssh_sshd_wait_listening $((before + 1)) || {
        echo "sshd did not come back after SIGHUP:" >&2
        tail -n 5 "$ssh_log" >&2
        return 1
    }
}

ssh_sshd_stop() {
    if [ -n "${ssh_pid:-}" ]; then
        kill -TERM "$ssh_pid" 2>/dev/null || true
        wait "$ssh_pid" 2>/dev/null || true
        ssh_pid=
ssh_extra=()
    fi
}

# ssh_principals PRINCIPAL...: the principals a certificate must name (one of) to log in as
# ssh_user (AuthorizedPrincipalsFile; without it, sshd wants the user name itself among the
# certificate's principals).
ssh_principals() {
    printf '%s\n' "$@" >"$ssh_dir/principals/$ssh_user"
}

# ssh_revoked_set FILE: copy, then rename over RevokedKeys, so that no connection reads half a
# file (sshd refuses every key when the file is missing or does not parse: it fails closed).
ssh_revoked_set() {
    cp "$1" "$ssh_revoked.new"
    mv -f "$ssh_revoked.new" "$ssh_revoked"
}

# ssh_known_hosts_ca HOST_CA OUT: a known_hosts file trusting host certificates signed by the CA
# whose public-key line is in HOST_CA, for this sshd (a port other than 22 is written
# [host]:port in known_hosts).
ssh_known_hosts_ca() {
    printf '@cert-authority [127.0.0.1]:%s %s\n' "$ssh_port" "$(head -n 1 "$1")" >"$2"
}

ssh_login() {
    local key=$1 cert=$2 known='' strict=yes rc=0
    shift 2
    if [ $# -gt 0 ] && [ "$1" != -- ]; then
        known=$1
        shift
    fi
    if [ $# -gt 0 ] && [ "$1" != -- ]; then
        strict=$1
        shift
    fi
    if [ $# -gt 0 ] && [ "$1" = -- ]; then
        shift
    fi
    [ $# -gt 0 ] || set -- echo ok
    local opts=(-F /dev/null -n -p "$ssh_port" -l "$ssh_user" -i "$key"
        -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o ConnectTimeout=10
        -o GlobalKnownHostsFile=/dev/null -o CheckHostIP=no -o UpdateHostKeys=no)
    [ -z "$cert" ] || opts+=(-o "CertificateFile=$cert")
    opts+=("${ssh_extra[@]}")
    if [ -n "$known" ]; then
        opts+=(-o "UserKnownHostsFile=$known" -o "StrictHostKeyChecking=$strict")
    else
        opts+=(-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no)
    fi
    ssh_log_start=$(wc -l <"$ssh_log")
    # shellcheck disable=SC2029 # CMD is the remote command, as given
    ssh "${opts[@]}" 127.0.0.1 "$@" >"$ssh_dir/ssh.out" 2>"$ssh_dir/ssh.err" || rc=$?
    ssh_out=$(cat "$ssh_dir/ssh.out")
    ssh_err=$(cat "$ssh_dir/ssh.err")
    # sshd's pre-auth child hands its log lines to the privileged monitor, which writes them;
    # give the lines about this attempt a moment to land.
    for _ in $(seq 1 20); do
        ssh_log_new=$(tail -n +"$((ssh_log_start + 1))" "$ssh_log")
        if grep -qE 'Disconnected from|Connection closed|Received disconnect|Failed publickey' \
            <<<"$ssh_log_new"; then
            break
        fi
        sleep 0.05
    done
    return "$rc"
}

# ssh_wait_log TEXT: waits up to 2 s for TEXT among the sshd log lines of the last attempt.
ssh_wait_log() {
    for _ in $(seq 1 40); do
        ssh_log_new=$(tail -n +"$((ssh_log_start + 1))" "$ssh_log")
        grep -qF -- "$1" <<<"$ssh_log_new" && return 0
        sleep 0.05
    done
    return 1
}

ssh_report() {
    echo "     ssh exit $1; stdout: $(head -c 200 <<<"$ssh_out")" | tr '\n' ' '
    echo
    tail -n 4 <<<"$ssh_err" | while IFS= read -r line; do echo "     ssh: $line"; done
    tail -n 6 <<<"$ssh_log_new" | while IFS= read -r line; do echo "     sshd: $line"; done
}

ssh_check_login() {
    local what=$1 rc=0
    shift
    ssh_login "$@" || rc=$?
    if [ "$rc" -eq 0 ] && [ "$(tail -n 1 <<<"$ssh_out")" = ok ]; then
        hs_passed=$((hs_passed + 1))
        echo "ok   $what"
    else
        hs_failed=$((hs_failed + 1))
        echo "FAIL $what"
        ssh_report "$rc"
    fi
}

ssh_check_refused() {
    local what=$1 client_text=$2 log_text=$3 rc=0
    shift 3
    ssh_login "$@" || rc=$?
    if [ "$rc" -ne 0 ] && [ "$(tail -n 1 <<<"$ssh_out")" != ok ] &&
        { [ -z "$client_text" ] || grep -qF -- "$client_text" <<<"$ssh_err"; } &&
        { [ -z "$log_text" ] || ssh_wait_log "$log_text"; }; then
        hs_passed=$((hs_passed + 1))
        echo "ok   $what"
    else
        hs_failed=$((hs_failed + 1))
        echo "FAIL $what (expected: ssh '${client_text}', sshd '${log_text}')"
        ssh_report "$rc"
    fi
}
