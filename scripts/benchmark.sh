#!/usr/bin/env bash
# Benchmarks: prints a table of figures (machine, nightly through Airflow, ingest efficiency,
# national volume at scale 60, growth). See docs/performance.md.
#
#   bash scripts/benchmark.sh                    # everything (scale 60 included: about an hour on 2 cores)
#   bash scripts/benchmark.sh --quick            # scale 1 nightly/growth, ingest at scale 5, no scale 60
#   bash scripts/benchmark.sh --scales 1,10 --skip-national
#
# Works under ${DOLISA_BENCH_WORK:-/tmp/dolisa_bench} (generated stores are cached there);
# never touches DOLISA_HOME or the project's Airflow home.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash "$DOLISA_ROOT/scripts/bootstrap.sh"
cd "$DOLISA_ROOT"
exec "$VENV/bin/python" -m dolisa_demo.bench "$@"
