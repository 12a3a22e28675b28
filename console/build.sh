#!/usr/bin/env bash
# Builds the hsmsign web console into console/dist (static files for hsmsignd's console.dir or an
# S3 bucket): index.html, app.js (src/main.js and the npm packages of package-lock.json bundled by
# esbuild, ES2022, minified, with a source map), app.css (src/style.css + uPlot's). Runs `npm ci`
# first when node_modules is missing or older than package-lock.json. Output: the dist directory
# path on stdout. Exits 1 on any failure (npm offline included), never leaving a half-built dist.
#   console/build.sh [--or-skip]
# --or-skip (the CTest fixture console_build): outside CI, a missing node or a failing npm ci
# (offline) prints why and exits 0 without a dist, so the browser test then skips (77).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = --or-skip ]; then
    "$0" && exit 0
    [ "${CI:-}" = true ] && exit 1
    echo "console/build.sh failed (node or npm missing, or offline): the browser test skips" >&2
    exit 0
fi
cd "$here"
command -v node >/dev/null || { echo "console/build.sh: node is not installed" >&2; exit 1; }
if [ ! -x node_modules/.bin/esbuild ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund >&2
fi
out=$(mktemp -d "$here/.dist.XXXXXX")
trap 'rm -rf "$out"' EXIT
node_modules/.bin/esbuild src/main.js --bundle --format=esm --target=es2022 --minify \
    --sourcemap --define:global=globalThis --log-level=warning --outfile="$out/app.js"
node_modules/.bin/esbuild src/style.css --bundle --minify --log-level=warning \
    --outfile="$out/app.css"
cp index.html "$out/index.html"
# config.json: the deployment's (console/config.json, or HSMSIGN_CONSOLE_CONFIG) or the same-origin default
if [ -n "${HSMSIGN_CONSOLE_CONFIG:-}" ]; then
    cp "$HSMSIGN_CONSOLE_CONFIG" "$out/config.json"
elif [ -f config.json ]; then
    cp config.json "$out/config.json"
else
    printf '{"api_base": ""}\n' >"$out/config.json"
fi
chmod 755 "$out"
rm -rf dist
mv "$out" dist
trap - EXIT
echo "$here/dist"
