#!/usr/bin/env bash
# Assembles the CUDA path of onnxruntime-node from PyPI: the CUDA provider libraries of the
# onnxruntime-gpu wheel (the version of onnxruntime-node) and the CUDA 13 libraries of NVIDIA's
# wheels, pinned with their sha256 in scripts/cuda/requirements-cuda13.txt. Nothing is pip-installed
# and node_modules is never touched: the service loads a private copy of onnxruntime-node from
# <dest>/runtime when POLYLINK_EXECUTION_PROVIDER=cuda (src/inference/runtime/onnx-runtime.ts).
#
#   bash scripts/setup-cuda.sh [--dest DIR] [--wheels-dir DIR] [--cuda-libs-from DIR]
#                              [--requirements FILE] [--onnxruntime-node DIR] [--skip-driver-check]
#   bash scripts/setup-cuda.sh --check-driver
#
#   --dest DIR             where to assemble (default $POLYLINK_CUDA_DIR, else var/cuda):
#                          DIR/wheels (download cache), DIR/runtime/lib (CUDA libraries),
#                          DIR/runtime/node_modules/onnxruntime-node (with the two providers next to its
#                          libonnxruntime.so.1, where ONNX Runtime looks for them), DIR/runtime/assembly.json.
#   --wheels-dir DIR       offline: take the wheels from DIR (pip --no-index --find-links) instead of
#                          PyPI, e.g. on a machine without internet; hashes are checked all the same.
#   --cuda-libs-from DIR   use the CUDA libraries of an existing environment (a site-packages/nvidia
#                          folder whose */lib hold libcudart.so.13 etc.) instead of downloading NVIDIA's
#                          wheels; only onnxruntime-gpu is fetched. Recorded in assembly.json.
#   --skip-driver-check    assemble on a machine without the driver (to copy the result elsewhere).
#
# Exit codes: 0 assembled (or already assembled from the same requirements), 2 no NVIDIA driver or one
# too old for CUDA 13, 3 a wheel or library failed a check (hash, platform, CUDA major), 1 other errors.
# A failed run leaves any earlier assembly as it was.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# CUDA 13.0 GA needs a Linux driver >= 580.65.06: "CUDA Toolkit and Corresponding Driver Versions",
# CUDA 13.0 release notes, section 2.2 (CUDA Driver). Later 13.x libraries run on it through minor
# version compatibility, so the figure holds for the pinned 13.0 Update 2 wheels.
readonly MIN_DRIVER=580.65.06

dest="${POLYLINK_CUDA_DIR:-${root}/var/cuda}"
requirements="${root}/scripts/cuda/requirements-cuda13.txt"
wheels_dir=""
cuda_libs_from=""
ort_node_dir=""
check_driver=true
only_check_driver=false
while (($#)); do
  case "$1" in
    --dest) dest="$2"; shift 2 ;;
    --wheels-dir) wheels_dir="$(cd "$2" && pwd)"; shift 2 ;;
    --cuda-libs-from) cuda_libs_from="$(cd "$2" && pwd)"; shift 2 ;;
    --requirements) requirements="$2"; shift 2 ;;
    --onnxruntime-node) ort_node_dir="$(cd "$2" && pwd)"; shift 2 ;;
    --skip-driver-check) check_driver=false; shift ;;
    --check-driver) only_check_driver=true; shift ;;
    *) echo "setup-cuda: unknown argument '$1' (see the header of $0)" >&2; exit 1 ;;
  esac
done

fail() { local code="$1"; shift; echo "setup-cuda: $*" >&2; exit "${code}"; }

# The driver's version from nvidia-smi, else from the kernel module's /proc file.
# NVIDIA_SMI and NVIDIA_PROC_VERSION exist for the tests, which fake both.
driver_version() {
  local smi="${NVIDIA_SMI:-nvidia-smi}" proc="${NVIDIA_PROC_VERSION:-/proc/driver/nvidia/version}" v=""
  if command -v "${smi}" >/dev/null 2>&1; then
    v="$("${smi}" --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n1 | tr -d '[:space:]')" || v=""
  fi
  if [[ -z "${v}" && -r "${proc}" ]]; then
    # "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 ..."
    v="$(grep -oE 'Kernel Module +[0-9]+(\.[0-9]+)+' "${proc}" | grep -oE '[0-9]+(\.[0-9]+)+$' | head -n1)" || v=""
  fi
  echo "${v}"
}

require_driver() {
  local v
  v="$(driver_version)"
  [[ -n "${v}" ]] || fail 2 "no NVIDIA driver found (no nvidia-smi, no /proc/driver/nvidia/version): the CUDA path needs an NVIDIA GPU with driver >= ${MIN_DRIVER} (CUDA 13). Keep POLYLINK_EXECUTION_PROVIDER=cpu, or pass --skip-driver-check to assemble for another machine."
  if [[ "$(printf '%s\n%s\n' "${MIN_DRIVER}" "${v}" | sort -V | head -n1)" != "${MIN_DRIVER}" ]]; then
    fail 2 "NVIDIA driver ${v} is too old for CUDA 13: it needs >= ${MIN_DRIVER} (CUDA 13.0 release notes, table of CUDA toolkits and driver versions). Upgrade the driver, or keep POLYLINK_EXECUTION_PROVIDER=cpu."
  fi
  echo "setup-cuda: NVIDIA driver ${v} (>= ${MIN_DRIVER})"
}

if ${check_driver} || ${only_check_driver}; then require_driver; fi
${only_check_driver} && exit 0

[[ "$(uname -s)/$(uname -m)" == Linux/x86_64 ]] || fail 1 "the CUDA wheels are manylinux x86_64 only; this is $(uname -s)/$(uname -m)"
command -v unzip >/dev/null || fail 1 "'unzip' is required"
python="${PYTHON:-python3}"
"${python}" -m pip --version >/dev/null 2>&1 || fail 1 "'${python} -m pip' is required (it downloads and hash-checks the wheels)"
[[ -f "${requirements}" ]] || fail 1 "no requirements file at ${requirements}"

if [[ -z "${ort_node_dir}" ]]; then
  ort_node_dir="$(cd "${root}" && node -p 'path.dirname(require.resolve("onnxruntime-node/package.json"))')"
fi
ort_node_version="$(node -p 'require(process.argv[1]).version' "${ort_node_dir}/package.json")"
ort_gpu_version="$(grep -oE '^onnxruntime-gpu==[^ ]+' "${requirements}" | cut -d= -f3)"
[[ "${ort_node_version}" == "${ort_gpu_version}" ]] || fail 1 "onnxruntime-node ${ort_node_version} and onnxruntime-gpu ${ort_gpu_version} differ: the providers must come from the same ONNX Runtime release (update ${requirements})"

# Skip when this exact set of requirements was assembled already (start.sh runs this every time).
stamp="$(sha256sum "${requirements}" | cut -d' ' -f1)-${cuda_libs_from:-pypi}-${ort_node_version}"
if [[ -f "${dest}/runtime/assembly.json" ]] && grep -qF "\"stamp\": \"${stamp}\"" "${dest}/runtime/assembly.json"; then
  echo "setup-cuda: ${dest}/runtime is assembled from $(basename "${requirements}")"
  exit 0
fi

# With --cuda-libs-from only onnxruntime-gpu comes from the requirements.
reqs="${requirements}"
mkdir -p "${dest}/wheels"
stage="$(mktemp -d "${dest}/.assembling.XXXXXX")"
trap 'rm -rf "${stage}"' EXIT
if [[ -n "${cuda_libs_from}" ]]; then
  reqs="${stage}/requirements.txt"
  grep -E '^onnxruntime-gpu==' "${requirements}" > "${reqs}"
fi

# pip download checks every hash (--require-hashes), also of wheels already in the cache, and the
# platform tags choose manylinux x86_64 builds; the Python tag only picks the pinned file.
pip_args=(download --no-deps --only-binary=:all: --require-hashes -r "${reqs}" -d "${dest}/wheels"
  --python-version 3.12 --implementation cp --progress-bar off
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
  --platform manylinux2014_x86_64 --platform manylinux_2_12_x86_64 --platform manylinux2010_x86_64)
[[ -n "${wheels_dir}" ]] && pip_args+=(--no-index --find-links "${wheels_dir}")
echo "setup-cuda: fetching and checking the wheels of $(basename "${reqs}")${wheels_dir:+ from ${wheels_dir}}"
if ! PIP_FIND_LINKS="" "${python}" -m pip "${pip_args[@]}" > "${stage}/pip.log" 2>&1; then
  cat "${stage}/pip.log" >&2
  if grep -q 'DO NOT MATCH THE HASHES' "${stage}/pip.log"; then
    fail 3 "a wheel does not match its pinned sha256 (above): refusing to assemble"
  fi
  fail 1 "pip download failed (above)"
fi

# The wheel file each requirement resolved to: its name as pip saves it, checked for the platform.
wheel_of() {
  local name="${1//-/_}" version="$2" file
  file="$(find "${dest}/wheels" -maxdepth 1 -name "${name}-${version}-*.whl" | sort | tail -n1)"
  [[ -n "${file}" ]] || fail 3 "no wheel for ${1}==${version} in ${dest}/wheels"
  [[ "$(basename "${file}")" =~ manylinux[^-]*x86_64[^-]*\.whl$ ]] || fail 3 "$(basename "${file}") is not a manylinux x86_64 wheel"
  echo "${file}"
}

mkdir -p "${stage}/runtime/lib"
wheels_json=""
while read -r name version hash; do
  file="$(wheel_of "${name}" "${version}")"
  wheels_json+="${wheels_json:+,}{\"name\":\"${name}\",\"version\":\"${version}\",\"file\":\"$(basename "${file}")\",\"sha256\":\"${hash}\"}"
  if [[ "${name}" == onnxruntime-gpu ]]; then
    unzip -q -o -j "${file}" 'onnxruntime/capi/libonnxruntime_providers_cuda.so' \
      'onnxruntime/capi/libonnxruntime_providers_shared.so' -d "${stage}/providers"
  else
    unzip -q -o -j "${file}" 'nvidia/*/lib/*.so*' -d "${stage}/runtime/lib"
  fi
done < <(sed -nE 's/^([A-Za-z0-9_.-]+)==([^ ]+) +--hash=sha256:([0-9a-f]{64}).*/\1 \2 \3/p' "${reqs}")

if [[ -n "${cuda_libs_from}" ]]; then
  # Links, not copies: that environment's libraries are gigabytes, and stay where they are.
  find "${cuda_libs_from}" -mindepth 3 -maxdepth 3 -path '*/lib/*.so*' -exec ln -sf {} "${stage}/runtime/lib/" \;
fi

# The CUDA major the providers were built for: the sonames they need must be there, and CUDA 12's
# (libcudart.so.12, libcublas.so.12) would not do. cuDNN, cuFFT and NVRTC are opened at run time.
for soname in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libcufft.so.12 \
  libcudnn.so.9 libnvrtc.so.13; do
  [[ -e "${stage}/runtime/lib/${soname}" ]] || fail 3 "${soname} is missing from the CUDA libraries (${cuda_libs_from:-the pinned wheels}): not a CUDA 13 set"
done
for provider in libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so; do
  [[ -f "${stage}/providers/${provider}" ]] || fail 3 "onnxruntime-gpu ${ort_gpu_version} has no ${provider}"
  # ELF, 64-bit, e_machine 0x3e (x86-64).
  [[ "$(od -An -tx1 -N5 "${stage}/providers/${provider}" | tr -d ' \n')" == 7f454c4602 &&
    "$(od -An -tx1 -j18 -N2 "${stage}/providers/${provider}" | tr -d ' \n')" == 3e00 ]] ||
    fail 3 "${provider} is not an x86-64 ELF library"
done

# A private copy of onnxruntime-node (Linux x64 build only) with the providers next to its
# libonnxruntime.so.1: ONNX Runtime opens provider libraries from the folder of the
# libonnxruntime.so it runs from, and the binding finds that one through its RUNPATH ($ORIGIN).
# onnxruntime-common's "exports" hide its package.json: find its folder from its entry point.
ort_common_dir="$(node -p 'const e = require.resolve("onnxruntime-common", { paths: [process.argv[1]] }); e.slice(0, e.lastIndexOf("/onnxruntime-common/") + "/onnxruntime-common".length)' "${ort_node_dir}")"
bin_rel=bin/napi-v6/linux/x64
mkdir -p "${stage}/runtime/node_modules/onnxruntime-node/${bin_rel}" "${stage}/runtime/node_modules/onnxruntime-common"
cp -r "${ort_node_dir}/package.json" "${ort_node_dir}/dist" "${stage}/runtime/node_modules/onnxruntime-node/"
cp "${ort_node_dir}/${bin_rel}"/* "${stage}/runtime/node_modules/onnxruntime-node/${bin_rel}/"
cp -r "${ort_common_dir}/package.json" "${ort_common_dir}/dist" "${stage}/runtime/node_modules/onnxruntime-common/"
cp "${stage}/providers"/*.so "${stage}/runtime/node_modules/onnxruntime-node/${bin_rel}/"

cat > "${stage}/runtime/assembly.json" <<JSON
{
  "stamp": "${stamp}",
  "assembledAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "onnxruntimeNode": "${ort_node_version}",
  "requirements": "$(basename "${requirements}")",
  "cudaLibrariesFrom": $(if [[ -n "${cuda_libs_from}" ]]; then echo "\"${cuda_libs_from}\""; else echo '"the pinned wheels"'; fi),
  "minimumDriver": "${MIN_DRIVER}",
  "wheels": [${wheels_json}]
}
JSON

# Swap in the new runtime whole: a run that fails above leaves the old one as it was.
rm -rf "${dest}/runtime.old"
[[ -d "${dest}/runtime" ]] && mv "${dest}/runtime" "${dest}/runtime.old"
mv "${stage}/runtime" "${dest}/runtime"
rm -rf "${dest}/runtime.old"
echo "setup-cuda: assembled ${dest}/runtime (onnxruntime-node ${ort_node_version} with its CUDA providers; libraries in ${dest}/runtime/lib)"
echo "setup-cuda: run with POLYLINK_EXECUTION_PROVIDER=cuda and LD_LIBRARY_PATH=${dest}/runtime/lib (scripts/start.sh sets it)"
