#!/usr/bin/env bash
# Install into .venv, then run the test suite. Uses ../shared/mirror (datasets, TORCH_HOME) when present;
# without it the tests that need it are skipped, with the reason (SRBENCH_REQUIRE_MIRROR=1: they fail).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
if [ -d ../shared/mirror ]; then
  export SRBENCH_MIRROR="${SRBENCH_MIRROR:-$(cd ../shared/mirror && pwd)}"
  export TORCH_HOME="${TORCH_HOME:-$(cd ../shared/mirror/torch && pwd)}"
fi
exec .venv/bin/python -m pytest tests "$@"
