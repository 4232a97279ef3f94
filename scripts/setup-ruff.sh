#!/usr/bin/env bash
# Creates var/ruff-venv with ruff alone (one ~30 MB wheel from PyPI), pinned to the version of
# models/requirements.txt, so the service's test command lints the Python side without building
# the PyTorch environment (var/pyenv, scripts/setup-python.sh). Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python="${PYTHON:-python3}"
pin="$(grep -E '^ruff==' models/requirements.txt)" ||
  { echo "setup-ruff: models/requirements.txt pins no ruff version" >&2; exit 1; }
stamp=var/ruff-venv/.pin
if [[ -f "${stamp}" && "$(cat "${stamp}")" == "${pin}" ]]; then exit 0; fi
[[ -x var/ruff-venv/bin/python ]] || "${python}" -m venv var/ruff-venv
echo "setup-ruff: installing ${pin} into var/ruff-venv"
var/ruff-venv/bin/pip install --quiet --disable-pip-version-check "${pin}"
echo "${pin}" > "${stamp}"
