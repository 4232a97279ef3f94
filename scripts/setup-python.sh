#!/usr/bin/env bash
# Creates var/pyenv with the pinned Python packages of models/requirements.txt (PyPI only).
# Idempotent: reinstalls only when the requirements file changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python="${PYTHON:-python3}"
"${python}" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' ||
  { echo "setup-python: Python 3.11 or newer is required" >&2; exit 1; }

stamp=var/pyenv/.requirements-sha
want="$(sha256sum models/requirements.txt | cut -d' ' -f1)"
if [[ -f "${stamp}" && "$(cat "${stamp}")" == "${want}" ]]; then exit 0; fi
[[ -x var/pyenv/bin/python ]] || "${python}" -m venv var/pyenv
echo "setup-python: installing models/requirements.txt into var/pyenv"
var/pyenv/bin/pip install --quiet --disable-pip-version-check -r models/requirements.txt
echo "${want}" > "${stamp}"
