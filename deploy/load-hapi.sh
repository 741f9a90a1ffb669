#!/bin/sh
# Puts the simulated hospital into a FHIR server so that careload has data to
# read: waits for the server's /metadata, writes the simulator's present state
# as a FHIR transaction Bundle and POSTs it. Used by docker-compose's `loader`
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
"$careload" sim --beds "$beds" --seed "$seed" --hours "$hours" --out "$out" --bundle
echo "load-hapi: posting $(du -h "$out/bundle.json" | cut -f1) transaction to ${base}"
status="$(curl -sS -o "$out/response.json" -w '%{http_code}' \
  -H 'Content-Type: application/fhir+json' -H 'Accept: application/fhir+json' \
  --data-binary @"$out/bundle.json" "$base")"
if [ "$status" != "200" ]; then
  echo "load-hapi: the server answered HTTP $status:" >&2
  head -c 2000 "$out/response.json" >&2
  exit 1
fi
echo "load-hapi: loaded"
