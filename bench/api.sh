#!/usr/bin/env bash
# Load benchmark of the API and the ward screen on loopback (issue 5):
# a 1,000-bed simulated hospital back-filled for 5 days into SQLite, served
# by `careload demo`, hammered by wrk with 200 connections on 2 threads
# (closed loop: the throughput ceiling), then offered a fixed rate over 200
# connections by `careload bench http` (open loop: the latency a screen
# sees). Reports the latency distribution (p50/p90/p99) per endpoint.
#   RATE=4000 (requests/s offered by bench http), DURATION=20s
#
#   bench/api.sh                 # release build (the figures to report)
#   PROFILE=debug bench/api.sh   # quicker to build, slower to serve
#   BIN=path/to/careload bench/api.sh   # no build
#   PIN=1 bench/api.sh           # one core each: the server on CPU 0, wrk
#                                # (one thread) on CPU 1
#   WORKERS=2 bench/api.sh       # the API runtime's worker threads
#                                # (api.worker_threads, default 1)
#   GZIP=1 bench/api.sh          # clients send Accept-Encoding: gzip, as a
#                                # browser does: the cached gzip copies
#
# Needs wrk (Debian package `wrk`). Not part of CI: the figures are read by
# people, not asserted by tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/careload-target}"
profile="${PROFILE:-release}"
beds="${BEDS:-1000}"
addr="${ADDR:-127.0.0.1:18080}"
duration="${DURATION:-20s}"
conns="${CONNECTIONS:-200}"
command -v wrk >/dev/null || { echo "bench: wrk is missing (apt-get install wrk)" >&2; exit 1; }

if [ -n "${BIN:-}" ]; then bin="$BIN"   # an already built binary
elif [ "$profile" = release ]; then cargo build -q --release -p careload; bin="$CARGO_TARGET_DIR/release/careload"
else cargo build -q -p careload; bin="$CARGO_TARGET_DIR/debug/careload"; fi

db="$(mktemp -d)/bench.db"
# every wrk connection comes from 127.0.0.1: lift the per-client rate limit
wrk_threads=2
if [ -n "${PIN:-}" ]; then wrk_threads=1; fi
if [ -n "${WORKERS:-}" ]; then export CARELOAD_API_WORKER_THREADS="$WORKERS"; fi
CARELOAD_API_RATE_LIMIT_PER_MINUTE=0 "$bin" demo --beds "$beds" --listen "$addr" --db "$db" >"$db.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  curl -fsS -o /dev/null "http://$addr/readyz" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || { cat "$db.log" >&2; exit 1; }
  sleep 1
done
ward="$(curl -fsS "http://$addr/api/v1/wards" | python3 -c 'import json,sys; d=json.load(sys.stdin); w=d["wards"] if isinstance(d,dict) else d; print(w[0]["id"])')"
echo "bench: $beds beds, ward $ward, $conns connections, $duration per endpoint, $profile build, ${WORKERS:-1} API worker(s)${PIN:+, pinned: server on CPU 0, wrk on CPU 1}${GZIP:+, gzip accepted}"
wrk=(wrk) pin_gen=(env) wrk_opts=() gen_opts=()
if [ -n "${GZIP:-}" ]; then wrk_opts=(-H "Accept-Encoding: gzip"); gen_opts=(--gzip); fi
if [ -n "${PIN:-}" ]; then taskset -a -p -c 0 "$pid" >/dev/null; wrk=(taskset -c 1 wrk) pin_gen=(taskset -c 1); fi
for path in "/api/v1/wards/$ward" "/wards/$ward/screen" "/api/v1/hospital"; do
  echo
  echo "== GET $path"
  out="$("${wrk[@]}" -t"$wrk_threads" -c"$conns" -d"$duration" --latency "${wrk_opts[@]}" "http://$addr$path")"
  echo "$out" | sed -n '/Latency Distribution/,/Transfer/p'
  if echo "$out" | grep -q "Non-2xx"; then echo "bench: some responses were not 2xx; the figures are not valid" >&2; exit 1; fi
done

echo
echo "== open loop: ${RATE:-4000} requests/s offered over $conns connections"
"${pin_gen[@]}" "$bin" bench http --url "http://$addr" --connections "$conns" --rate "${RATE:-4000}" --seconds "${duration%s}" "${gen_opts[@]}" \
  "/api/v1/wards/$ward" "/wards/$ward/screen" "/api/v1/hospital"
