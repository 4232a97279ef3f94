"""ONNX export of the three serving graphs, and their check against PyTorch in ONNX Runtime.

    var/pyenv/bin/python -m models.zemel.export --out var/zemel-onnx [--run RUN_DIR | --checkpoint state.pt] [--tiny]

Graphs (opset 17, dynamic batch / sequence / region / candidate axes; masks int64, nonzero = real):
  context_codes.onnx    token_states [B,T,384], token_mask [B,T], mention_mask [B,T],
                        region_features [B,R,1280], region_geometry [B,R,5], region_mask [B,R],
                        region_focus [B,R]                                   -> context_codes [B,m,H]
  candidate.onnx        token_states [B,T,384], token_mask [B,T], image_features [B,I,1280],
                        image_geometry [B,I,5], image_mask [B,I]            -> candidate_vector [B,H]
  poly_score.onnx       context_codes [B,m,H], candidate_vectors [B,K,H],
                        candidate_features [B,K,F] (F = 12, units.GENERATOR_FEATURES; only when
                        the model has a generator prior)                    -> scores [B,K]

Region convention: R = 0 (a zero-length axis) is verified to work in ONNX Runtime; padding with
one all-zero region of mask 0 gives the same outputs, so callers may use either.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from .config import ModelConfig
from .model import FeatureBatch, ZemelModel

OPSET = 17
TOLERANCE = 1e-4


@dataclass(frozen=True)
class GraphSpec:
    """Names and dynamic axes of one exported graph."""

    file: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    dynamic: tuple[tuple[str, tuple[tuple[int, str], ...]], ...]

    def dynamic_axes(self) -> dict[str, dict[int, str]]:
        return {name: dict(axes) for name, axes in self.dynamic}


CONTEXT = GraphSpec(
    file="context_codes.onnx",
    inputs=("token_states", "token_mask", "mention_mask", "region_features", "region_geometry", "region_mask",
            "region_focus"),
    outputs=("context_codes",),
    dynamic=(
        ("token_states", ((0, "batch"), (1, "tokens"))),
        ("token_mask", ((0, "batch"), (1, "tokens"))),
        ("mention_mask", ((0, "batch"), (1, "tokens"))),
        ("region_features", ((0, "batch"), (1, "regions"))),
        ("region_geometry", ((0, "batch"), (1, "regions"))),
        ("region_mask", ((0, "batch"), (1, "regions"))),
        ("region_focus", ((0, "batch"), (1, "regions"))),
        ("context_codes", ((0, "batch"),)),
    ),
)
CANDIDATE = GraphSpec(
    file="candidate.onnx",
    inputs=("token_states", "token_mask", "image_features", "image_geometry", "image_mask"),
    outputs=("candidate_vector",),
    dynamic=(
        ("token_states", ((0, "batch"), (1, "tokens"))),
        ("token_mask", ((0, "batch"), (1, "tokens"))),
        ("image_features", ((0, "batch"), (1, "images"))),
        ("image_geometry", ((0, "batch"), (1, "images"))),
        ("image_mask", ((0, "batch"), (1, "images"))),
        ("candidate_vector", ((0, "batch"),)),
    ),
)
POLY_SCORE = GraphSpec(
    file="poly_score.onnx",
    inputs=("context_codes", "candidate_vectors", "candidate_features"),
    outputs=("scores",),
    dynamic=(
        ("context_codes", ((0, "batch"),)),
        ("candidate_vectors", ((0, "batch"), (1, "candidates"))),
        ("candidate_features", ((0, "batch"), (1, "candidates"))),
        ("scores", ((0, "batch"), (1, "candidates"))),
    ),
)
POLY_SCORE_NO_PRIOR = GraphSpec(
    file=POLY_SCORE.file,
    inputs=POLY_SCORE.inputs[:2],
    outputs=POLY_SCORE.outputs,
    dynamic=tuple(d for d in POLY_SCORE.dynamic if d[0] != "candidate_features"),
)


def poly_score_spec(cfg: ModelConfig) -> GraphSpec:
    return POLY_SCORE if cfg.candidate_features else POLY_SCORE_NO_PRIOR


class ContextCodesGraph(nn.Module):
    """Context encoder + poly codes: the per-mention half of poly-linking."""

    def __init__(self, model: ZemelModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, token_states: Tensor, token_mask: Tensor, mention_mask: Tensor, region_features: Tensor,
                region_geometry: Tensor, region_mask: Tensor, region_focus: Tensor) -> Tensor:  # fmt: skip
        batch = FeatureBatch(token_states, token_mask, region_features, region_geometry, region_mask)
        return self.model.context_codes(batch, mention_mask, region_focus)  # [B, m, H]


class CandidateGraph(nn.Module):
    """Candidate encoder: the vector cached on each entity node."""

    def __init__(self, model: ZemelModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, token_states: Tensor, token_mask: Tensor, image_features: Tensor,
                image_geometry: Tensor, image_mask: Tensor) -> Tensor:  # fmt: skip
        batch = FeatureBatch(token_states, token_mask, image_features, image_geometry, image_mask)
        return self.model.encode_candidates(batch)  # [B, H]


class PolyScoreGraph(nn.Module):
    """Poly scoring of cached candidate vectors against the context codes, plus the generator
    prior (its only parameters) when the model has one."""

    def __init__(self, model: ZemelModel) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, context_codes: Tensor, candidate_vectors: Tensor, candidate_features: Tensor | None = None
    ) -> Tensor:
        return self.model.score_codes(context_codes, candidate_vectors, candidate_features)  # [B, K]


def feature_inputs(cfg: ModelConfig, batch: int, tokens: int, regions: int, seed: int) -> tuple[Tensor, ...]:
    """Random features with ragged int64 masks (every row keeps token 0; region rows may be empty)."""
    g = torch.Generator().manual_seed(seed)
    enc = cfg.context
    token_states = torch.randn(batch, tokens, enc.text_dim, generator=g)  # [B, T, 384]
    token_len = torch.randint(1, tokens + 1, (batch,), generator=g)  # [B]
    token_mask = (torch.arange(tokens)[None] < token_len[:, None]).long()  # [B, T]
    region_features = torch.rand(batch, regions, enc.region_dim, generator=g) * 3  # [B, R, 1280], ReLU6-like
    xy = torch.rand(batch, regions, 2, 2, generator=g).sort(dim=2).values  # [B, R, (lo, hi), (x, y)]
    area = ((xy[:, :, 1, 0] - xy[:, :, 0, 0]) * (xy[:, :, 1, 1] - xy[:, :, 0, 1]))[..., None]  # [B, R, 1]
    region_geometry = torch.cat([xy[:, :, 0], xy[:, :, 1], area], dim=-1)  # [B, R, 5]
    region_len = torch.randint(0, regions + 1, (batch,), generator=g)  # [B]
    region_mask = (torch.arange(regions)[None] < region_len[:, None]).long()  # [B, R]
    return token_states, token_mask, region_features, region_geometry, region_mask


def context_inputs(cfg: ModelConfig, batch: int, tokens: int, regions: int, seed: int) -> tuple[Tensor, ...]:
    """feature_inputs plus markers, in CONTEXT.inputs order: a random mention span inside the
    real tokens and, where a row has regions, one region in focus."""
    token_states, token_mask, region_features, region_geometry, region_mask = feature_inputs(
        cfg, batch, tokens, regions, seed
    )
    g = torch.Generator().manual_seed(seed + 1)
    mention_mask = ((torch.rand(batch, tokens, generator=g) < 0.3).long() * token_mask)  # [B, T]
    focus_at = torch.randint(0, max(1, regions), (batch,), generator=g)  # [B]
    region_focus = (torch.arange(regions)[None] == focus_at[:, None]).long() * region_mask  # [B, R]
    return token_states, token_mask, mention_mask, region_features, region_geometry, region_mask, region_focus


def _export(module: nn.Module, args: tuple[Tensor, ...], spec: GraphSpec, out_dir: Path) -> Path:
    target = out_dir / spec.file
    module.eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter is deliberate
        warnings.simplefilter("error", torch.jit.TracerWarning)  # a traced constant breaks dynamic axes
        torch.onnx.export(
            module,
            args,
            str(target),
            dynamo=False,  # the TorchScript exporter: no onnxscript in the pinned environment
            input_names=list(spec.inputs),
            output_names=list(spec.outputs),
            dynamic_axes=spec.dynamic_axes(),
            opset_version=OPSET,
            do_constant_folding=True,
        )
    return target


@dataclass(frozen=True)
class ExportedGraphs:
    context: Path
    candidate: Path
    poly_score: Path


def export_all(model: ZemelModel, out_dir: Path) -> ExportedGraphs:
    """Export the three graphs. Trace shapes differ on every axis (B=2, T=5, R=3, K=4) so no
    axis can be constant-folded by accident."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model.eval()
    cfg = model.cfg
    ctx_args = context_inputs(cfg, batch=2, tokens=5, regions=3, seed=0)
    cand_args = feature_inputs(cfg, batch=2, tokens=6, regions=2, seed=1)
    return ExportedGraphs(
        context=_export(ContextCodesGraph(model), ctx_args, CONTEXT, out_dir),
        candidate=_export(CandidateGraph(model), cand_args, CANDIDATE, out_dir),
        poly_score=_export(PolyScoreGraph(model), score_inputs(cfg, 2, 4, seed=2), poly_score_spec(cfg), out_dir),
    )


def score_inputs(cfg: ModelConfig, batch: int, candidates: int, seed: int) -> tuple[Tensor, ...]:
    """Random codes [B, m, H], vectors [B, K, H] (~LayerNorm scale) and, with a prior, generator
    features [B, K, F] (scores in [0, 1] with their found flags)."""
    g = torch.Generator().manual_seed(seed)
    codes = torch.randn(batch, cfg.poly.codes, cfg.width, generator=g)
    vectors = torch.randn(batch, candidates, cfg.width, generator=g)
    if not cfg.candidate_features:
        return codes, vectors
    half = cfg.candidate_features // 2
    found = (torch.rand(batch, candidates, half, generator=g) < 0.4).float()
    scores = torch.rand(batch, candidates, half, generator=g) * found
    return codes, vectors, torch.cat([scores, found], dim=-1)


def run_onnx(path: Path, names: tuple[str, ...], args: tuple[Tensor, ...]) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {n: a.numpy() for n, a in zip(names, args, strict=True)})[0]


@dataclass(frozen=True)
class ParityResult:
    graph: str
    shape: tuple[int, ...]  # (batch, tokens, regions), or (batch, candidates) for poly_score
    max_abs_diff: float


def verify(model: ZemelModel, graphs: ExportedGraphs,
           shapes: tuple[tuple[int, int, int], ...] = ((1, 1, 0), (3, 7, 4), (2, 12, 1), (4, 3, 9))
           ) -> list[ParityResult]:  # fmt: skip
    """Compare ORT with PyTorch on random inputs of several (batch, tokens, regions) shapes,
    R = 0 included; raises AssertionError beyond TOLERANCE."""
    model.eval()
    results: list[ParityResult] = []
    cfg = model.cfg
    with torch.no_grad():
        for i, (b, t, r) in enumerate(shapes):
            args = feature_inputs(cfg, b, t, r, seed=100 + i)
            ctx_args = context_inputs(cfg, b, t, r, seed=100 + i)
            k = t + r + 1
            score_args = score_inputs(cfg, b, k, seed=200 + i)
            checks = [
                ("context", (b, t, r), graphs.context, CONTEXT, ctx_args, ContextCodesGraph(model)(*ctx_args)),
                ("candidate", (b, t, r), graphs.candidate, CANDIDATE, args, CandidateGraph(model)(*args)),
                ("poly_score", (b, k), graphs.poly_score, poly_score_spec(cfg), score_args,
                 PolyScoreGraph(model)(*score_args)),
            ]  # fmt: skip
            for name, shape, path, spec, inputs, expected in checks:
                got = run_onnx(path, spec.inputs, inputs)
                diff = float(np.abs(got - expected.numpy()).max()) if got.size else 0.0
                assert got.shape == tuple(expected.shape), (name, got.shape, tuple(expected.shape))
                assert np.isfinite(got).all(), name
                assert diff <= TOLERANCE, f"{name} at {(b, t, r)}: max |diff| {diff:.2e} > {TOLERANCE}"
                results.append(ParityResult(name, shape, diff))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--run", type=Path, help="a train.py output folder (its config.json and state.pt)")
    parser.add_argument("--checkpoint", type=Path, help="a default-config state_dict (default: random)")
    parser.add_argument("--tiny", action="store_true", help="ModelConfig.tiny() instead of the default")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    if args.run:
        from .evaluate import load_run

        model, _ = load_run(args.run)
    else:
        model = ZemelModel(ModelConfig.tiny() if args.tiny else ModelConfig())
    if args.checkpoint:
        model.load_state_dict(torch.load(args.checkpoint, map_location="cpu"))
    graphs = export_all(model, args.out)
    for r in verify(model, graphs):
        print(f"{r.graph:<11} {str(r.shape):<16} max|diff| {r.max_abs_diff:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
