#!/usr/bin/env bash
# Run the live tests against a real deployment through ucloud-jobs proxy, which checks every call against the
# contract and writes a JUnit report (and, with RECORD=file.yaml, a scenario that `ucloud-jobs serve` replays).
#
#   UCLOUD_TOKEN=... UPSTREAM=https://cloud.sdu.dk ./live/run-through-proxy.sh [pytest options]
#
# The token goes from the environment to the tests and from them to the proxy in a header; neither the proxy's
# log, its journal, its report nor the recording holds it. Exit status: the tests' if they failed, else the
# proxy's (1 when the traffic broke the contract: --fail-on any).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${UCLOUD_TOKEN:?set UCLOUD_TOKEN to a bearer token of the deployment}"
: "${UPSTREAM:?set UPSTREAM to the deployment, such as https://cloud.sdu.dk}"
REPORT=${REPORT:-proxy-report.xml}
record=()
if [ -n "${RECORD:-}" ]; then record=(--record "$RECORD"); fi

# --port 0 picks a free port; the first line the proxy prints names it.
coproc PROXY { exec ucloud-jobs proxy --upstream "$UPSTREAM" --port 0 -q --report "$REPORT" --format junit \
                    --fail-on any "${record[@]}"; }
read -r banner <&"${PROXY[0]}"
url=$(sed -E 's/^ucloud-jobs proxy at (http:[^ ]+) .*/\1/' <<<"$banner")
echo "through $url: $banner" >&2

status=0
UCLOUD_URL="$url" python -m pytest -q "$@" live/test_live_deployment.py || status=$?
kill -INT "$PROXY_PID"
proxy_status=0
wait "$PROXY_PID" || proxy_status=$?
echo "the proxy's report: $REPORT" >&2
[ "$status" -ne 0 ] && exit "$status"
exit "$proxy_status"
