#!/usr/bin/env bash
# `cmake --install BUILD --prefix P` (issue 13): the four programs, the docs, the example ceremony
# configs and the man pages land under P; P/bin/hsmsign --version works; `man -l` renders
# hsmsign(1), hsmsignd(8) and keyceremony(8); --version --module prints SoftHSM2's CK_INFO; the
# version text is `git describe` of the tree, or says the tree is not a git checkout.
# Usage: install_test.sh BUILD_DIR (CTest passes it; the build must be complete: `all`).
. "$(dirname "$0")/lib.sh"
require man go-md2man git
build=${1:?build dir}
p=$(mktemp -d)
trap 'rm -rf "$p"' EXIT
softhsm=/usr/lib/softhsm/libsofthsm2.so
# SoftHSM2's C_Initialize reads its config; an empty token directory of our own is enough.
mkdir -p "$p/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\n' "$p/tokens" >"$p/softhsm2.conf"
export SOFTHSM2_CONF=$p/softhsm2.conf

install_ok() { cmake --install "$build" --prefix "$p/prefix" >"$p/install.log" 2>&1; }
check "cmake --install BUILD --prefix P exits 0" install_ok
P=$p/prefix
files_present() {
    local f rc=0
    for f in bin/hsmsignd bin/keyceremony bin/hsmsign bin/hsmsign-authorizer \
        share/doc/hsmsign/README.md share/doc/hsmsign/client.md share/doc/hsmsign/api.md \
        share/doc/hsmsign/ceremony.md share/doc/hsmsign/examples/keyceremony/root.json \
        share/man/man1/hsmsign.1 share/man/man8/hsmsignd.8 share/man/man8/keyceremony.8; do
        [ -s "$P/$f" ] || { echo "missing: $f"; rc=1; }
    done
    for f in hsmsignd keyceremony hsmsign hsmsign-authorizer; do
        [ -x "$P/bin/$f" ] || { echo "not executable: bin/$f"; rc=1; }
    done
    return $rc
}
check "P has the four programs, README and docs, example configs and the three man pages" \
    files_present
version_rx='^hsmsign [0-9]+\.[0-9]+\.[0-9]+ \((git [0-9A-Za-z._+-]+|not a git checkout)\)$'
client_version() {
    local out
    out=$("$P/bin/hsmsign" --version) || return 1
    head -1 <<<"$out" | has -E "$version_rx" &&
        has -E '^OpenSSL: OpenSSL [0-9]' <<<"$out" && has -E '^libcurl: libcurl/[0-9]' <<<"$out"
}
check "P/bin/hsmsign --version: version, OpenSSL and libcurl lines" client_version
for prog in hsmsignd keyceremony hsmsign-authorizer; do
    check "P/bin/$prog --version names $prog and OpenSSL" \
        sh -c "'$P/bin/$prog' --version | grep -Eq '^$prog [0-9]+\.[0-9]+\.[0-9]+ \(' &&
               '$P/bin/$prog' --version | grep -q '^OpenSSL: '"
done
module_info() {
    local out
    [ -e "$softhsm" ] || { echo "no $softhsm"; return 1; }
    out=$("$P/bin/$1" --version --module "$softhsm" 2>"$p/module.err") || return 1
    has -F "Cryptoki module: $softhsm" <<<"$out" && has -E '^  library: .*\(SoftHSM\)$' <<<"$out" &&
        has -E '^  Cryptoki version: 2\.[0-9]+$' <<<"$out" && has -E '^p11-kit: [0-9]' <<<"$out" &&
        [ ! -s "$p/module.err" ]
}
check "hsmsignd --version --module SoftHSM2 prints its CK_INFO (no token, no PIN)" \
    module_info hsmsignd
check "keyceremony --version --module SoftHSM2 prints its CK_INFO" module_info keyceremony
check_fails "keyceremony --version --module on a missing file exits 1 and says why" \
    "cannot load PKCS#11 module $p/none.so" "$P/bin/keyceremony" --version --module "$p/none.so"
check_fails "hsmsignd --version with a stray argument is a usage error" "usage: hsmsignd" \
    "$P/bin/hsmsignd" --version --config x
man_renders() { # FILE NAME: man -l renders it with its NAME section (without a UTF-8 locale the
    # NAME line's dash is "--")
    local out
    out=$(MANWIDTH=100 man -P cat -l "$1" 2>"$p/man.err") || return 1
    has -E "^NAME" <<<"$out" && has -E "^ +$2 (-+|—) " <<<"$out" && has -E "^SYNOPSIS" <<<"$out" &&
        ! grep -qi 'error' "$p/man.err" # troff's layout warnings (wide tables) are not errors
}
check "man -l renders hsmsign(1)" man_renders "$P/share/man/man1/hsmsign.1" hsmsign
check "man -l renders hsmsignd(8)" man_renders "$P/share/man/man8/hsmsignd.8" hsmsignd
check "man -l renders keyceremony(8)" man_renders "$P/share/man/man8/keyceremony.8" keyceremony
# The version generator itself: git describe of a checkout, the fallback outside one.
gen_version() { # SRC: prints the generated version text
    cmake -DSRC="$1" -DOUT="$p/v.c" -DFALLBACK=9.8.7 -P "$repo/cmake/hs_version.cmake" &&
        sed -n 's/^const char hs_version_build\[\] = "\(.*\)";$/\1/p' "$p/v.c"
}
version_from_git() {
    local want
    want="9.8.7 (git $(git -C "$repo" describe --always --dirty))"
    [ "$(gen_version "$repo")" = "$want" ]
}
check "the version text is the project version and git describe --always --dirty" version_from_git
version_fallback() {
    mkdir -p "$p/notgit" && [ "$(gen_version "$p/notgit")" = "9.8.7 (not a git checkout)" ]
}
check "outside a git checkout the version text says so" version_fallback
finish
