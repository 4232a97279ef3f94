"""Evaluation of a trained (or untrained) Zemel linker on one split, and the Table 3 timing.

    var/pyenv/bin/python -m models.zemel.evaluate --run var/zemel-runs/<name> [--split dev] [--threads 2]
    var/pyenv/bin/python -m models.zemel.evaluate --untrained [--head poly] [--codes 16] [--seed 1] ...

For a split: every entity of the split is encoded once with the candidate encoder; each non-NIL
gold mention (gold among the split's entities) is scored against
  (a) all entities of the split, and
  (b) candidate lists of 5 and 100: the gold plus the k-1 entities of the split nearest to the gold
      by cosine of the mean text token state (model-independent, so poly, bi and cross see the same
      lists). Lists "gold + nearest others by the evaluated model's own score" would make R@1 on the
      list identical to R@1 over all entities (and R@5 on a list of 5 trivially 1), so they measure
      nothing; see README.md. A real candidate generator's lists are the next step.
Reports R@1, R@5 and MRR (rank = 1 + number of candidates scored strictly above the gold).

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

import numpy as np
import torch
from torch import Tensor, nn

from .config import ModelConfig
from .data import (
    ContextExamples,
    FeatureSet,
    MentionExample,
    collate_candidates,
    collate_contexts,
    load_features,
    mention_examples,
)
from .model import ContextBatch, FeatureBatch, ZemelModel, poly_score

HEADS = ("poly", "bi", "cross")


class Linker(nn.Module):
    """ZemelModel plus the learned mention-marker embedding that ``data.py`` promises: a [text_dim]
    vector added to the frozen encoder's token states at the mention's positions, before the
    context encoder (the ONNX context graph takes token states, so the service can add it too)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.model = ZemelModel(cfg)
        self.marker = nn.Parameter(torch.randn(cfg.context.text_dim) * 0.1)  # [384]

    def mark(self, ctx: ContextExamples) -> ContextBatch:
        f = ctx.features
        marked = f.token_states + ctx.mention_mask[..., None].to(f.token_states.dtype) * self.marker  # [B, T, 384]
        return ContextBatch(marked, f.token_mask, f.region_features, f.region_geometry, f.region_mask)

    def context_repr(self, ctx: ContextExamples, head: str) -> Tensor:
        """poly: codes [B, m, H]; bi: one vector [B, H]."""
        feats = self.mark(ctx)
        if head == "poly":
            return self.model.context_codes(feats)  # [B, m, H]
        if head == "bi":
            return self.model.bi.context_vector(self.model.context_encoder(feats))  # [B, H]
        raise ValueError(f"no cached-vector context for head {head!r}")

    def score_vectors(self, rep: Tensor, vectors: Tensor, head: str) -> Tensor:
        """rep from context_repr; vectors [B, K, H] -> scores [B, K]."""
        if head == "poly":
            return poly_score(rep, vectors, self.model.cfg.width)  # [B, K]
        return (rep[:, None, :] * vectors).sum(-1)  # [B, K]

    def score_cross(self, ctx: ContextExamples, candidates: FeatureBatch) -> Tensor:
        """candidates with leading dims [B, K] -> scores [B, K]."""
        return self.model.score_cross(self.mark(ctx), candidates)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def stack_candidates(features: FeatureSet, ids: Sequence[Sequence[int]]) -> FeatureBatch:
    """ids [B][K] entity indices -> a FeatureBatch with leading dims [B, K]."""
    b, k = len(ids), len(ids[0])
    flat = collate_candidates([features.entities[i] for row in ids for i in row])  # leading [B*K]

    def r(x: Tensor) -> Tensor:
        return x.reshape(b, k, *x.shape[1:])

    return FeatureBatch(r(flat.token_states), r(flat.token_mask), r(flat.region_features),
                        r(flat.region_geometry), r(flat.region_mask))  # fmt: skip


def mean_token_vectors(features: FeatureSet, indices: Sequence[int]) -> np.ndarray:
    """L2-normalised mean text token state of each entity -> [N, 384] float32."""
    out = np.stack([features.entities[i].token_states.astype(np.float32).mean(0) for i in indices])  # [N, 384]
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-8)


def nearest_by_tokens(features: FeatureSet, indices: Sequence[int], k: int) -> np.ndarray:
    """For each entity of ``indices``, the positions (into ``indices``) of its k nearest others
    by mean-token-state cosine -> [N, k] int64, nearest first."""
    v = mean_token_vectors(features, indices)  # [N, 384]
    sim = v @ v.T  # [N, N]
    np.fill_diagonal(sim, -np.inf)
    k = min(k, len(indices) - 1)
    return np.argsort(-sim, axis=1, kind="stable")[:, :k]  # [N, k]


@torch.no_grad()
def encode_entities(linker: Linker, features: FeatureSet, indices: Sequence[int], batch: int = 64) -> Tensor:
    """Candidate vectors of the given entities -> [N, H]."""
    out = [linker.model.encode_candidates(collate_candidates([features.entities[i] for i in indices[s : s + batch]]))
           for s in range(0, len(indices), batch)]  # fmt: skip
    return torch.cat(out)  # [N, H]


def split_entities(features: FeatureSet, split: str) -> list[int]:
    return [i for i, e in enumerate(features.entities) if e.split == split]


def gold_examples(features: FeatureSet, split: str, allowed: set[str]) -> list[MentionExample]:
    """Non-NIL gold mentions of a split whose gold is among ``allowed`` entity ids."""
    return [e for e in mention_examples(features, split) if e.gold is not None and e.gold in allowed]


def ranks_to_metrics(ranks: np.ndarray) -> dict[str, float]:
    if ranks.size == 0:
        return {"n": 0}
    return {"n": int(ranks.size), "r1": float((ranks <= 1).mean()), "r5": float((ranks <= 5).mean()),
            "mrr": float((1.0 / ranks).mean())}  # fmt: skip


@dataclass(frozen=True)
class EvalConfig:
    split: str = "dev"
    lists: tuple[int, ...] = (5, 100)
    limit: int = 0  # 0 = every mention; else the first N (cross is expensive)
    batch: int = 64
    full: bool = True  # (a): against all entities of the split (poly/bi only)


@torch.no_grad()
def evaluate(linker: Linker, features: FeatureSet, head: str, cfg: EvalConfig = EvalConfig()) -> dict[str, object]:
    """R@1, R@5, MRR of ``head`` on a split: against all its entities and on candidate lists."""
    linker.eval()
    ents = split_entities(features, cfg.split)
    pos = {features.entities[i].id: p for p, i in enumerate(ents)}
    examples = gold_examples(features, cfg.split, set(pos))
    if cfg.limit:
        examples = examples[: cfg.limit]
    gold_pos = np.array([pos[e.gold] for e in examples], dtype=np.int64)  # [M]
    kmax = max(cfg.lists) - 1 if cfg.lists else 0
    neighbours = nearest_by_tokens(features, ents, kmax) if kmax else np.zeros((len(ents), 0), np.int64)
    result: dict[str, object] = {"split": cfg.split, "head": head, "entities": len(ents), "mentions": len(examples)}
    list_ranks: dict[int, list[float]] = {k: [] for k in cfg.lists}
    if head in ("poly", "bi"):
        vectors = encode_entities(linker, features, ents, cfg.batch)  # [N, H]
        full_ranks: list[float] = []
        for s in range(0, len(examples), cfg.batch):
            chunk = examples[s : s + cfg.batch]
            rep = linker.context_repr(collate_contexts(features, chunk), head)  # [B, m, H] or [B, H]
            scores = linker.score_vectors(rep, vectors[None].expand(len(chunk), -1, -1), head)  # [B, N]
            g = torch.from_numpy(gold_pos[s : s + len(chunk)])  # [B]
            gold_score = scores.gather(1, g[:, None])  # [B, 1]
            full_ranks += (1 + (scores > gold_score).sum(1)).tolist()
            for k in cfg.lists:
                idx = torch.from_numpy(neighbours[gold_pos[s : s + len(chunk)], : k - 1])  # [B, k-1]
                others = scores.gather(1, idx)  # [B, k-1]
                list_ranks[k] += (1 + (others > gold_score).sum(1)).tolist()
        if cfg.full:
            result["all"] = ranks_to_metrics(np.array(full_ranks, dtype=np.float64))
    elif head == "cross":
        for k in cfg.lists:
            ranks: list[float] = []
            per = max(1, cfg.batch // k)  # mentions per forward pass
            for s in range(0, len(examples), per):
                chunk = examples[s : s + per]
                gp = gold_pos[s : s + len(chunk)]
                ids = [[ents[g]] + [ents[n] for n in neighbours[g, : k - 1]] for g in gp]  # [B][k], gold first
                scores = linker.score_cross(collate_contexts(features, chunk), stack_candidates(features, ids))  # [B, k]
                ranks += (1 + (scores[:, 1:] > scores[:, :1]).sum(1)).tolist()
            list_ranks[k] = ranks
    else:
        raise ValueError(f"unknown head {head!r}")
    for k in cfg.lists:
        result[f"list{k}"] = ranks_to_metrics(np.array(list_ranks[k], dtype=np.float64))
    return result


@torch.no_grad()
def time_scoring(linker: Linker, features: FeatureSet, heads: Sequence[str] = HEADS, candidates: int = 1000,
                 examples: int = 20, cross_examples: int = 2, chunk: int = 100) -> dict[str, float]:  # fmt: skip
    """Mean ms per example to score ``candidates`` candidates, batch 1, on the current threads."""
    linker.eval()
    rng = np.random.default_rng(0)
    cand = sorted(rng.choice(len(features.entities), size=min(candidates, len(features.entities)), replace=False).tolist())
    vectors = encode_entities(linker, features, cand)[None]  # [1, K, H], cached
    cached = collate_candidates([features.entities[i] for i in cand])  # leading [K], cached features
    exs = [e for e in mention_examples(features) if e.gold is not None]
    out: dict[str, float] = {"candidates": float(len(cand))}
    for head in heads:
        n = cross_examples if head == "cross" else examples
        ctxs = [collate_contexts(features, [e]) for e in exs[: n + 1]]
        times = []
        for i, ctx in enumerate(ctxs):
            t0 = time.perf_counter()
            if head == "cross":
                for s in range(0, len(cand), chunk):
                    part = FeatureBatch(*(x[s : s + chunk][None] for x in (
                        cached.token_states, cached.token_mask, cached.region_features,
                        cached.region_geometry, cached.region_mask)))  # fmt: skip  # leading [1, c]
                    linker.score_cross(ctx, part)  # [1, c]
            else:
                linker.score_vectors(linker.context_repr(ctx, head), vectors, head)  # [1, K]
            if i > 0:  # the first call warms up
                times.append(time.perf_counter() - t0)
        out[f"{head}_ms"] = 1000.0 * float(np.mean(times))
    return out


def load_run(run: Path) -> tuple[Linker, dict[str, object]]:
    """A run folder (config.json, state.pt, marker.pt) -> the linker at its best checkpoint."""
    from .train import model_config_from_json

    config = json.loads((run / "config.json").read_text(encoding="utf-8"))
    linker = Linker(model_config_from_json(config["model"]))
    linker.model.load_state_dict(torch.load(run / "state.pt", map_location="cpu"))
    linker.marker.data.copy_(torch.load(run / "marker.pt", map_location="cpu"))
    linker.eval()
    return linker, config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", type=Path, default=Path("var/features"))
    parser.add_argument("--run", type=Path, help="a train.py output folder")
    parser.add_argument("--untrained", action="store_true", help="a freshly initialised model (seeded)")
    parser.add_argument("--head", choices=HEADS, help="default: the run's head (poly when untrained)")
    parser.add_argument("--codes", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timing", action="store_true", help="also time scoring 1,000 candidates (poly/bi/cross)")
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    if args.run:
        linker, config = load_run(args.run)
        head = args.head or str(config["train"]["head"])  # type: ignore[index]
    elif args.untrained:
        from .config import PolyConfig

        linker = Linker(ModelConfig(poly=PolyConfig(codes=args.codes)))
        head = args.head or "poly"
    else:
        parser.error("give --run or --untrained")
    features = load_features(args.features)
    cfg = EvalConfig(split=args.split, limit=args.limit)
    t0 = time.perf_counter()
    result: dict[str, object] = {"eval": asdict(cfg), **evaluate(linker, features, head, cfg)}
    result["seconds"] = round(time.perf_counter() - t0, 2)
    if args.timing:
        result["timing"] = time_scoring(linker, features)
    text = json.dumps(result)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
