"""Issue 12: the style-robust image head the default bundle ships (component `imageRobust`).

Fits the variant chosen on the held-out DEV source (Wesnoth) by models/xdep/projection.py and confirmed by the
trunk sweep (models/xdep/trunks.py, eval-results/2026-12-04-xdep-trunks): PCA whitening of the serving
EfficientNet-Lite0's L2-normalised pooled vectors to 256 dimensions, fitted on the unlabelled cross-depiction pool
(no labels used; the in-house benchmark's dev and test concepts left out), applied to the mean direction of a
picture's plain and mirrored views. Writes it as a small ONNX graph the service runs after the image encoder:

    pooled [batch, 1280] (the views' normalised sum) -> Gemm (centring folded into the bias) -> LpNormalization
    -> robust [batch, 256]

    var/pyenv/bin/python -m models.xdep.robust_head --features var/xdep-features --out models/converted/image-robust

The features come from eval/xdep/image-features.ts (the service's own decoder and encoder, plain and mirrored), so the
head sees exactly the vectors it will be given. Deterministic: an SVD of a fixed matrix, no randomness. Checks the
ONNX graph against numpy (parity) and reports dev acc@1 / acc@5 (image-only, query picture against every KB picture).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from .projection import excluded_concepts, load, normalise, pool_indices, retrieval, source_sets

DIMENSION = 256
INPUT = "pooled"
OUTPUT = "robust"
OPSET = 17


def fit(pool: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Whitening of the pool's vectors: (x - mean) @ w, w = the top-k right singular vectors over their values."""
    mean = pool.mean(axis=0, keepdims=True)
    _, s, vt = np.linalg.svd(pool - mean, full_matrices=False)
    w = vt[:k].T / np.maximum(s[:k], 1e-6)
    return mean.astype(np.float32), w.astype(np.float32)


def head_graph(mean: np.ndarray, w: np.ndarray) -> onnx.ModelProto:
    bias = -(mean @ w).reshape(-1).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", [INPUT, "whitening", "centring"], ["whitened"]),
            helper.make_node("LpNormalization", ["whitened"], [OUTPUT], axis=1, p=2),
        ],
        "style_robust_head",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", w.shape[0]])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", w.shape[1]])],
        [numpy_helper.from_array(w, "whitening"), numpy_helper.from_array(bias, "centring")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="polylink")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=Path, default=Path("var/xdep-features"))
    parser.add_argument("--split", type=Path, default=Path("eval/split.json"))
    parser.add_argument("--dev", default="wesnoth")
    parser.add_argument("--out", type=Path, default=Path("models/converted/image-robust"))
    args = parser.parse_args()

    f = load(args.features)
    excluded = excluded_concepts(args.split)
    pool_rows = pool_indices(f.rows, excluded)
    mean, w = fit(f.plain[pool_rows], DIMENSION)
    model = head_graph(mean, w)
    args.out.mkdir(parents=True, exist_ok=True)
    model_path = args.out / "model.onnx"
    onnx.save(model, model_path)

    def reference(x: np.ndarray) -> np.ndarray:
        return normalise((x - mean) @ w)

    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    q, ql, kb, kl = source_sets(f, args.dev, "flip")
    served = session.run([OUTPUT], {INPUT: np.ascontiguousarray(q, dtype=np.float32)})[0]
    parity = float(np.abs(served - reference(q)).max())
    if parity > 1e-5:
        raise SystemExit(f"ONNX head differs from numpy by {parity}")
    project = lambda x: session.run([OUTPUT], {INPUT: np.ascontiguousarray(x, dtype=np.float32)})[0]  # noqa: E731
    dev = retrieval(project(q), ql, project(kb), kl)
    index = json.loads((args.features / "index.json").read_text())
    report = {
        "script": "models/xdep/robust_head.py",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "features": {"dir": str(args.features), "bundle": index.get("bundle")},
        "pool": {"pictures": len(pool_rows), "excludedConcepts": len(excluded)},
        "dimension": DIMENSION,
        "views": "plain+mirrored",
        "parityMaxAbs": parity,
        "dev": {"source": args.dev, **dev},
        "sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(),
    }
    (args.out / "fit.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
