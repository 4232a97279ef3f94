"""Scoring units with a trained (or untrained) Zemel model, and the Table 3 timing.

    var/pyenv/bin/python -m models.zemel.evaluate --run var/zemel-runs/<name> [--split dev] [--timing]

Each unit (units.py) is scored against its own list from the real candidate generator; with
``insert_gold`` the gold is added when the generator missed it (scored by the model, with zero
generator features), as the harness's protocol inserts it. This module reports R@1 / R@5 / MRR on
those lists; ``predict.py`` writes the harness's prediction files for the paper's metrics.

Timing (--timing): ms per example to score 1,000 candidates on CPU, with cached candidate vectors for
poly and bi (the context is encoded once, then scored against the 1,000 vectors) and 1,000 joint
encodings for cross (cached candidate *features*): the measure of the paper's Table 3.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .config import model_config_from_json
from .data import FeatureSet, collate_candidates, load_features
from .model import CandidateBatch, FeatureBatch, ZemelModel
from .units import Unit, build_units, collate_units, feature_matrix, load_candidate_lists

HEADS = ("poly", "bi", "cross")
Ranked = list[tuple[str, float]]  # (entity id, score), best first


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def split_entities(features: FeatureSet, split: str) -> list[int]:
    return [i for i, e in enumerate(features.entities) if e.split == split]


def _to(batch: FeatureBatch, device: torch.device, cls: type[FeatureBatch] = FeatureBatch) -> FeatureBatch:
    return cls(*(x.to(device) for x in (batch.token_states, batch.token_mask, batch.region_features,
                                        batch.region_geometry, batch.region_mask)))  # fmt: skip


class CandidateTable:
    """Entity features -> candidate-encoder batches."""

    @staticmethod
    def collate(features: FeatureSet, ids: Sequence[str], device: torch.device) -> CandidateBatch:
        batch = collate_candidates([features.entity(i) for i in ids])
        return _to(batch, device, CandidateBatch)  # type: ignore[return-value]


def candidate_batch(features: FeatureSet, ids: Sequence[Sequence[str]], device: torch.device) -> FeatureBatch:
    """ids [B][K] (equal lengths) -> a FeatureBatch with leading dims [B, K]."""
    b, k = len(ids), len(ids[0])
    flat = collate_candidates([features.entity(i) for row in ids for i in row])  # leading [B*K]

    def r(x: Tensor) -> Tensor:
        return x.reshape(b, k, *x.shape[1:]).to(device)

    return FeatureBatch(r(flat.token_states), r(flat.token_mask), r(flat.region_features),
                        r(flat.region_geometry), r(flat.region_mask))  # fmt: skip


def units_context(
    features: FeatureSet, units: Sequence[Unit], device: torch.device
) -> tuple[FeatureBatch, Tensor, Tensor]:
    """(context features, mention_mask, region_focus) on ``device``: the context-encoder inputs."""
    ctx = collate_units(features, units)
    return _to(ctx.features, device), ctx.mention_mask.to(device), ctx.region_focus.to(device)


@torch.no_grad()
def encode_entities(model: ZemelModel, features: FeatureSet, ids: Sequence[str], batch: int = 64) -> Tensor:
    """Candidate vectors of the given entity ids -> [N, H] (on the model's device)."""
    device = device_of(model)
    out = [model.encode_candidates(CandidateTable.collate(features, ids[s : s + batch], device))
           for s in range(0, len(ids), batch)]  # fmt: skip
    return torch.cat(out) if out else torch.zeros(0, model.cfg.width, device=device)


def unit_lists(units: Sequence[Unit], insert_gold: bool, limit: int = 0) -> list[list[str]]:
    """Each unit's list to score: the generator's (first ``limit`` when set), the gold appended
    when missing and ``insert_gold``."""
    out = []
    for u in units:
        row = list(u.candidates[:limit] if limit else u.candidates)
        if insert_gold and u.gold is not None and u.gold not in row:
            row.append(u.gold)
        out.append(row)
    return out


def _ranked(row: Sequence[str], scores: Tensor) -> Ranked:
    values = scores[: len(row)].tolist()
    return sorted(zip(row, values, strict=True), key=lambda p: (-p[1], p[0]))


@torch.no_grad()
def rank_units(model: ZemelModel, features: FeatureSet, units: Sequence[Unit], head: str, insert_gold: bool = False,
               batch: int = 64, limit: int = 0, vectors: dict[str, Tensor] | None = None) -> list[Ranked]:  # fmt: skip
    """Scores every unit's list; returns each list ranked best first (empty lists stay empty).
    ``vectors`` caches candidate vectors across calls (entity id -> [H])."""
    model.eval()
    device = device_of(model)
    lists = unit_lists(units, insert_gold, limit)
    out: list[Ranked] = []
    if head in ("poly", "bi"):
        cache = vectors if vectors is not None else {}
        missing = sorted({e for row in lists for e in row} - set(cache))
        for e, v in zip(missing, encode_entities(model, features, missing), strict=True):
            cache[e] = v
        for s in range(0, len(units), batch):
            chunk, rows = list(units[s : s + batch]), lists[s : s + batch]
            width = max(1, max(len(r) for r in rows))
            mat = torch.zeros(len(chunk), width, model.cfg.width, device=device)  # [B, K, H]
            for i, row in enumerate(rows):
                if row:
                    mat[i, : len(row)] = torch.stack([cache[e] for e in row])
            feats = feature_matrix(chunk, rows).to(device) if model.prior is not None else None
            if feats is not None and feats.shape[1] < width:
                feats = torch.nn.functional.pad(feats, (0, 0, 0, width - feats.shape[1]))
            ctx = units_context(features, chunk, device)
            if head == "poly":
                scores = model.score_codes(model.context_codes(*ctx), mat, feats)  # [B, K]
            else:
                scores = model.score_vector(model.context_vector(*ctx), mat, feats)  # [B, K]
            out += [_ranked(row, scores[i].cpu()) if row else [] for i, row in enumerate(rows)]
    elif head == "cross":
        for u, row in zip(units, lists, strict=True):
            if not row:
                out.append([])
                continue
            ctx = units_context(features, [u], device)
            parts = []
            for s in range(0, len(row), batch):
                part = [row[s : s + batch]]
                feats = feature_matrix([u], part).to(device) if model.prior is not None else None
                parts.append(model.score_cross(*ctx, candidate_batch(features, part, device), feats)[0])
            out.append(_ranked(row, torch.cat(parts).cpu()))
    else:
        raise ValueError(f"unknown head {head!r}")
    return out


def list_metrics(units: Sequence[Unit], ranked: Sequence[Ranked]) -> dict[str, float]:
    """R@1, R@5, MRR of the gold in each ranked list (gold absent = rank infinity)."""
    ranks = []
    for u, r in zip(units, ranked, strict=True):
        ids = [e for e, _ in r]
        ranks.append(ids.index(u.gold) + 1 if u.gold in ids else np.inf)
    a = np.array(ranks, dtype=np.float64)
    if a.size == 0:
        return {"n": 0}
    return {
        "n": int(a.size),
        "r1": float((a <= 1).mean()),
        "r5": float((a <= 5).mean()),
        "mrr": float((1.0 / a).mean()),
    }


@torch.no_grad()
def time_scoring(model: ZemelModel, features: FeatureSet, units: Sequence[Unit], heads: Sequence[str] = HEADS,
                 candidates: int = 1000, examples: int = 20, cross_examples: int = 2,
                 chunk: int = 100) -> dict[str, float]:  # fmt: skip
    """Mean ms per example to score ``candidates`` candidates, batch 1, on the current threads
    (generator features included for every candidate when the model has a prior)."""
    model.eval()
    device = device_of(model)
    rng = np.random.default_rng(0)
    pick = rng.choice(len(features.entities), size=min(candidates, len(features.entities)), replace=False)
    ids = [features.entities[int(i)].id for i in sorted(pick.tolist())]
    vectors = encode_entities(model, features, ids)[None]  # [1, K, H], cached
    cached = CandidateTable.collate(features, ids, device)  # leading [K], cached features
    out: dict[str, float] = {"candidates": float(len(ids))}
    for head in heads:
        n = cross_examples if head == "cross" else examples
        times = []
        for i, u in enumerate(units[: n + 1]):
            feats = feature_matrix([u], [ids]).to(device) if model.prior is not None else None  # [1, K, F]
            t0 = time.perf_counter()
            ctx = units_context(features, [u], device)
            if head == "cross":
                for s in range(0, len(ids), chunk):
                    part = FeatureBatch(*(x[s : s + chunk][None] for x in (
                        cached.token_states, cached.token_mask, cached.region_features,
                        cached.region_geometry, cached.region_mask)))  # fmt: skip  # leading [1, c]
                    model.score_cross(*ctx, part, feats[:, s : s + chunk] if feats is not None else None)
            elif head == "poly":
                model.score_codes(model.context_codes(*ctx), vectors, feats)  # [1, K]
            else:
                model.score_vector(model.context_vector(*ctx), vectors, feats)  # [1, K]
            if i > 0:  # the first call warms up
                times.append(time.perf_counter() - t0)
        out[f"{head}_ms"] = 1000.0 * float(np.mean(times))
    return out


def load_run(run: Path, device: str = "cpu") -> tuple[ZemelModel, dict[str, Any]]:
    """A run folder (config.json, state.pt) -> the model at its best checkpoint."""
    config = json.loads((run / "config.json").read_text(encoding="utf-8"))
    model = ZemelModel(model_config_from_json(config["model"]))
    model.load_state_dict(torch.load(run / "state.pt", map_location="cpu"))
    model.to(device).eval()
    return model, config


@dataclass(frozen=True)
class EvalConfig:
    split: str = "dev"
    limit: int = 0  # 0 = every unit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", type=Path, default=Path("var/features"))
    parser.add_argument("--candidates", type=Path, default=Path("var/candidates/all-norobust.jsonl"))
    parser.add_argument("--run", type=Path, required=True, help="a train.py output folder")
    parser.add_argument("--head", choices=HEADS, help="default: the run's head")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timing", action="store_true", help="also time scoring 1,000 candidates")
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    seed_everything(1)
    model, config = load_run(args.run)
    head = args.head or str(config["train"]["head"])
    features = load_features(args.features)
    units = [u for u in build_units(features, load_candidate_lists(args.candidates), args.split) if u.gold is not None]
    if args.limit:
        units = units[: args.limit]
    cfg = EvalConfig(split=args.split, limit=args.limit)
    t0 = time.perf_counter()
    ranked = rank_units(model, features, units, head, insert_gold=True)
    result: dict[str, Any] = {"eval": asdict(cfg), "head": head, "lists": list_metrics(units, ranked)}
    result["seconds"] = round(time.perf_counter() - t0, 2)
    if args.timing:
        result["timing"] = time_scoring(model, features, units, heads=(head,) if head != "poly" else ("poly", "bi"))
    text = json.dumps(result)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
