"""Packs a trained run as the linker the service loads: three ONNX graphs, a manifest and a parity
fixture (inputs and PyTorch outputs) that the TypeScript side checks ONNX Runtime against.

    var/pyenv/bin/python -m models.zemel.release --run var/zemel-runs/poly-m16 --out models/zemel/release \
        [--thresholds eval-results/<date>-zemel/summary.json --threshold-run poly-m16] [--version 1.0.0]
    var/pyenv/bin/python -m models.zemel.release --untrained --out var/zemel-release-dev   # interface only

``linker.json`` holds what serving needs besides the graphs: widths, the text layout the candidate
encoder was trained on (``[CLS] name [SEP] description [SEP]``, at most 128 tokens, no prefix),
the order of the generator features, the NIL thresholds chosen on dev, and each file's sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import torch

from .config import ModelConfig
from .export import (
    CANDIDATE,
    CONTEXT,
    CandidateGraph,
    ContextCodesGraph,
    PolyScoreGraph,
    context_inputs,
    export_all,
    feature_inputs,
    poly_score_spec,
    score_inputs,
    verify,
)
from .model import ZemelModel
from .units import GENERATOR_FEATURES

MANIFEST_VERSION = 1


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tensor(x: torch.Tensor) -> dict[str, Any]:
    return {"shape": list(x.shape), "dtype": "int64" if x.dtype == torch.int64 else "float32",
            "data": [round(v, 7) if isinstance(v, float) else v for v in x.flatten().tolist()]}  # fmt: skip


@torch.no_grad()
def parity_fixture(model: ZemelModel) -> dict[str, Any]:
    """Small fixed inputs for each graph and PyTorch's outputs on them."""
    cfg = model.cfg
    ctx = context_inputs(cfg, batch=2, tokens=6, regions=2, seed=7)
    cand = feature_inputs(cfg, batch=2, tokens=5, regions=1, seed=8)
    score = score_inputs(cfg, batch=1, candidates=5, seed=9)
    graphs = (
        ("context", CONTEXT.inputs, ctx, ContextCodesGraph(model)(*ctx)),
        ("candidate", CANDIDATE.inputs, cand, CandidateGraph(model)(*cand)),
        ("poly_score", poly_score_spec(cfg).inputs, score, PolyScoreGraph(model)(*score)),
    )
    return {name: {"inputs": {n: _tensor(t) for n, t in zip(names, args, strict=True)}, "output": _tensor(out)}
            for name, names, args, out in graphs}  # fmt: skip


def release(model: ZemelModel, out: Path, meta: dict[str, Any]) -> dict[str, Any]:
    model.eval()
    graphs = export_all(model, out)
    parity = verify(model, graphs)
    (out / "parity.json").write_text(json.dumps(parity_fixture(model)) + "\n", encoding="utf-8")
    cfg = model.cfg
    manifest = {
        "manifestVersion": MANIFEST_VERSION,
        **meta,
        "head": "poly",
        "codes": cfg.poly.codes,
        "width": cfg.width,
        "text": {"dimension": cfg.context.text_dim, "maxTokens": 128, "entitySeparator": "[SEP]", "prefix": ""},
        "image": {"dimension": cfg.context.region_dim, "geometry": ["x1", "y1", "x2", "y2", "area"]},
        "generatorFeatures": list(GENERATOR_FEATURES) if cfg.candidate_features else [],
        "graphs": {
            "context": {"file": graphs.context.name, "sha256": sha256(graphs.context), "inputs": list(CONTEXT.inputs)},
            "candidate": {"file": graphs.candidate.name, "sha256": sha256(graphs.candidate),
                          "inputs": list(CANDIDATE.inputs)},
            "polyScore": {"file": graphs.poly_score.name, "sha256": sha256(graphs.poly_score),
                          "inputs": list(poly_score_spec(cfg).inputs)},
        },  # fmt: skip
        "parity": {"file": "parity.json", "maxAbsDiff": max(r.max_abs_diff for r in parity)},
    }
    (out / "linker.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def thresholds_from(summary: Path, run: str) -> dict[str, float | None]:
    """NIL thresholds per task from ``eval/zemel/score-runs.ts``'s summary.json."""
    data = json.loads(summary.read_text(encoding="utf-8"))
    for r in data["runs"]:
        if r["name"] == run:
            return {task: (v or {}).get("value") for task, v in r["thresholds"].items()}
    raise KeyError(f"run {run} not in {summary}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", type=Path)
    p.add_argument("--untrained", action="store_true", help="seeded random default model (interface work only)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--name", default="zemel-poly")
    p.add_argument("--version", default="1.0.0")
    p.add_argument("--thresholds", type=Path)
    p.add_argument("--threshold-run")
    a = p.parse_args(argv)
    torch.manual_seed(0)
    meta: dict[str, Any] = {"name": a.name, "version": a.version}
    if a.run:
        from .evaluate import load_run

        model, config = load_run(a.run)
        if config["train"]["head"] != "poly":
            p.error("only a poly run is served")
        meta["trainedRun"] = {k: config[k] for k in ("steps", "best_step", "best_dev_r1", "wall_seconds", "device")
                              if k in config}  # fmt: skip
        meta["trainConfig"] = config["train"]
    elif a.untrained:
        model = ZemelModel(ModelConfig())
        meta["untrained"] = True
    else:
        p.error("give --run or --untrained")
    meta["thresholds"] = thresholds_from(a.thresholds, a.threshold_run or a.run.name) if a.thresholds else {}
    manifest = release(model, a.out, meta)
    print(json.dumps({k: manifest[k] for k in ("name", "version", "codes", "width", "parity")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
