#!/usr/bin/env bash
# Create .venv (if missing) and install srbench with every extra (torch, pyiqa, test tools).
# Idempotent: a second call only re-checks the installation and prints one line.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
say() { echo "[install] $*"; }
pip_install() { .venv/bin/python -m pip install --disable-pip-version-check --progress-bar on "$@"; }
if [ ! -x .venv/bin/python ]; then
  say "creating .venv ($("$PY" --version 2>&1))"
  "$PY" -m venv .venv
  say "upgrading pip"
  pip_install --upgrade pip
fi
# torch + torchvision first, as a pair (the CUDA wheels run on CPU too)
if ! torch_version=$(.venv/bin/python -c "import torch, torchvision; print(torch.__version__)" 2>/dev/null); then
  say "torch + torchvision (large download on first install)"
  pip_install "torch>=2.1" "torchvision>=0.16"
  torch_version=$(.venv/bin/python -c "import torch; print(torch.__version__)")
fi
stamp=.venv/.srbench-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ setup.py -nt "$stamp" ]; then
  say "srbench[all], editable (safetensors, lpips, pytorch-fid, pyiqa, ray, pytest, selenium)"
  pip_install -e ".[all]"
  touch "$stamp"
  say "done: .venv with torch $torch_version"
else
  say ".venv up to date (torch $torch_version; delete $stamp to reinstall srbench)"
fi
