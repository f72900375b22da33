#!/usr/bin/env bash
# Create .venv (if missing) and install srbench with every extra (torch, pyiqa, test tools).
# Idempotent: a second call only re-checks the installation.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
# torch + torchvision first, as a pair (the CUDA wheels run on CPU too)
if ! .venv/bin/python -c "import torch, torchvision" >/dev/null 2>&1; then
  .venv/bin/python -m pip install -q "torch>=2.1" "torchvision>=0.16"
fi
stamp=.venv/.srbench-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ setup.py -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q -e ".[all]"
  touch "$stamp"
fi
