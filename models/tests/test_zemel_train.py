"""Smoke test of models/zemel/train.py and evaluate.py on a tiny synthetic feature set.

    var/pyenv/bin/python -m pytest models/tests/test_zemel_train.py

Writes index.json + shard-000.bin in a temp dir following eval/features/FORMAT.md (train and dev
splits, disjoint entities; var/features-fixture has only a test split, so it cannot train). Each
query's caption states carry its gold entity's mean token state plus noise, so there is a signal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "models"))

from zemel.data import collate_contexts, load_features  # noqa: E402
from zemel.evaluate import (  # noqa: E402
    EvalConfig,
    encode_entities,
    evaluate,
    gold_examples,
    load_run,
    split_entities,
    time_scoring,
)
from zemel.train import parse_args, train  # noqa: E402


def write_features(root: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    chunks: list[bytes] = []
    offset = 0

    def put(a: np.ndarray) -> dict[str, object]:
        nonlocal offset
        raw = np.ascontiguousarray(a, dtype="<f2").tobytes()
        ref = {"shard": 0, "offset": offset, "shape": list(a.shape)}
        chunks.append(raw)
        offset += len(raw)
        return ref

    entities, queries, means = [], [], {}
    for split, n in (("train", 16), ("dev", 8)):
        for i in range(n):
            eid = f"{split}:{i}"
            tokens = rng.normal(size=(int(rng.integers(4, 9)), 384)).astype(np.float32)  # [T, 384]
            means[eid] = tokens.mean(0)
            images = rng.random((int(rng.integers(0, 3)), 1280)).astype(np.float32)  # [I, 1280]
            entities.append({"id": eid, "split": split, "domain": f"d/{split}", "tokens": put(tokens),
                             "truncated": False, "images": put(images),
                             "geometry": [[0, 0, 1, 1, 1]] * images.shape[0]})  # fmt: skip
    for split, n, pool in (("train", 48, 16), ("dev", 12, 8)):
        for q in range(n):
            gold = f"{split}:{int(rng.integers(pool))}"
            t = int(rng.integers(5, 10))
            tokens = rng.normal(size=(t, 384)).astype(np.float32) * 0.5  # [T, 384]
            tokens[1:3] += 3.0 * means[gold]
            r = int(rng.integers(0, 3))
            regions = rng.random((r, 1280)).astype(np.float32)  # [R, 1280]
            mentions = [{"id": "m1", "start": 0, "end": 3, "gold": gold, "positions": [1, 2]}]
            if q % 5 == 0:
                mentions.append({"id": "m2", "start": 4, "end": 6, "gold": None, "positions": [3]})
            queries.append({
                "id": f"q-{split}-{q}", "split": split, "kind": "single", "domain": f"d/{split}",
                "tokens": put(tokens), "truncated": False, "mentions": mentions,
                "regions": [{"id": f"r{j}", "box": [0, 0, 10, 10], "gold": None,
                             "geometry": [0.1, 0.1, 0.5, 0.5, 0.16]} for j in range(r)],
                "regionFeatures": put(regions), "pairs": [],
            })  # fmt: skip
    data = b"".join(chunks)
    (root / "shard-000.bin").write_bytes(data)
    index = {"version": 1, "bundle": "synthetic", "dtype": "float16", "byteOrder": "little",
             "geometry": ["x1", "y1", "x2", "y2", "area"], "splits": ["dev", "train"],
             "shards": [{"file": "shard-000.bin", "bytes": len(data)}],
             "entities": entities, "queries": queries}  # fmt: skip
    (root / "index.json").write_text(json.dumps(index), encoding="utf-8")


@pytest.fixture(scope="module")
def features_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("features")
    write_features(root)
    return root


def _args(features: Path, out: Path, *extra: str) -> list[str]:
    return ["--features", str(features), "--out", str(out), "--tiny", "--steps", "20", "--batch", "8",
            "--hard-negatives", "2", "--hard-pool", "4", "--lr", "2e-3", "--warmup", "3",
            "--eval-every", "10", "--threads", "1", "--seed", "3", *extra]  # fmt: skip


def _losses(out: Path) -> dict[int, float]:
    recs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in recs if "loss" in r}


def test_train_reload_and_determinism(features_dir: Path, tmp_path: Path) -> None:
    fs = load_features(features_dir)
    a, b = tmp_path / "a", tmp_path / "b"
    s = train(parse_args(_args(features_dir, a)), fs)
    assert s["steps"] == 20
    losses = _losses(a)
    assert losses[20] < losses[10], losses  # mean of steps 11-20 below mean of steps 1-10
    for name in ("state.pt", "marker.pt", "config.json", "metrics.jsonl"):
        assert (a / name).exists(), name

    # the checkpoint reloads to identical scores: same dev metrics as logged at the best step
    linker, config = load_run(a)
    recs = [json.loads(line) for line in (a / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in recs if "dev" in r and r["step"] == config["best_step"]][-1]["dev"]
    again = evaluate(linker, fs, "poly", EvalConfig(split="dev"))
    assert again["all"] == logged["all"] and again["list5"] == logged["list5"]
    linker2, _ = load_run(a)
    ents = split_entities(fs, "dev")
    ctx = collate_contexts(fs, gold_examples(fs, "dev", {fs.entities[i].id for i in ents}))
    with torch.no_grad():
        v1, v2 = encode_entities(linker, fs, ents), encode_entities(linker2, fs, ents)  # [N, H]
        s1 = linker.score_vectors(linker.context_repr(ctx, "poly"), v1[None].expand(ctx.mention_mask.shape[0], -1, -1), "poly")
        s2 = linker2.score_vectors(linker2.context_repr(ctx, "poly"), v2[None].expand(ctx.mention_mask.shape[0], -1, -1), "poly")
    assert torch.equal(s1, s2)

    # same seed, same run
    train(parse_args(_args(features_dir, b)), fs)
    assert _losses(b) == losses
    sa, sb = torch.load(a / "state.pt"), torch.load(b / "state.pt")
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("head", ["bi", "cross"])
def test_other_heads_train_and_evaluate(features_dir: Path, tmp_path: Path, head: str) -> None:
    fs = load_features(features_dir)
    s = train(parse_args(_args(features_dir, tmp_path / head, "--head", head, "--steps", "4")), fs)
    assert s["steps"] == 4 and (tmp_path / head / "state.pt").exists()
    linker, _ = load_run(tmp_path / head)
    res = evaluate(linker, fs, head, EvalConfig(split="dev", lists=(5,)))
    assert res["list5"]["n"] == 12 and 0.0 <= res["list5"]["r1"] <= 1.0


def test_timing_runs(features_dir: Path, tmp_path: Path) -> None:
    fs = load_features(features_dir)
    train(parse_args(_args(features_dir, tmp_path / "t", "--steps", "1")), fs)
    linker, _ = load_run(tmp_path / "t")
    t = time_scoring(linker, fs, candidates=20, examples=2, cross_examples=1, chunk=10)
    assert t["candidates"] == 20 and all(t[f"{h}_ms"] > 0 for h in ("poly", "bi", "cross"))
