#!/bin/sh
# Puts the simulated hospital into a FHIR server so that careload has data to
# read: waits for the server's /metadata, writes the simulator's present state
# as batch Bundles of at most 50 PUTs and POSTs them in order. Used by docker-compose's `loader`
# service; works the same without Docker:
#   deploy/load-hapi.sh http://127.0.0.1:8090/fhir
# Environment: SIM_BEDS (150), SIM_SEED (1), SIM_HOURS (120), WAIT_SECONDS (600).
set -eu
base="${1:?usage: load-hapi.sh FHIR_BASE_URL}"
beds="${SIM_BEDS:-150}"
seed="${SIM_SEED:-1}"
hours="${SIM_HOURS:-120}"
wait="${WAIT_SECONDS:-600}"
careload="${CARELOAD_BIN:-careload}"

echo "load-hapi: waiting up to ${wait}s for ${base}/metadata"
i=0
until curl -fsS -o /dev/null -H 'Accept: application/fhir+json' "${base}/metadata"; do
  i=$((i + 5))
  if [ "$i" -ge "$wait" ]; then
    echo "load-hapi: ${base} did not answer /metadata within ${wait}s" >&2
    exit 1
  fi
  sleep 5
done

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# Batches of at most 50 PUTs, every resource after what it refers to: HAPI
# and Medplum refuse transactions larger than that, and HAPI checks
# references on write.
# The simulation ends at the current hour, so that the loaded present is now
# (it starts `hours` earlier; GNU date).
start="$(date -u -d "-${hours} hours" +%Y-%m-%dT%H:00:00Z)"
"$careload" sim --beds "$beds" --seed "$seed" --start "$start" --hours "$hours" --out "$out" --batches 50 >/dev/null
n=0
for f in "$out"/batch-*.json; do
  status="$(curl -sS -o "$out/response.json" -w '%{http_code}' \
    -H 'Content-Type: application/fhir+json' -H 'Accept: application/fhir+json' \
    --data-binary @"$f" "$base")"
  if [ "$status" != "200" ]; then
    echo "load-hapi: $(basename "$f"): the server answered HTTP $status:" >&2
    head -c 2000 "$out/response.json" >&2
    exit 1
  fi
  # a batch answers 200 even when an entry failed: look at each entry's status
  if grep -Eq '"status" *: *"[45][0-9][0-9]' "$out/response.json"; then
    echo "load-hapi: $(basename "$f"): an entry was refused:" >&2
    head -c 2000 "$out/response.json" >&2
    exit 1
  fi
  n=$((n + 1))
done
echo "load-hapi: loaded ${n} batches into ${base}"
