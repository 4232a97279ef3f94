"""Issue 12, part 2: is there a style-robust image vector within reach of the frozen trunk?

Reads the serving image encoder's vectors of the cross-depiction training pool and of the held-out
sources (eval/xdep/image-features.ts), and measures on the held-out DEV source's image-only task
(query picture against every KB picture, cosine, acc@1 / acc@5):

  raw         the vectors DENSE_IMAGE uses today
  flip        plain and mirrored view averaged (test-time augmentation)
  centred     minus the pool's mean, re-normalised
  whitened    PCA whitening fitted on the pool's vectors (no labels), k components
  linear      a linear projection trained contrastively (InfoNCE) on the pool's same-concept,
              different-style pairs
  mlp         the same with one hidden layer

Pool concepts that occur in the in-house benchmark's dev or test split are left out of training, so
the in-house evaluation stays unseen too. Every choice is made on the dev source; `--test` adds the
test source's numbers for the chosen variants only (report them, choose nothing on them).

  var/pyenv/bin/python -m models.xdep.projection --features var/xdep-features --out eval-results/DATE-xdep-projection
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class Features:
    rows: list[dict]
    plain: np.ndarray  # [rows, dim], L2-normalised
    mirrored: np.ndarray  # [rows, dim], L2-normalised


def load(features_dir: Path) -> Features:
    index = json.loads((features_dir / "index.json").read_text())
    dim = index["dimension"]
    matrix = np.fromfile(features_dir / "vectors.f32", dtype=np.float32).reshape(-1, 2, dim)
    return Features(rows=index["rows"], plain=matrix[:, 0], mirrored=matrix[:, 1])


def normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def excluded_concepts(split_file: Path) -> set[str]:
    """Pool concepts of the in-house dev and test splits (emoji ids without FE0F)."""
    split = json.loads(split_file.read_text())
    held = {e for e, s in split["entities"].items() if s in ("dev", "test")}
    return {re.sub(r"-FE0F", "", e) for e in held if e.startswith("emoji:")}


def pool_indices(rows: list[dict], excluded: set[str]) -> list[int]:
    """Indices of the pool's pictures, leaving out the concepts in `excluded` (excluded_concepts)."""
    return [i for i, r in enumerate(rows) if r["set"] == "pool" and r["label"] not in excluded]


def retrieval(queries: np.ndarray, q_labels: list[str], kb: np.ndarray, kb_labels: list[str]) -> dict:
    """acc@1 / acc@5 of each query's gold among KB entities (an entity's best-matching picture)."""
    return {
        **entity_accuracy(queries @ kb.T, q_labels, kb_labels),
        "queries": int(len(queries)),
        "entities": len(set(kb_labels)),
    }


def entity_accuracy(sims: np.ndarray, q_labels: list[str], kb_labels: list[str]) -> dict:
    """acc@1 / acc@5 from any [queries, KB pictures] score matrix (an entity's best picture)."""
    entities = sorted(set(kb_labels))
    column = {e: i for i, e in enumerate(entities)}
    best = np.full((sims.shape[0], len(entities)), -np.inf, dtype=np.float32)
    for j, label in enumerate(kb_labels):
        best[:, column[label]] = np.maximum(best[:, column[label]], sims[:, j])
    order = np.argsort(-best, axis=1)
    gold = np.array([column[label] for label in q_labels])
    rank = np.argmax(order == gold[:, None], axis=1)
    return {"acc1": float(np.mean(rank < 1)), "acc5": float(np.mean(rank < 5))}


def source_sets(f: Features, source: str, view: str) -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
    vectors = f.plain if view == "plain" else normalise(f.plain + f.mirrored)
    q = [i for i, r in enumerate(f.rows) if r["set"] == source and r["role"] == "query"]
    k = [i for i, r in enumerate(f.rows) if r["set"] == source and r["role"] == "kb"]
    return vectors[q], [f.rows[i]["label"] for i in q], vectors[k], [f.rows[i]["label"] for i in k]


class Projection(torch.nn.Module):
    def __init__(self, dim: int, out: int, hidden: int | None) -> None:
        super().__init__()
        if hidden is None:
            self.net = torch.nn.Linear(dim, out, bias=False)
        else:
            self.net = torch.nn.Sequential(torch.nn.Linear(dim, hidden), torch.nn.GELU(), torch.nn.Linear(hidden, out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [n, dim] -> [n, out], L2-normalised
        return F.normalize(self.net(x), dim=-1)


def train_projection(
    pool: np.ndarray,
    pool_mirrored: np.ndarray,
    labels: list[str],
    *,
    out: int,
    hidden: int | None,
    steps: int,
    seed: int,
    temperature: float = 0.07,
    batch_concepts: int = 256,
) -> Projection:
    """A projection from random weights, trained by `info_nce_steps`."""
    torch.manual_seed(seed)
    model = Projection(pool.shape[1], out, hidden)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    for _ in info_nce_steps(
        model, optimiser, pool, pool_mirrored, labels,
        steps=steps, seed=seed, temperature=temperature, batch_concepts=batch_concepts,
    ):  # fmt: skip
        pass
    return model.eval()


def info_nce_steps(
    project: Callable[[torch.Tensor], torch.Tensor],
    optimiser: torch.optim.Optimizer,
    pool: np.ndarray,
    pool_mirrored: np.ndarray,
    labels: list[str],
    *,
    steps: int,
    seed: int,
    temperature: float,
    batch_concepts: int,
) -> Iterator[tuple[int, torch.Tensor]]:
    """InfoNCE over concepts: two pictures of one concept in different styles are positives, every
    other concept in the batch a negative; a random view (plain or mirrored) each time. `project`
    maps [n, dim] vectors to L2-normalised ones through the optimiser's parameters; yields the
    step number (from 1) and its loss after each optimiser step."""
    rng = np.random.default_rng(seed)
    by_concept: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_concept.setdefault(label, []).append(i)
    concepts = [c for c, rows in by_concept.items() if len(rows) >= 2]
    x = torch.from_numpy(np.stack([pool, pool_mirrored]))  # [2, n, dim]
    for step in range(1, steps + 1):
        chosen = rng.choice(len(concepts), size=min(batch_concepts, len(concepts)), replace=False)
        a_rows, b_rows = [], []
        for c in chosen:
            a, b = rng.choice(by_concept[concepts[c]], size=2, replace=False)
            a_rows.append(a)
            b_rows.append(b)
        views = torch.from_numpy(rng.integers(0, 2, size=(2, len(chosen))))
        za = project(x[views[0], torch.tensor(a_rows)])
        zb = project(x[views[1], torch.tensor(b_rows)])
        logits = za @ zb.T / temperature
        target = torch.arange(len(chosen))
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        yield step, loss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=Path, default=Path("var/xdep-features"))
    parser.add_argument("--split", type=Path, default=Path("eval/split.json"))
    parser.add_argument("--dev", default="wesnoth")
    parser.add_argument("--test", default=None, help="the test source, reported for the chosen variants")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=int, default=1500)
    args = parser.parse_args()
    torch.set_num_threads(2)
    started = time.time()
    f = load(args.features)
    excluded = excluded_concepts(args.split)
    pool_rows = pool_indices(f.rows, excluded)
    pool_labels = [f.rows[i]["label"] for i in pool_rows]
    pool, pool_m = f.plain[pool_rows], f.mirrored[pool_rows]
    mean = pool.mean(axis=0, keepdims=True)

    variants: dict[str, callable] = {}
    variants["raw"] = lambda x: x
    variants["centred"] = lambda x: normalise(x - mean)
    centred_pool = pool - mean
    _, s, vt = np.linalg.svd(centred_pool, full_matrices=False)
    for k in (128, 256, 512):
        w = vt[:k].T / np.maximum(s[:k], 1e-6)
        variants[f"whitened-{k}"] = lambda x, w=w: normalise((x - mean) @ w)
    trained: dict[str, Projection] = {}
    for name, hidden in (("linear-256", None), ("mlp-256", 1024)):
        t0 = time.time()
        model = train_projection(pool, pool_m, pool_labels, out=256, hidden=hidden, steps=args.steps, seed=args.seed)
        trained[name] = model
        print(f"trained {name} in {time.time() - t0:.0f} s")

        def project(x: np.ndarray, model: Projection = model) -> np.ndarray:
            with torch.no_grad():
                return model(torch.from_numpy(np.ascontiguousarray(x))).numpy()

        variants[name] = project

    results: dict[str, dict] = {}
    for view in ("plain", "flip"):
        q, ql, kb, kl = source_sets(f, args.dev, view)
        for name, fn in variants.items():
            results[f"{name}/{view}"] = {"dev": retrieval(fn(q), ql, fn(kb), kl)}
    ranking = sorted(results, key=lambda n: (-results[n]["dev"]["acc1"], -results[n]["dev"]["acc5"]))
    chosen = ranking[0]
    if args.test:
        for name in ("raw/plain", chosen):
            variant, view = name.split("/")
            q, ql, kb, kl = source_sets(f, args.test, view)
            results[name]["test"] = retrieval(variants[variant](q), ql, variants[variant](kb), kl)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "script": "models/xdep/projection.py",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "dev": args.dev,
        "test": args.test,
        "pool": {"pictures": len(pool_rows), "concepts": len(set(pool_labels)), "excludedConcepts": len(excluded)},
        "steps": args.steps,
        "seed": args.seed,
        "chosenOnDev": chosen,
        "results": results,
        "seconds": round(time.time() - started, 1),
    }
    (args.out / "projection.json").write_text(json.dumps(report, indent=2) + "\n")
    for name in ranking:
        r = results[name]
        test = f"  test acc@1 {r['test']['acc1']:.3f} acc@5 {r['test']['acc5']:.3f}" if "test" in r else ""
        print(f"{name:22s} dev acc@1 {r['dev']['acc1']:.3f} acc@5 {r['dev']['acc5']:.3f}{test}")


if __name__ == "__main__":
    main()
