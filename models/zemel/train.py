"""Trains the Zemel linker on the train split's linking units (precomputed features, CPU or GPU).

    var/pyenv/bin/python -m models.zemel.train --features var/features \
        --candidates var/candidates/all-norobust.jsonl --out var/zemel-runs/<name> \
        [--head poly|bi|cross] [--codes 16] [--steps N] [--minutes M] [--batch 16] \
        [--hard-negatives 7] [--hard-pool 20] [--no-prior] [--seed 1] [--threads 2] [--tiny]

Units (``units.py``): every gold pair, lone mention and lone region of the train split, plus each
pair's mention alone and region alone (the contexts V-T-KG needs before pairing). NIL units are
not trained on (NIL is a threshold on the top score, chosen on dev).

Loss: cross-entropy per unit over its gold, K hard negatives drawn from the top ``--hard-pool`` of
**the real candidate generator's list** for that unit (run-baselines.ts --candidates-out),
restricted to train entities, and, for poly and bi, every other entity encoded in the batch
(in-batch negatives; their generator features are the ones this unit's list gives them, zeros if
the generators did not find them). Cross trains on [gold + K hard negatives] per unit only (in-batch
negatives would cost B*B joint encodings). AdamW, linear warm-up then cosine decay to 0, gradient
clipping. Stops at --steps or --minutes, whichever first; with --minutes the cosine horizon is
estimated from the first steps' speed. Dev R@1 over the dev units' generator lists (gold inserted
as the harness does) is measured at step 0 and every --eval-every steps; the best checkpoint is kept.

Output folder: ``state.pt`` (ZemelModel state_dict, loadable by ``export.py --checkpoint``),
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

from .config import ModelConfig, PolyConfig
from .data import FeatureSet, load_features
from .evaluate import (
    CandidateTable,
    candidate_batch,
    device_of,
    rank_units,
    seed_everything,
    split_entities,
    units_context,
)
from .losses import candidate_cross_entropy
from .model import ZemelModel
from .units import QueryCandidates, Unit, build_units, feature_matrix, load_candidate_lists


@dataclass(frozen=True)
class TrainConfig:
    features: str
    candidates: str
    out: str
    head: str = "poly"
    codes: int = 16
    steps: int = 100_000
    minutes: float = 0.0  # 0 = no wall-clock stop
    batch: int = 16
    hard_negatives: int = 3
    hard_pool: int = 10
    prior: bool = True
    lr: float = 3e-4
    prior_lr: float = 3e-3  # the prior's ~450 parameters learn the generators' weights fast
    prior_dropout: float = 0.0  # share of units trained with the generator evidence zeroed (issue 12)
    weight_decay: float = 0.01
    warmup: int = 50
    clip: float = 1.0
    eval_every: int = 200
    eval_limit: int = 600  # dev units scored for checkpoint selection (0 = all)
    train_split: str = "train"
    dev_split: str = "dev"
    seed: int = 1
    threads: int = 2
    device: str = "auto"  # auto = cuda when present
    tiny: bool = False


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--features", required=True)
    p.add_argument("--candidates", required=True, help="run-baselines.ts --candidates-out output")
    p.add_argument("--out", required=True)
    p.add_argument("--head", choices=("poly", "bi", "cross"), default="poly")
    p.add_argument("--codes", type=int, default=16)
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--minutes", type=float, default=0.0)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--hard-negatives", type=int, default=3)
    p.add_argument("--hard-pool", type=int, default=10)
    p.add_argument("--no-prior", dest="prior", action="store_false", help="no generator-evidence prior")
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--prior-lr", type=float, default=3e-3)
    p.add_argument("--prior-dropout", type=float, default=0.0,
                   help="share of training units whose generator evidence is zeroed, so the encoders must score alone")
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--eval-limit", type=int, default=600)
    p.add_argument("--train-split", default="train")
    p.add_argument("--dev-split", default="dev")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--tiny", action="store_true", help="ModelConfig.tiny() (tests)")
    a = p.parse_args(argv)
    cfg = TrainConfig(**{k: v for k, v in vars(a).items()})
    if cfg.head == "cross" and cfg.hard_negatives < 1:
        p.error("--head cross needs --hard-negatives >= 1")
    if cfg.steps < 1 or cfg.batch < 2:
        p.error("--steps >= 1 and --batch >= 2")
    if not 0.0 <= cfg.prior_dropout <= 1.0 or (cfg.prior_dropout and not cfg.prior):
        p.error("--prior-dropout is a share in [0, 1] and needs the prior")
    return cfg


def model_config(cfg: TrainConfig) -> ModelConfig:
    base = ModelConfig.tiny() if cfg.tiny else ModelConfig()
    return ModelConfig(context=base.context, candidate=base.candidate, cross=base.cross,
                       poly=PolyConfig(codes=cfg.codes), bi_pooling=base.bi_pooling,
                       candidate_features=base.candidate_features if cfg.prior else 0)  # fmt: skip


def lr_factor(step: int, warmup: int, horizon: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 0 at ``horizon``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, horizon - warmup))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def sample_negatives(units: list[Unit], k: int, pool: int, rng: np.random.Generator) -> list[list[str]]:
    """Per unit, k entities from the top ``pool`` of its generator list other than the gold
    (fewer when the list is short; the batch's other entities still serve as negatives)."""
    out = []
    for u in units:
        others = [e for e in u.candidates[:pool] if e != u.gold]
        if len(others) > k:
            pick = rng.choice(len(others), size=k, replace=False)
            others = [others[int(j)] for j in sorted(pick)]
        out.append(others)
    return out


def drop_prior(feats: torch.Tensor, share: float, rng: np.random.Generator) -> torch.Tensor:
    """Zeroes the generator evidence of a random ``share`` of the units ([B, K, F] rows): a region
    of a style no generator recognises reaches the model with little or no evidence, and a prior
    always present lets the encoders leave every decision to it (in-house, the model without the
    prior scored 10.9% R@1). The draw comes after the negatives' so that share 0 changes nothing."""
    if share <= 0.0:
        return feats
    dropped = torch.from_numpy(rng.random(feats.shape[0]) < share).to(feats.device)  # [B]
    return feats.masked_fill(dropped[:, None, None], 0.0)


def loss_on_batch(model: ZemelModel, features: FeatureSet, units: list[Unit], cfg: TrainConfig,
                  rng: np.random.Generator) -> torch.Tensor:  # fmt: skip
    device = device_of(model)
    negatives = sample_negatives(units, cfg.hard_negatives, cfg.hard_pool, rng)
    ctx = units_context(features, units, device)
    golds = [str(u.gold) for u in units]
    if cfg.head == "cross":
        lists = [[g, *n] for g, n in zip(golds, negatives, strict=True)]  # gold first
        width = max(len(row) for row in lists)
        padded = [row + [row[0]] * (width - len(row)) for row in lists]  # pad with the gold, masked below
        valid = torch.tensor([[j == 0 or j < len(row) for j in range(width)] for row in lists], device=device)
        prior_features = feature_matrix(units, padded).to(device) if model.prior is not None else None
        if prior_features is not None:
            prior_features = drop_prior(prior_features, cfg.prior_dropout, rng)
        scores = model.score_cross(*ctx, candidate_batch(features, padded, device), prior_features)
        labels = torch.zeros(len(units), dtype=torch.long, device=device)
        return candidate_cross_entropy(scores, labels, valid)
    unique = sorted(set(golds) | {e for row in negatives for e in row})
    vectors = model.encode_candidates(CandidateTable.collate(features, unique, device))  # [U, H]
    rows = [unique] * len(units)
    feats = feature_matrix(units, rows).to(device) if model.prior is not None else None  # [B, U, F]
    if feats is not None:
        feats = drop_prior(feats, cfg.prior_dropout, rng)
    labels = torch.tensor([unique.index(g) for g in golds], device=device)  # [B]
    expanded = vectors[None].expand(len(units), -1, -1)  # [B, U, H]
    if cfg.head == "poly":
        scores = model.score_codes(model.context_codes(*ctx), expanded, feats)  # [B, U]
    else:
        scores = model.score_vector(model.context_vector(*ctx), expanded, feats)  # [B, U]
    return candidate_cross_entropy(scores, labels)


def dev_r1(model: ZemelModel, features: FeatureSet, units: list[Unit], head: str) -> float:
    """R@1 over each dev unit's generator list with the gold inserted (model-scored when missing).
    Cross: the list's first 20 only (every candidate is a joint encoding; this is for checkpoint
    selection, not a reported number)."""
    ranked = rank_units(model, features, units, head, insert_gold=True, limit=20 if head == "cross" else 0)
    return float(np.mean([r[0][0] == u.gold for u, r in zip(units, ranked, strict=True)])) if units else 0.0


def save_checkpoint(model: ZemelModel, out: Path) -> None:
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, out / "state.pt")


def load_inputs(cfg: TrainConfig) -> tuple[FeatureSet, dict[str, QueryCandidates]]:
    return load_features(Path(cfg.features)), load_candidate_lists(Path(cfg.candidates))


def train(cfg: TrainConfig, inputs: tuple[FeatureSet, dict[str, QueryCandidates]] | None = None) -> dict[str, Any]:
    """Runs the training; returns the summary also written to config.json."""
    torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    device = torch.device("cuda" if cfg.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if cfg.device == "auto" else cfg.device))  # fmt: skip
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    features, candidates = inputs or load_inputs(cfg)
    train_ids = frozenset(features.entities[i].id for i in split_entities(features, cfg.train_split))
    units = [u for u in build_units(features, candidates, cfg.train_split, augment=True, allowed=train_ids)
             if u.gold is not None and u.gold in train_ids]  # fmt: skip
    dev_units = [u for u in build_units(features, candidates, cfg.dev_split) if u.gold is not None]
    if cfg.eval_limit:
        dev_units = [dev_units[int(i)] for i in np.random.default_rng(0).permutation(len(dev_units))[: cfg.eval_limit]]
    if len(units) < cfg.batch:
        raise ValueError(f"{len(units)} training units < batch {cfg.batch}")
    mcfg = model_config(cfg)
    model = ZemelModel(mcfg).to(device)
    named = [(n, p) for n, p in model.named_parameters() if not n.startswith("prior.")]
    decay = [p for n, p in named if p.dim() >= 2 and "codes" not in n]
    no_decay = [p for n, p in named if not (p.dim() >= 2 and "codes" not in n)]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if model.prior is not None:
        groups.append({"params": list(model.prior.parameters()), "weight_decay": 0.0, "lr": cfg.prior_lr})
    opt = torch.optim.AdamW(groups, lr=cfg.lr)
    horizon = cfg.steps
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, cfg.warmup, horizon))
    rng = np.random.default_rng(cfg.seed)
    log = (out / "metrics.jsonl").open("w", encoding="utf-8")

    def write(rec: dict[str, Any]) -> None:
        log.write(json.dumps(rec) + "\n")
        log.flush()

    summary: dict[str, Any] = {"train": asdict(cfg), "model": asdict(mcfg), "train_units": len(units),
                               "train_entities": len(train_ids), "dev_units": len(dev_units),
                               "device": str(device), "torch": torch.__version__}  # fmt: skip
    t_eval = time.perf_counter()
    best_r1 = dev_r1(model, features, dev_units, cfg.head)
    eval_seconds = time.perf_counter() - t_eval
    write({"step": 0, "dev_r1": best_r1, "eval_seconds": round(eval_seconds, 2)})
    summary["untrained_dev_r1"] = best_r1
    best_step = 0
    save_checkpoint(model, out)
    order = rng.permutation(len(units))
    cursor = 0
    start = time.perf_counter()
    train_seconds = 0.0
    losses: list[float] = []
    step = 0
    deadline = start + cfg.minutes * 60 if cfg.minutes else math.inf
    while step < horizon and time.perf_counter() < deadline:
        if cursor + cfg.batch > len(order):
            order, cursor = rng.permutation(len(units)), 0
        batch = [units[int(i)] for i in order[cursor : cursor + cfg.batch]]
        cursor += cfg.batch
        t0 = time.perf_counter()
        model.train()
        loss = loss_on_batch(model, features, batch, cfg, rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip))
        opt.step()
        sched.step()
        step += 1
        train_seconds += time.perf_counter() - t0
        losses.append(loss.item())
        if cfg.minutes and step in (10, 50, 200):
            # (Re-)estimate the cosine horizon from the speed so far: one early estimate alone was
            # 2-4x off when another job shared the CPU during the first steps.
            per_step = train_seconds / step
            evals = (deadline - time.perf_counter()) / (per_step * cfg.eval_every) + 1
            remaining = deadline - time.perf_counter() - evals * eval_seconds
            horizon = min(cfg.steps, step + max(1, int(remaining / per_step)))
            summary["horizon"] = horizon
        if step % 10 == 0 or step == 1:
            write({"step": step, "loss": float(np.mean(losses[-10:])), "lr": sched.get_last_lr()[0],
                   "grad_norm": grad_norm, "sec_per_step": train_seconds / step})  # fmt: skip
        last = step >= horizon or time.perf_counter() >= deadline
        if step % cfg.eval_every == 0 or last:
            r1 = dev_r1(model, features, dev_units, cfg.head)
            write({"step": step, "dev_r1": r1, "elapsed": round(time.perf_counter() - start, 1)})
            if r1 > best_r1:
                best_r1, best_step = r1, step
                save_checkpoint(model, out)
    log.close()
    summary.update({"steps": step, "losses_first10": losses[:10], "loss_last10": float(np.mean(losses[-10:])),
                    "sec_per_step": train_seconds / max(1, step), "wall_seconds": time.perf_counter() - start,
                    "best_step": best_step, "best_dev_r1": best_r1})  # fmt: skip
    (out / "config.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    s = train(cfg)
    print(json.dumps({k: s[k] for k in ("steps", "sec_per_step", "best_step", "best_dev_r1", "untrained_dev_r1")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
