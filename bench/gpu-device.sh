#!/usr/bin/env bash
# The GPU latency check on a machine without internet (this workplace's device machine), in two halves:
#
#   bash bench/gpu-device.sh pack   # here: onnxruntime-gpu's pinned wheel (247 MB), split into parts of
#                                   # at most 60 MiB under .device-carry/ (ignored by git)
#   bash bench/gpu-device.sh run    # there: joins the parts into a wheels folder (pip checks the joined
#                                   # wheel against its pinned sha256), assembles the CUDA runtime with that
#                                   # machine's own CUDA 13 libraries (python3's site-packages/nvidia, from
#                                   # its PyTorch), runs bench/gpu-latency.ts (cpu, then cuda) and copies the
#                                   # results to $OUT when set
#
# Each device call carries at most 64 MiB beside the working tree, so the parts travel one per call
# (`carry: [".device-carry/onnxruntime_gpu.whl.part-aa"]`, then -ab, ...) into a machine kept warm
# between calls; the last call runs `bash bench/gpu-device.sh run`. That machine must also have Node 20,
# node_modules and the assembled model bundle (var/models), which carry the same way.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

carry=.device-carry
wheel_name="$(sed -nE 's/^onnxruntime-gpu==([^ ]+) .*/onnxruntime_gpu-\1-cp312-cp312-manylinux_2_28_x86_64.whl/p' scripts/cuda/requirements-cuda13.txt)"

case "${1:-}" in
  pack)
    requirement="$(grep -E '^onnxruntime-gpu==' scripts/cuda/requirements-cuda13.txt)"
    mkdir -p var/cuda/wheels "${carry}"
    printf '%s\n' "${requirement}" > "${carry}/requirements.txt"
    python3 -m pip download --no-deps --only-binary=:all: --require-hashes -r "${carry}/requirements.txt" \
      --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 -d var/cuda/wheels --progress-bar off
    rm -f "${carry}/onnxruntime_gpu.whl.part-"*
    split -b 60M "var/cuda/wheels/${wheel_name}" "${carry}/onnxruntime_gpu.whl.part-"
    ls -l "${carry}"
    ;;
  run)
    missing=()
    command -v node >/dev/null || missing+=("node (Node.js 20)")
    [[ -d node_modules/onnxruntime-node ]] || missing+=("node_modules")
    [[ -f var/models/polylink-default/manifest.json ]] || missing+=("var/models/polylink-default (the assembled bundle)")
    compgen -G "${carry}/onnxruntime_gpu.whl.part-*" >/dev/null || missing+=("${carry}/onnxruntime_gpu.whl.part-* (bash bench/gpu-device.sh pack)")
    if ((${#missing[@]})); then
      printf 'gpu-device: missing on this machine: %s\n' "${missing[@]}" >&2
      exit 1
    fi
    bash scripts/setup-cuda.sh --check-driver
    wheels="$(mktemp -d)"
    cat "${carry}/onnxruntime_gpu.whl.part-"* > "${wheels}/${wheel_name}"
    npx tsx bench/gpu-latency.ts --wheels-dir "${wheels}" --cuda-libs-from auto "${@:2}"
    if [[ -n "${OUT:-}" ]]; then
      cp bench/results/gpu-latency-*.json bench/results/gpu-latency-*.md "${OUT}/"
    fi
    ;;
  *)
    echo "usage: bash bench/gpu-device.sh pack|run [gpu-latency.ts options]" >&2
    exit 1
    ;;
esac
