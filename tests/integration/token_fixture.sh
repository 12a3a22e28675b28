#!/usr/bin/env bash
# CTest fixture: a fresh SoftHSM2 token for the integration tests.
#   token_fixture.sh DIR LABEL KEYCEREMONY
set -euo pipefail
dir=${1:?dir} label=${2:?label} keyceremony=${3:?keyceremony}
rm -rf "$dir"
KEYCEREMONY="$keyceremony" "$(dirname "$0")/../../softhsm/init-token.sh" "$dir" "$label"
echo "token $label ready in $dir"
