#!/usr/bin/env bash
# Install into .venv, then run bicubic (and SRGAN when its weights are present) on the embedded demo
# dataset. Works offline on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/srbench run --methods bicubic --datasets demo --scale 4 --out runs/demo --report "$@"
