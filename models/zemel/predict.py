"""Writes a trained run's predictions in the harness format (eval/FORMAT.md) for both tasks, to be
scored by ``eval/zemel/score-runs.ts`` (which picks the NIL threshold on dev).

    var/pyenv/bin/python -m models.zemel.predict --run var/zemel-runs/poly-m16 \
        --out var/eval/zemel/poly-m16 [--splits dev,test] [--queries-per-split 0] [--timing]
    var/pyenv/bin/python -m models.zemel.predict --run RUN --out DIR --splits "" --timing   # timing only

Each unit is scored against the real candidate generator's list only (the harness inserts the gold
itself, EVAL.md); the full ranked list is written, so a gold the generator found below rank 100
keeps the model's score.

- V&T-KG: the gold pairs, lone mentions and lone regions, each with its unit's context.
- V-T-KG: the gold mention spans and gold boxes are given but not the pairs (the same
  simplification as the baselines; detection comes with linkImage). Every mention and region is
  first scored alone. Mentions and regions are then paired greedily and one-to-one by the image
  cosine between the region and the mention's best entity (plus, optionally, how much marking the
  region raises that entity's score), as many pairs as the smaller side allows; each pair is
  re-scored with both marked, and what stays unpaired is linked alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .data import FeatureSet, QueryFeatures, load_features
from .evaluate import Ranked, load_run, rank_units, time_scoring
from .model import ZemelModel
from .units import QueryCandidates, Unit, build_units, load_candidate_lists, make_unit


def _link(ranked: Ranked, mention: str | None, span: list[int] | None, region: str | None,
          box: list[float] | None) -> dict[str, Any]:  # fmt: skip
    return {
        "mention": mention, "mentionSpan": span, "region": region, "box": box,
        "candidates": [{"entity": e, "score": round(s, 6)} for e, s in ranked],
        "prediction": ranked[0][0] if ranked else None,
    }  # fmt: skip


def with_extra(unit: Unit, extra: Sequence[str]) -> Unit:
    """The unit with more entities to score (no generator found them: zero features)."""
    add = [e for e in dict.fromkeys(extra) if e not in unit.candidates]
    if not add:
        return unit
    zeros = np.zeros((len(add), unit.features.shape[1]), np.float32)
    return dataclasses.replace(unit, candidates=unit.candidates + tuple(add),
                               features=np.concatenate([unit.features, zeros]))  # fmt: skip


class Predictor:
    def __init__(self, model: ZemelModel, features: FeatureSet, candidates: dict[str, QueryCandidates],
                 head: str, pair_gain_weight: float = 0.0) -> None:  # fmt: skip
        self.model, self.features, self.candidates, self.head = model, features, candidates, head
        self.pair_gain_weight = pair_gain_weight
        self.vectors: dict[str, torch.Tensor] = {}

    def rank(self, units: Sequence[Unit]) -> list[Ranked]:
        return rank_units(self.model, self.features, units, self.head, vectors=self.vectors)

    def vt_kg_known_pairs(self, qi: int) -> dict[str, Any]:
        """V&T-KG line of one query."""
        q = self.features.queries[qi]
        units = build_units_of_query(self.features, self.candidates, qi)
        links = []
        for u, r in zip(units, self.rank(units), strict=True):
            links.append(_link(r, q.mentions[u.mention].id if u.mention is not None else None, None,
                               q.regions[u.region].id if u.region is not None else None, None))  # fmt: skip
        return {"query": q.id, "task": "V&T-KG", "links": links}

    def vt_kg_aligned(self, qi: int) -> dict[str, Any]:
        """V-T-KG line of one query: score alone, pair, re-score pairs."""
        q = self.features.queries[qi]
        qc = self.candidates[q.id]
        lone_m = [make_unit(qi, qc, mi, None, m.gold) for mi, m in enumerate(q.mentions)]
        ranked_m = self.rank(lone_m)
        tops = [r[0][0] for r in ranked_m if r]
        lone_r = [with_extra(make_unit(qi, qc, None, ri, r.gold), tops) for ri, r in enumerate(q.regions)]
        ranked_r = self.rank(lone_r)
        # Affinity of mention m and region r: the image encoder's cosine between the region and
        # the mention's best entity (its DENSE_IMAGE hit, 0 when the region's list lacks it),
        # plus PAIR_GAIN_WEIGHT times how much marking r as well raises that entity's score (the
        # pair context against the mention alone). Greedy one-to-one by affinity, as many pairs
        # as the smaller side allows; the leftovers (distractor regions, mentions of things not
        # shown) stay alone. Chosen on dev scenes (EVAL.md).
        options = []  # (affinity, mention, region)
        trials = [(mi, ri) for mi, rm in enumerate(ranked_m) if rm for ri in range(len(q.regions))]
        tops_of = {mi: ranked_m[mi][0] for mi, _ in trials}
        gains: list[Ranked] = [[] for _ in trials]  # the pair contexts are only scored when weighted
        if self.pair_gain_weight:
            gains = self.rank([with_extra(make_unit(qi, qc, mi, ri, None), [tops_of[mi][0]]) for mi, ri in trials])
        for (mi, ri), ranked in zip(trials, gains, strict=True):
            best, alone = tops_of[mi]
            cosine = qc.region_hits[ri].get(best, {}).get("DENSE_IMAGE", 0.0)
            gain = dict(ranked)[best] - alone if ranked else 0.0
            options.append((cosine + self.pair_gain_weight * gain, mi, ri))
        pairs: list[tuple[int, int]] = []
        used_m: set[int] = set()
        used_r: set[int] = set()
        for _, mi, ri in sorted(options, key=lambda o: (-o[0], o[1], o[2])):
            if mi not in used_m and ri not in used_r:
                pairs.append((mi, ri))
                used_m.add(mi)
                used_r.add(ri)
        pair_units = [make_unit(qi, qc, mi, ri, None) for mi, ri in pairs]
        links = []
        span = lambda m: [q.mentions[m].start, q.mentions[m].end]  # noqa: E731
        box = lambda r: list(q.regions[r].box)  # noqa: E731
        for (mi, ri), r in zip(pairs, self.rank(pair_units), strict=True):
            links.append(_link(r, None, span(mi), None, box(ri)))
        for mi, r in enumerate(ranked_m):
            if mi not in used_m:
                links.append(_link(r, None, span(mi), None, None))
        for ri, r in enumerate(ranked_r):
            if ri not in used_r:
                own = set(lone_r[ri].candidates[: len(qc.regions[ri])])  # drop the extra entities again
                links.append(_link([p for p in r if p[0] in own], None, None, None, box(ri)))
        return {"query": q.id, "task": "VT-KG", "links": links}


def build_units_of_query(features: FeatureSet, candidates: dict[str, QueryCandidates], qi: int) -> list[Unit]:
    q: QueryFeatures = features.queries[qi]
    return build_units(features, candidates, q.split, only_query=qi)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", type=Path, required=True)
    p.add_argument("--features", type=Path, default=Path("var/features"))
    p.add_argument("--candidates", type=Path, default=Path("var/candidates/all-norobust.jsonl"))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--splits", default="dev,test")
    p.add_argument("--queries-per-split", type=int, default=0, help="a seeded sample of N queries per split (0 = all)")
    p.add_argument("--pair-gain-weight", type=float, default=0.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--timing", action="store_true",
                   help="Table 3: ms per example with 1,000 candidates, to timing.json (--splits '' for only this)")
    p.add_argument("--title")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    model, config = load_run(a.run)
    head = str(config["train"]["head"])
    features = load_features(a.features)
    candidates = load_candidate_lists(a.candidates)
    predictor = Predictor(model, features, candidates, head, a.pair_gain_weight)
    a.out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    for split in [s for s in a.splits.split(",") if s]:
        indices = [i for i, q in enumerate(features.queries) if q.split == split]
        if a.queries_per_split:
            pick = np.random.default_rng(1).permutation(len(indices))[: a.queries_per_split]
            indices = [indices[int(i)] for i in sorted(pick)]
        t0 = time.perf_counter()
        with (a.out / f"{split}.jsonl").open("w", encoding="utf-8") as f:
            for qi in indices:
                f.write(json.dumps(predictor.vt_kg_known_pairs(qi)) + "\n")
                f.write(json.dumps(predictor.vt_kg_aligned(qi)) + "\n")
        seconds[split] = round(time.perf_counter() - t0, 1)
    train = config["train"]
    codes = int(config["model"]["poly"]["codes"])
    prior = bool(config["model"].get("candidate_features", 0))
    name = {"poly": f"Poly (m = {codes})", "bi": "Bi", "cross": "Cross"}[head]
    title = a.title or name + ("" if prior else ", no prior")
    run: dict[str, Any] = {"title": title, "head": head, "codes": codes if head == "poly" else None, "prior": prior,
                           "steps": config.get("steps"), "bestStep": config.get("best_step"),
                           "trainSeconds": round(float(config.get("wall_seconds", 0.0)), 1),
                           "secondsPerStep": round(float(config.get("sec_per_step", 0.0)), 3),
                           "bestDevR1Lists": config.get("best_dev_r1"), "seed": train.get("seed"),
                           "predictSeconds": seconds, "queriesPerSplit": a.queries_per_split or None}  # fmt: skip
    if a.timing:  # its own file: a timing-only call (--splits "") must not overwrite run.json
        units = [u for u in build_units(features, candidates, "test") if u.gold is not None]
        timing = {"head": head, "threads": a.threads, **time_scoring(model, features, units, heads=(head,))}
        (a.out / "timing.json").write_text(json.dumps(timing, indent=1) + "\n", encoding="utf-8")
    if a.splits:
        (a.out / "run.json").write_text(json.dumps(run, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
