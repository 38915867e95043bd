#!/usr/bin/env bash
# Builds the demo (release preset) and runs it; arguments go to tether_demo, e.g.
#   scripts/demo.sh --duration 5 --threads 8 --pipeline 16
#   scripts/demo.sh --endpoint 127.0.0.1:7000 --endpoint 127.0.0.1:7001
#   scripts/demo.sh --tls                      TLS, certificates made on the spot
#   scripts/demo.sh --endpoint api.internal:7443 --tls-ca ca.pem
#   scripts/demo.sh --metrics-port 9464        the pool's metrics at http://127.0.0.1:9464/metrics
# Without --endpoint the demo starts the reference echo server in-process on 127.0.0.1.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$repo_root"

step deps scripts/install-deps.sh
step configure cmake --preset release --log-level=WARNING
step build cmake --build build/release -j"$jobs" --target tether_demo
exec build/release/samples/tether_demo "$@"
