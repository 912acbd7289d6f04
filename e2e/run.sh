#!/usr/bin/env bash
# End-to-end: bring up (or reuse) the real Mattermost stack, then run the e2e suite, which builds
# and starts the app, installs it with a JWT secret and drives it as the webapp does.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
./e2e/mm-stack.sh up
log="${TMPDIR:-/tmp}/pagerduty-e2e.log"
set +e
go test -tags e2e -count=1 -timeout 40m -v ./e2e/... 2>&1 | tee "$log" | grep --line-buffered -E '^(=== RUN|--- |PASS|FAIL|ok|panic|e2e:)|^\s+\S+_test\.go:[0-9]+:'
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] || echo "e2e FAILED with status $status (full log: $log)"
exit "$status"
