#!/usr/bin/env bash
# Installs the Debian packages hsmsign needs to build, run and test. As root it runs apt-get;
# otherwise it prints the exact command to run and exits 1. Used by quickstart.sh and test.sh.
set -euo pipefail

packages=(
    build-essential cmake pkg-config
    libssl-dev openssl libp11-kit-dev libjson-c-dev libcurl4-openssl-dev curl libxml2-dev
    libhttp-parser-dev libsqlite3-dev sqlite3
    softhsm2 opensc libengine-pkcs11-openssl gnutls-bin
    clang-tidy cppcheck
    python3 python3-jwt python3-jwcrypto python3-botocore python3-prometheus-client
    util-linux clang-format valgrind strace shellcheck jq
    clang libclang-rt-14-dev
    nodejs npm
    chromium fonts-dejavu-core # the web console's browser test (tests/console), headless
    openssh-client openssh-server python3-cryptography
    libsodium-dev python3-nacl
    go-md2man man-db
)
# Packages that count as present when their command is (a Node.js from another source, e.g.
# NodeSource's nodejs, which bundles npm and conflicts with Debian's npm package).
declare -A by_command=([nodejs]=node [npm]=npm)

missing=()
for p in "${packages[@]}"; do
    if [ -n "${by_command[$p]:-}" ] && command -v "${by_command[$p]}" >/dev/null 2>&1; then
        continue
    fi
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "hsmsign needs these Debian packages; install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive

# openssh-server is here only for its /usr/sbin/sshd binary: the SSH tests start their own sshd on
# a free 127.0.0.1 port (tests/integration/ssh_lib.sh). Its package would start and enable the
# system's sshd on port 22 where systemd runs; when we are the ones installing it, a temporary
# policy-rc.d (Debian's invoke-rc.d / deb-systemd-invoke policy hook; exit 101 = "do not start")
# keeps it stopped during the install, and the unit is disabled afterwards. A machine that already
# has openssh-server keeps its sshd as it is. (Containers usually have no systemd and often a
# policy-rc.d of their own, which is then left alone.)
new_sshd=0
for p in "${missing[@]}"; do
    [ "$p" = openssh-server ] && new_sshd=1
done
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ "$new_sshd" -eq 1 ] && [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# written by hsmsign scripts/deps.sh for one apt-get run\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
    trap 'rm -f "$policy"' EXIT
fi

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

if [ "$own_policy" -eq 1 ]; then
    rm -f "$policy"
    trap - EXIT
fi
if [ "$new_sshd" -eq 1 ] && [ -d /run/systemd/system ]; then
    systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
    echo "openssh-server installed for its sshd binary; the system ssh service is left disabled" >&2
fi
