#!/bin/sh
# Renders a voipdx HTML report in headless Chromium: takes a screenshot and fails when the page made a
# network request or logged a console error (the report's CSP blocks and logs every request).
# Usage: tests/render_chromium.sh REPORT.html [OUT.png]
# SHOT_HEIGHT=N makes a taller screenshot (default 2000).
# Prints "SKIP: chromium not installed" and exits 0 when /usr/bin/chromium is absent.
set -eu

html=${1:?usage: render_chromium.sh REPORT.html [OUT.png]}
out=${2:-${html%.html}.png}

chromium=/usr/bin/chromium
if [ ! -x "$chromium" ]; then
    echo "SKIP: chromium not installed"
    exit 0
fi
if [ ! -f "$html" ]; then
    echo "FAIL: no such file: $html" >&2
    exit 1
fi

profile=$(mktemp -d)
log=$(mktemp)
dom=$(mktemp)
cleanup() { rm -rf "$profile" "$log" "$dom"; }
trap cleanup EXIT INT TERM

abs=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
flags="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
--disable-background-networking --disable-component-update --disable-sync \
--disable-default-apps --disable-extensions --hide-scrollbars \
--user-data-dir=$profile --enable-logging=stderr --v=0"

# shellcheck disable=SC2086 # flags are split on purpose
timeout 120 "$chromium" $flags --window-size=${SHOT_WIDTH:-1280},"${SHOT_HEIGHT:-2000}" --screenshot="$out" "file://$abs" 2>"$log" >/dev/null || true
# shellcheck disable=SC2086
timeout 120 "$chromium" $flags --dump-dom "file://$abs" 2>>"$log" >"$dom" || true

status=0
if [ ! -s "$out" ]; then
    echo "FAIL: no screenshot written to $out" >&2
    status=1
fi
if ! grep -q 'id="quality"' "$dom"; then
    echo "FAIL: the page did not render to its last section" >&2
    status=1
fi
# Console errors and CSP violations (a blocked request is a CSP violation).
if grep -E 'CONSOLE.*(error|Error)|Content Security Policy|Refused to (load|connect|execute|apply)|net::ERR_' "$log" >&2; then
    echo "FAIL: console errors or blocked network requests (above)" >&2
    status=1
fi
if [ "$status" -eq 0 ]; then
    echo "OK: $out (no console errors, no network requests)"
fi
exit "$status"
