#!/usr/bin/env bash
# What API keys cost: alternating rounds of the same ingest load (tideline bench, 4 clients, 20 s)
# against a fresh server without keys (--no-auth) and one that checks a key on every call.
# Needs a release build: cargo build --release. Results: BENCHMARKS.md.
set -u
cd "$(dirname "$0")/.."
B=${TIDELINE_BIN:-target/release/tideline}
BOOT=benchbootstrapkey0123456789
for round in 1 2 3; do
  for mode in noauth key; do
    dir=/tmp/bench-$mode; rm -rf $dir
    if [[ $mode == noauth ]]; then
      env -u TIDELINE_BOOTSTRAP_KEY $B serve --no-auth --data-dir $dir --listen 127.0.0.1:50571 >/tmp/serve-$mode.log 2>&1 &
    else
      TIDELINE_BOOTSTRAP_KEY=$BOOT $B serve --data-dir $dir --listen 127.0.0.1:50571 >/tmp/serve-$mode.log 2>&1 &
    fi
    pid=$!
    sleep 2
    args=()
    if [[ $mode == key ]]; then
      key=$($B keys create --server http://127.0.0.1:50571 --api-key $BOOT --workspace default --scopes ingest,read --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
      args=(--api-key "$key")
    fi
    echo "== $mode round $round"
    $B bench --server http://127.0.0.1:50571 "${args[@]}" --clients "${CLIENTS:-4}" --seconds 20 --warmup 3 2>&1 | grep -E "^ingest|clients"
    kill $pid; wait $pid 2>/dev/null
  done
done
