#!/usr/bin/env bash
# Manual check (not run in CI): Alignbot in Microsoft 365 Agents Playground, Teams' emulator, with
# headless Chromium screenshots of the chat. Needs node/npm and Debian's chromium.
#   tests/manual/agents_playground.sh [PORT]        # screenshots in ./playground-shots/
# Alignbot runs `serve --dev` (Teams without a token check) on 127.0.0.1:PORT with a throw-away
# SQLite database; the Playground (npm @microsoft/m365agentsplayground) sends its activities to
# http://127.0.0.1:PORT/api/messages as channel "msteams" and shows its web chat on :56150.
# In the page, type: `usecase propose "Churn model" --impact 4`, `usecase list` (a Table element),
# `poll start "First?" --method ranked --options "A; B; C"`, `poll vote POLL-1` (the top-5 ballot
# card), `export xlsx` (the file-consent card); look at each screenshot.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
port="${1:-3978}"
shots="${SHOTS:-$PWD/playground-shots}"
work="$(mktemp -d)"
mkdir -p "$shots"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

ALIGNBOT_DATABASE_URL="sqlite:///$work/alignbot.db" "$here/dev" serve --dev --host 127.0.0.1 --port "$port" \
  >"$work/serve.log" 2>&1 &
for _ in $(seq 1 60); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 1; done

(cd "$work" && npm install --no-save --silent @microsoft/m365agentsplayground >/dev/null)
"$work/node_modules/.bin/agentsplayground" -e "http://127.0.0.1:$port/api/messages" -c msteams --disable-telemetry \
  >"$work/playground.log" 2>&1 &
for _ in $(seq 1 60); do curl -fs http://127.0.0.1:56150/ >/dev/null && break; sleep 1; done

chromium --headless --no-sandbox --disable-gpu --window-size=1280,1600 --virtual-time-budget=8000 \
  --screenshot="$shots/playground.png" http://127.0.0.1:56150/
echo "screenshot: $shots/playground.png (serve log: $work/serve.log, kept until exit)"
echo "Press Enter to stop." && read -r _
