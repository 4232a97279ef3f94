#!/usr/bin/env bash
# Reproduces the trained linker and its comparison from a fresh clone, on CPU (GPU when present):
#   1. set-up (npm, Neo4j jars, model bundle, Python env), 2. the benchmark (eval/build),
#   3. features from the serving ONNX encoders (eval/features), 4. the real candidate generator's
#   lists for every query (run-baselines.ts --candidates-out, its own Neo4j instance),
#   5. the served model: Poly m = 16 (DEFAULT_STEPS), 6. the comparison: Bi, Poly m = 4/16/64/360,
#   Cross and Poly without the generator prior, each trained COMPARE_STEPS steps, 7. predictions of
#   every run on dev and test (Cross on a seeded subset: CROSS_QUERIES per split; 1,000 joint
#   encodings per example make it ~1,000x slower), 8. Table 3 timings (ms per example with 1,000
#   candidates, one process alone), 9. scoring with the harness (thresholds on dev), 10. the release
#   folder models/zemel/release (ONNX graphs, linker.json, parity.json), 11. the style-robust image
#   head of the bundle (issue 12: the held-out sources and the cross-depiction pool from registry
#   packages, their Lite0 vectors, the whitening fit; byte-identical for the same vectors), 12. the
#   region evidence weight of linker.json, chosen on the held-out dev source (eval/xdep/calibrate.ts).
#
#   models/zemel/reproduce.sh                    # everything; about 2 hours on 2 cores
#   STAGES="train-default release" models/zemel/reproduce.sh
#
# A stage whose output exists is skipped (delete the folder to redo it). Outputs: var/benchmark,
# var/features, var/candidates/all.jsonl, var/zemel-runs/<run>, var/eval/zemel/<run>,
# eval-results/<date>-zemel, models/zemel/release, var/xdep, var/xdep-features,
# models/converted/image-robust.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

STAGES="${STAGES:-setup benchmark features candidates train-default train-compare predict timing score release robust-head calibrate}"
DEFAULT_STEPS="${DEFAULT_STEPS:-445}"
COMPARE_STEPS="${COMPARE_STEPS:-300}"
CROSS_QUERIES="${CROSS_QUERIES:-60}"
DATE="${DATE:-$(date -u +%F)}"
RESULTS="${RESULTS:-eval-results/${DATE}-zemel}"
PY=var/pyenv/bin/python
RUNS=var/zemel-runs
PRED=var/eval/zemel

want() { [[ " ${STAGES} " == *" $1 "* ]]; }
say() { echo "[reproduce $(date -u +%H:%M:%S)] $*" >&2; }

train() { # name, then train.py options
  local name="$1"
  shift
  if [[ -f "${RUNS}/${name}/config.json" ]]; then say "train ${name}: exists"; return; fi
  say "train ${name}: $*"
  "${PY}" -m models.zemel.train --features var/features --candidates var/candidates/all-norobust.jsonl \
    --out "${RUNS}/${name}" "$@"
}

predict() { # name, then predict.py options
  local name="$1"
  shift
  if [[ -f "${PRED}/${name}/run.json" ]]; then say "predict ${name}: exists"; return; fi
  say "predict ${name}"
  "${PY}" -m models.zemel.predict --run "${RUNS}/${name}" --out "${PRED}/${name}" "$@"
}

if want setup; then
  bash scripts/setup.sh
  bash scripts/setup-python.sh
fi
if want benchmark && [[ ! -f var/benchmark/stats.json ]]; then
  npx tsx eval/build/build-benchmark.ts --seed 1
fi
if want features && [[ ! -f var/features/index.json ]]; then
  npx tsx eval/features/extract-features.ts --benchmark var/benchmark --out var/features
fi
if want candidates && [[ ! -s var/candidates/all-norobust.jsonl ]]; then
  if [[ ! -s var/candidates/all.jsonl ]]; then
    npx tsx eval/baselines/run-baselines.ts --import-only
    npx tsx eval/baselines/run-baselines.ts --reuse-db --candidates-out var/candidates/all.jsonl
  fi
  # The linker reads the generators it was designed with; the style-robust list (bundle 1.3.0) is
  # read after it, by region-only units only, so its hits are left out of the training lists.
  "${PY}" -m models.zemel.strip_robust var/candidates/all.jsonl var/candidates/all-norobust.jsonl
fi
if want train-default; then
  train poly-m16 --head poly --codes 16 --steps "${DEFAULT_STEPS}" --eval-every 100
fi
if want train-compare; then
  for m in 4 16 64 360; do
    train "cmp-poly-m${m}" --head poly --codes "${m}" --steps "${COMPARE_STEPS}" --eval-every 100 --eval-limit 300
  done
  train cmp-bi --head bi --steps "${COMPARE_STEPS}" --eval-every 100 --eval-limit 300
  train cmp-cross --head cross --steps "${COMPARE_STEPS}" --eval-every 100 --eval-limit 150
  train cmp-poly-m16-no-prior --head poly --codes 16 --no-prior --steps "${COMPARE_STEPS}" --eval-every 100 --eval-limit 300
fi
if want predict; then
  predict poly-m16 --title "Poly (m = 16), served (${DEFAULT_STEPS} steps)"
  for m in 4 16 64 360; do predict "cmp-poly-m${m}"; done
  predict cmp-bi
  predict cmp-poly-m16-no-prior
  predict cmp-cross --queries-per-split "${CROSS_QUERIES}"
fi
if want timing; then # alone on the machine: Table 3 timings are wall-clock
  for name in cmp-poly-m4 cmp-poly-m16 cmp-poly-m64 cmp-poly-m360 cmp-bi cmp-cross; do
    "${PY}" -m models.zemel.predict --run "${RUNS}/${name}" --out "${PRED}/${name}" --splits "" --timing
  done
fi
if want score; then
  runs=()
  for d in "${PRED}"/*/; do
    [[ -f "${d}run.json" ]] && runs+=(--run "$(basename "${d}")=${d%/}")
  done
  npx tsx eval/zemel/score-runs.ts --gold var/benchmark/queries.jsonl "${runs[@]}" --out "${RESULTS}" \
    --baselines eval-results/2026-11-25-baselines/summary.json
  # Poly and Bi on exactly the queries Cross was scored on (a like-for-like comparison).
  for name in cmp-poly-m16 cmp-bi; do
    mkdir -p "var/eval/zemel-subset/${name}"
    for split in dev test; do
      "${PY}" -c 'import json, sys
keep = {json.loads(l)["query"] for l in open(sys.argv[1])}
sys.stdout.writelines(l for l in open(sys.argv[2]) if json.loads(l)["query"] in keep)' \
        "${PRED}/cmp-cross/${split}.jsonl" "${PRED}/${name}/${split}.jsonl" > "var/eval/zemel-subset/${name}/${split}.jsonl"
    done
    "${PY}" -c 'import json, sys
run = json.load(open(sys.argv[1])); run["title"] += " (on the Cross subset)"; print(json.dumps(run))' \
      "${PRED}/${name}/run.json" > "var/eval/zemel-subset/${name}/run.json"
  done
  npx tsx eval/zemel/score-runs.ts --gold var/benchmark/queries.jsonl --out "${RESULTS}-cross-subset" \
    --run cmp-poly-m16-subset=var/eval/zemel-subset/cmp-poly-m16 --run cmp-bi-subset=var/eval/zemel-subset/cmp-bi \
    --run cmp-cross="${PRED}/cmp-cross"
fi
if want release; then
  "${PY}" -m models.zemel.release --run "${RUNS}/poly-m16" --out models/zemel/release \
    --thresholds "${RESULTS}/summary.json" --threshold-run poly-m16
fi
if want robust-head; then # models/xdep/README.md
  [[ -f var/xdep/manifest.json ]] || npx tsx eval/xdep/build-xdep.ts --seed 1
  [[ -f var/xdep-features/index.json ]] || npx tsx eval/xdep/image-features.ts --xdep var/xdep --out var/xdep-features
  "${PY}" -m models.xdep.robust_head --features var/xdep-features --out models/converted/image-robust
fi
if want calibrate; then # after a new head: pin its sha256 in models/bundles/polylink-default.json first
  npx tsx eval/xdep/calibrate.ts --write-release models/zemel/release/linker.json
fi
say done
