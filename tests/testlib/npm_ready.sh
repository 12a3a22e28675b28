# shellcheck shell=bash
# npm_ready DIR MODULE...: readies the pinned npm packages of the current directory (the test
# folder tests/DIR, named in the messages) for a check that runs node. node must be installed;
# when any MODULE is missing from node_modules/, `npm ci --no-audit --no-fund` installs what
# package-lock.json pins (its output shown only when it fails). Exits 77 (skipped) when node or
# npm is missing or npm ci fails (an offline registry); under CI=true each of those exits 1
# instead, as scripts/deps.sh installs node and npm there. Sourced; defines nothing else.
npm_ready() {
    local dir=$1 m missing=0 log
    shift
    if ! command -v node >/dev/null; then
        [ "${CI:-}" = true ] && { echo "node missing under CI" >&2; exit 1; }
        echo "skipped: node is not installed (Debian: apt-get install nodejs npm)" >&2
        exit 77
    fi
    for m in "$@"; do
        [ -d "node_modules/$m" ] || missing=1
    done
    [ "$missing" = 1 ] || return 0
    if ! command -v npm >/dev/null; then
        [ "${CI:-}" = true ] && { echo "npm missing under CI" >&2; exit 1; }
        echo "skipped: npm is missing; run: (cd tests/$dir && npm ci --no-audit --no-fund)" >&2
        exit 77
    fi
    log=$(mktemp)
    if ! npm ci --no-audit --no-fund >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        [ "${CI:-}" = true ] && { echo "npm ci failed under CI" >&2; exit 1; }
        echo "skipped: npm ci failed (offline?); run: (cd tests/$dir && npm ci --no-audit --no-fund)" >&2
        exit 77
    fi
    rm -f "$log"
}
