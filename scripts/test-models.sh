#!/usr/bin/env bash
# The second test command: the PyTorch side of models/ (export parity, the CLIP exporter, the
# linker's training code). It builds var/pyenv (scripts/setup-python.sh: torch and its CUDA
# wheels, about 5.7 GB) on first run, which is why scripts/test.sh, the service's test command,
# does not. CI (.ci/run) runs both.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup-python.sh

echo "== Python model tests (export parity, CLIP exporter, linker)"
var/pyenv/bin/python -m pytest -q models/tests
