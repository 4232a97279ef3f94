"""Trains the Zemel linker on the train split's gold mentions (precomputed features, CPU).

    var/pyenv/bin/python -m models.zemel.train --features var/features --out var/zemel-runs/<name> \
        [--head poly|bi|cross] [--codes 16] [--steps N] [--minutes M] [--batch 32] \
        [--hard-negatives K] [--seed 1] [--threads 2] [--eval-every 100] [--tiny]

Loss: cross-entropy over in-batch negatives (every other example's gold) plus K hard negatives per
example (poly and bi). Hard negatives: K train entities drawn from the ``--hard-pool`` entities whose
mean text token state is nearest (cosine) to the gold's, computed once before training (cheap; not
model-refreshed). Cross trains on [gold + K hard negatives] per example only (in-batch negatives
would cost B*B joint encodings). AdamW, linear warm-up then cosine decay to 0, gradient clipping.
Stops at --steps or --minutes, whichever first; with --minutes the cosine horizon is estimated from
the first steps' speed. Dev is evaluated at step 0 (untrained) and every --eval-every steps; the best
checkpoint by dev R@1 is kept.

Output folder: ``state.pt`` (ZemelModel state_dict, loadable by ``export.py --checkpoint``),
``marker.pt`` (the mention-marker vector [384], added to token states at mention positions),
``config.json`` (train + model config, best step and metrics) and ``metrics.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import EncoderConfig, ModelConfig, PolyConfig
from .data import FeatureSet, collate_candidates, collate_contexts, load_features, mention_examples
from .evaluate import EvalConfig, Linker, evaluate, nearest_by_tokens, seed_everything, split_entities, stack_candidates
from .losses import build_candidate_set, candidate_cross_entropy


@dataclass(frozen=True)
class TrainConfig:
    features: str
    out: str
    head: str = "poly"
    codes: int = 16
    steps: int = 100_000
    minutes: float = 0.0  # 0 = no wall-clock stop
    batch: int = 32
    hard_negatives: int = 2
    hard_pool: int = 10
    lr: float = 2e-4
    weight_decay: float = 0.01
    warmup: int = 50
    clip: float = 1.0
    eval_every: int = 100
    eval_limit: int = 0  # 0 = all dev mentions (cross: lists of 5 only)
    train_split: str = "train"
    dev_split: str = "dev"
    seed: int = 1
    threads: int = 2
    tiny: bool = False


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--features", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--head", choices=("poly", "bi", "cross"), default="poly")
    p.add_argument("--codes", type=int, default=16)
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--minutes", type=float, default=0.0)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--hard-negatives", type=int, default=2)
    p.add_argument("--hard-pool", type=int, default=10)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--eval-limit", type=int, default=0)
    p.add_argument("--train-split", default="train")
    p.add_argument("--dev-split", default="dev")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tiny", action="store_true", help="ModelConfig.tiny() (tests)")
    a = p.parse_args(argv)
    cfg = TrainConfig(**{k: v for k, v in vars(a).items()})
    if cfg.head == "cross" and cfg.hard_negatives < 1:
        p.error("--head cross needs --hard-negatives >= 1")
    if cfg.steps < 1 or cfg.batch < 2:
        p.error("--steps >= 1 and --batch >= 2")
    return cfg


def model_config(cfg: TrainConfig) -> ModelConfig:
    base = ModelConfig.tiny() if cfg.tiny else ModelConfig()
    return ModelConfig(context=base.context, candidate=base.candidate, cross=base.cross,
                       poly=PolyConfig(codes=cfg.codes), bi_pooling=base.bi_pooling)  # fmt: skip


def model_config_from_json(raw: dict[str, Any]) -> ModelConfig:
    return ModelConfig(
        context=EncoderConfig(**raw["context"]), candidate=EncoderConfig(**raw["candidate"]),
        cross=EncoderConfig(**raw["cross"]), poly=PolyConfig(**raw["poly"]), bi_pooling=raw["bi_pooling"],
    )  # fmt: skip


def lr_factor(step: int, warmup: int, horizon: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 0 at ``horizon``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, horizon - warmup))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


class HardNegatives:
    """K entities drawn from each train entity's ``pool`` nearest (mean token state), computed once."""

    def __init__(self, features: FeatureSet, entity_indices: list[int], pool: int, seed: int) -> None:
        self.indices = entity_indices
        self.position = {features.entities[i].id: p for p, i in enumerate(entity_indices)}
        self.neighbours = nearest_by_tokens(features, entity_indices, pool)  # [N, pool]
        self.rng = np.random.default_rng(seed + 7)

    def sample(self, gold_ids: list[str], k: int) -> list[list[int]]:
        """-> [B][k] entity indices (into FeatureSet.entities)."""
        out = []
        for g in gold_ids:
            row = self.neighbours[self.position[g]]
            pick = self.rng.choice(len(row), size=k, replace=len(row) < k)
            out.append([self.indices[int(row[j])] for j in pick])
        return out


def loss_on_batch(linker: Linker, features: FeatureSet, examples: list[Any], negs: HardNegatives,
                  cfg: TrainConfig) -> torch.Tensor:  # fmt: skip
    ctx = collate_contexts(features, examples)
    gold_ids = [str(e.gold) for e in examples]
    gold_idx = [features.entity_index[g] for g in gold_ids]
    hard = negs.sample(gold_ids, cfg.hard_negatives) if cfg.hard_negatives else [[] for _ in examples]  # [B][K]
    if cfg.head == "cross":
        ids = [[g, *h] for g, h in zip(gold_idx, hard)]  # [B][1+K], gold first
        scores = linker.score_cross(ctx, stack_candidates(features, ids))  # [B, 1+K]
        labels = torch.zeros(len(examples), dtype=torch.long)  # [B]
        return candidate_cross_entropy(scores, labels)
    unique = sorted(set(gold_idx) | {i for row in hard for i in row})
    where = {e: p for p, e in enumerate(unique)}
    vectors = linker.model.encode_candidates(collate_candidates([features.entities[i] for i in unique]))  # [U, H]
    gold_t = torch.tensor(gold_idx)  # [B]
    positives = vectors[torch.tensor([where[i] for i in gold_idx])]  # [B, H]
    hard_vectors = hard_ids = None
    if cfg.hard_negatives:
        hard_vectors = vectors[torch.tensor([[where[i] for i in row] for row in hard])]  # [B, K, H]
        hard_ids = torch.tensor(hard)  # [B, K]
    cands = build_candidate_set(positives, hard_vectors, gold_t, hard_ids)  # vectors [B, B+K, H]
    scores = linker.score_vectors(linker.context_repr(ctx, cfg.head), cands.vectors, cfg.head)  # [B, B+K]
    return candidate_cross_entropy(scores, cands.labels, cands.valid)


def dev_eval(linker: Linker, features: FeatureSet, cfg: TrainConfig) -> tuple[float, dict[str, Any]]:
    """(selection R@1, full result). poly/bi: R@1 against all dev entities; cross: R@1 on lists of 5."""
    if cfg.head == "cross":
        res = evaluate(linker, features, "cross", EvalConfig(split=cfg.dev_split, lists=(5,), limit=cfg.eval_limit or 200))
        return float(res["list5"].get("r1", 0.0)), res  # type: ignore[union-attr]
    res = evaluate(linker, features, cfg.head, EvalConfig(split=cfg.dev_split, limit=cfg.eval_limit))
    return float(res["all"].get("r1", 0.0)), res  # type: ignore[union-attr]


def save_checkpoint(linker: Linker, out: Path) -> None:
    torch.save(linker.model.state_dict(), out / "state.pt")
    torch.save(linker.marker.detach().clone(), out / "marker.pt")


def train(cfg: TrainConfig, features: FeatureSet | None = None) -> dict[str, Any]:
    """Runs the training; returns the summary also written to config.json."""
    torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    features = features or load_features(Path(cfg.features))
    train_ents = split_entities(features, cfg.train_split)
    allowed = {features.entities[i].id for i in train_ents}
    examples = [e for e in mention_examples(features, cfg.train_split) if e.gold is not None and e.gold in allowed]
    if len(examples) < cfg.batch:
        raise ValueError(f"{len(examples)} training mentions < batch {cfg.batch}")
    negs = HardNegatives(features, train_ents, max(cfg.hard_pool, cfg.hard_negatives), cfg.seed)
    mcfg = model_config(cfg)
    linker = Linker(mcfg)
    decay = [p for n, p in linker.named_parameters() if p.dim() >= 2 and "codes" not in n]
    no_decay = [p for n, p in linker.named_parameters() if not (p.dim() >= 2 and "codes" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)  # fmt: skip
    horizon = cfg.steps
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, cfg.warmup, horizon))
    rng = np.random.default_rng(cfg.seed)
    log = (out / "metrics.jsonl").open("w", encoding="utf-8")

    def write(rec: dict[str, Any]) -> None:
        log.write(json.dumps(rec) + "\n")
        log.flush()

    summary: dict[str, Any] = {"train": asdict(cfg), "model": asdict(mcfg), "train_mentions": len(examples),
                               "train_entities": len(train_ents)}  # fmt: skip
    t_eval = time.perf_counter()
    best_r1, res = dev_eval(linker, features, cfg)
    eval_seconds = time.perf_counter() - t_eval
    write({"step": 0, "dev_r1": best_r1, "dev": res, "eval_seconds": round(eval_seconds, 2)})
    summary["untrained_dev"] = res
    best_step = 0
    save_checkpoint(linker, out)
    order = rng.permutation(len(examples))
    cursor = 0
    start = time.perf_counter()
    train_seconds = 0.0
    losses: list[float] = []
    step = 0
    deadline = start + cfg.minutes * 60 if cfg.minutes else math.inf
    while step < horizon and time.perf_counter() < deadline:
        if cursor + cfg.batch > len(order):
            order, cursor = rng.permutation(len(examples)), 0
        batch = [examples[int(i)] for i in order[cursor : cursor + cfg.batch]]
        cursor += cfg.batch
        t0 = time.perf_counter()
        linker.train()
        loss = loss_on_batch(linker, features, batch, negs, cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(linker.parameters(), cfg.clip))
        opt.step()
        sched.step()
        step += 1
        train_seconds += time.perf_counter() - t0
        losses.append(loss.item())
        if cfg.minutes and step == 10:  # estimate the cosine horizon from the first steps' speed
            per_step = train_seconds / step
            evals = cfg.minutes * 60 / (per_step * cfg.eval_every) + 1
            remaining = deadline - time.perf_counter() - evals * eval_seconds
            horizon = min(cfg.steps, step + max(1, int(remaining / per_step)))
            summary["horizon"] = horizon
        if step % 10 == 0 or step == 1:
            write({"step": step, "loss": float(np.mean(losses[-10:])), "lr": sched.get_last_lr()[0],
                   "grad_norm": grad_norm, "sec_per_step": train_seconds / step})  # fmt: skip
        last = step >= horizon or time.perf_counter() >= deadline
        if step % cfg.eval_every == 0 or last:
            r1, res = dev_eval(linker, features, cfg)
            write({"step": step, "dev_r1": r1, "dev": res, "elapsed": round(time.perf_counter() - start, 1)})
            if r1 > best_r1:
                best_r1, best_step = r1, step
                save_checkpoint(linker, out)
    log.close()
    summary.update({"steps": step, "losses_first10": losses[:10], "loss_last10": float(np.mean(losses[-10:])),
                    "sec_per_step": train_seconds / max(1, step), "wall_seconds": time.perf_counter() - start,
                    "best_step": best_step, "best_dev_r1": best_r1,
                    "untrained_dev_r1": float(summary["untrained_dev"].get("all", summary["untrained_dev"].get("list5", {})).get("r1", 0.0))})  # fmt: skip
    (out / "config.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    s = train(cfg)
    print(json.dumps({k: s[k] for k in ("steps", "sec_per_step", "best_step", "best_dev_r1", "untrained_dev_r1")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
