"""Smoke tests of models/zemel/train.py, evaluate.py and predict.py on a tiny synthetic feature set.

    var/pyenv/bin/python -m pytest -q models/tests/test_zemel_train.py

Writes index.json + shard-000.bin in a temp dir following eval/features/FORMAT.md (train and dev
splits, disjoint entities; var/features-fixture has only a test split, so it cannot train), and
the candidate lists of every query as ``run-baselines.ts --candidates-out`` writes them. Each
query's caption states carry its gold entity's mean token state plus noise, so there is a signal;
some queries pair their mention with a gold region; some lists miss the gold (as the real generator
does), so inserting it matters.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch

from zemel import evaluate as evaluate_cli
from zemel import predict as predict_cli
from zemel.data import FeatureSet, load_features
from zemel.evaluate import (
    encode_entities,
    list_metrics,
    load_run,
    rank_units,
    time_scoring,
    units_context,
)
from zemel.predict import Predictor
from zemel.train import dev_r1, drop_prior, parse_args, train
from zemel.units import GENERATORS, QueryCandidates, Unit, build_units, load_candidate_lists

TEXT_GENERATORS = GENERATORS[:5]


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
            paired = r > 0 and q % 2 == 0  # the mention's entity is also shown in region r0
            region_gold = [gold if paired and j == 0 else (f"{split}:{(q + j) % pool}" if q % 3 == 0 else None)
                           for j in range(r)]  # fmt: skip
            queries.append({
                "id": f"q-{split}-{q}", "split": split, "kind": "single", "domain": f"d/{split}",
                "tokens": put(tokens), "truncated": False, "mentions": mentions,
                "regions": [{"id": f"r{j}", "box": [j, 2 * j, 10, 10], "gold": region_gold[j],
                             "geometry": [0.1, 0.1, 0.5, 0.5, 0.16]} for j in range(r)],
                "regionFeatures": put(regions), "pairs": [{"mention": "m1", "region": "r0"}] if paired else [],
            })  # fmt: skip
    data = b"".join(chunks)
    (root / "shard-000.bin").write_bytes(data)
    index = {"version": 1, "bundle": "synthetic", "dtype": "float16", "byteOrder": "little",
             "geometry": ["x1", "y1", "x2", "y2", "area"], "splits": ["dev", "train"],
             "shards": [{"file": "shard-000.bin", "bytes": len(data)}],
             "entities": entities, "queries": queries}  # fmt: skip
    (root / "index.json").write_text(json.dumps(index), encoding="utf-8")


def write_candidates(features: Path, out: Path, seed: int = 1) -> None:
    """Generator lists of every gold mention and region, as ``run-baselines.ts --candidates-out``:
    4-6 entities of the query's split (one of the other split in train lists, which training must
    drop); the gold is in the list unless query % 4 == 3, and gets stronger evidence when it is."""
    index = json.loads((features / "index.json").read_text(encoding="utf-8"))
    rng = np.random.default_rng(seed)
    pools = {s: [e["id"] for e in index["entities"] if e["split"] == s] for s in ("train", "dev")}

    def hits(entity: str, gold: bool, image: bool) -> dict[str, object]:
        if image:
            gens = [("DENSE_IMAGE", 0.8 if gold else float(rng.uniform(0.2, 0.7)))]
        else:
            picked = [g for g in TEXT_GENERATORS if rng.random() < (0.9 if gold else 0.2)] or ["DENSE_TEXT"]
            gens = [(g, float(rng.uniform(0.7, 1.0) if gold else rng.uniform(0.0, 0.5))) for g in picked]
        return {"entity": entity, "generators": [{"generator": g, "score": round(s, 4)} for g, s in gens]}

    def one_list(split: str, gold: str | None, with_gold: bool, image: bool) -> list[dict[str, object]]:
        others = [e for e in pools[split] if e != gold]
        ids = [others[int(i)] for i in rng.choice(len(others), size=int(rng.integers(4, 7)), replace=False)]
        if gold is not None and with_gold:
            ids.insert(int(rng.integers(0, len(ids) + 1)), gold)
        if split == "train":
            ids.append("dev:0")
        return [hits(e, e == gold, image) for e in ids]

    with out.open("w", encoding="utf-8") as f:
        for q in index["queries"]:
            with_gold = int(q["id"].rsplit("-", 1)[1]) % 4 != 3
            line = {"query": q["id"], "split": q["split"],
                    "mentions": [one_list(q["split"], m["gold"], with_gold, False) for m in q["mentions"]],
                    "regions": [one_list(q["split"], r["gold"], with_gold, True) for r in q["regions"]]}  # fmt: skip
            f.write(json.dumps(line) + "\n")


@dataclasses.dataclass(frozen=True)
class Inputs:
    features_dir: Path
    candidates_path: Path
    features: FeatureSet
    candidates: dict[str, QueryCandidates]

    def pair(self) -> tuple[FeatureSet, dict[str, QueryCandidates]]:
        return self.features, self.candidates


@pytest.fixture(scope="module", autouse=True)
def single_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    root = tmp_path_factory.mktemp("features")
    write_features(root)
    cands = root / "candidates.jsonl"
    write_candidates(root, cands)
    return Inputs(root, cands, load_features(root), load_candidate_lists(cands))


def _args(inp: Inputs, out: Path, *extra: str) -> list[str]:
    return ["--features", str(inp.features_dir), "--candidates", str(inp.candidates_path), "--out", str(out),
            "--tiny", "--steps", "20", "--batch", "8", "--hard-negatives", "2", "--hard-pool", "4", "--lr", "2e-3",
            "--prior-lr", "0.03", "--warmup", "3", "--eval-every", "10", "--threads", "1", "--seed", "3",
            "--device", "cpu",
            *extra]  # fmt: skip


@pytest.fixture(scope="module")
def poly_run(inputs: Inputs, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    out = tmp_path_factory.mktemp("runs") / "poly"
    summary = train(parse_args(_args(inputs, out)), inputs.pair())
    return out, summary


def _records(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _losses(out: Path) -> dict[int, float]:
    return {int(r["step"]): float(r["loss"]) for r in _records(out) if "loss" in r}  # type: ignore[arg-type]


def dev_units(inp: Inputs, limit: int = 600) -> list[Unit]:
    """train.py's dev units, in its order (eval_limit's seeded permutation)."""
    units = [u for u in build_units(inp.features, inp.candidates, "dev") if u.gold is not None]
    return [units[int(i)] for i in np.random.default_rng(0).permutation(len(units))[:limit]]


def test_fixture_has_every_unit_kind(inputs: Inputs) -> None:
    units = build_units(inputs.features, inputs.candidates, "dev")
    kinds = {u.kind for u in units}
    assert kinds == {"pair", "mention", "region"}, kinds
    assert any(u.gold is not None and u.gold not in u.candidates for u in units), "some lists miss the gold"
    assert any(u.gold is not None and u.gold in u.candidates for u in units)
    train_ids = frozenset(e.id for e in inputs.features.entities if e.split == "train")
    train_units = build_units(inputs.features, inputs.candidates, "train", augment=True, allowed=train_ids)
    assert all(set(u.candidates) <= train_ids for u in train_units)


def test_candidates_are_required() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--features", "f", "--out", "o"])
    cfg = parse_args(["--features", "f", "--candidates", "c", "--out", "o", "--no-prior", "--prior-lr", "0.01"])
    assert cfg.candidates == "c" and cfg.prior is False and cfg.prior_lr == 0.01 and cfg.device == "auto"


def test_train_writes_a_run_that_reloads(inputs: Inputs, poly_run: tuple[Path, dict[str, object]]) -> None:
    out, s = poly_run
    assert s["steps"] == 20
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "metrics.jsonl", "state.pt"]
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["model"]["candidate_features"] == 12 and config["train"]["head"] == "poly"
    assert config["train"]["candidates"] == str(inputs.candidates_path) and config["device"] == "cpu"
    assert config["dev_units"] == len(dev_units(inputs))
    losses = _losses(out)
    assert set(losses) == {1, 10, 20} and all(np.isfinite(v) for v in losses.values())
    assert losses[20] < losses[10], losses  # mean of steps 11-20 below mean of steps 1-10
    evals = {int(r["step"]): float(r["dev_r1"]) for r in _records(out) if "dev_r1" in r}  # type: ignore[arg-type]
    assert set(evals) == {0, 10, 20}
    assert config["best_dev_r1"] == max(evals.values()) and evals[config["best_step"]] == config["best_dev_r1"]
    # the fixture's generator evidence is informative: the prior alone learns it in a few steps
    assert config["best_step"] > 0 and config["best_dev_r1"] > config["untrained_dev_r1"], evals

    # the best checkpoint reloads to the same dev R@1 as logged at its step
    model, loaded = load_run(out)
    assert loaded == config and model.prior is not None and not model.training
    units = dev_units(inputs)
    assert dev_r1(model, inputs.features, units, "poly") == config["best_dev_r1"]
    model2, _ = load_run(out)
    assert rank_units(model, inputs.features, units, "poly") == rank_units(model2, inputs.features, units, "poly")


def test_same_seed_same_run(inputs: Inputs, poly_run: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    out, _ = poly_run
    train(parse_args(_args(inputs, tmp_path / "b")), inputs.pair())
    assert _losses(tmp_path / "b") == _losses(out)
    sa, sb = torch.load(out / "state.pt"), torch.load(tmp_path / "b" / "state.pt")
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    train(parse_args(_args(inputs, tmp_path / "c", "--seed", "4")), inputs.pair())
    assert _losses(tmp_path / "c") != _losses(out)


def test_no_prior_run(inputs: Inputs, tmp_path: Path) -> None:
    out = tmp_path / "np"
    s = train(parse_args(_args(inputs, out, "--no-prior", "--steps", "3")), inputs.pair())
    assert s["steps"] == 3 and s["model"]["candidate_features"] == 0  # type: ignore[index]
    assert not any(k.startswith("prior.") for k in torch.load(out / "state.pt"))
    model, _ = load_run(out)
    assert model.prior is None
    ranked = rank_units(model, inputs.features, dev_units(inputs), "poly", insert_gold=True)
    assert all(r for r in ranked)


def test_drop_prior_zeroes_whole_units() -> None:
    feats = torch.rand(64, 5, 12) + 0.1  # [B, K, F], no zero rows
    assert drop_prior(feats, 0.0, np.random.default_rng(0)) is feats
    assert torch.count_nonzero(drop_prior(feats, 1.0, np.random.default_rng(0))) == 0
    out = drop_prior(feats, 0.5, np.random.default_rng(0))
    zeroed = (out == 0).flatten(1).all(dim=1)  # [B]: a unit loses all its evidence or none
    kept = (out == feats).flatten(1).all(dim=1)
    assert bool((zeroed | kept).all()) and 10 < int(zeroed.sum()) < 54


def test_prior_dropout_run(inputs: Inputs, tmp_path: Path) -> None:
    s = train(parse_args(_args(inputs, tmp_path / "pd", "--prior-dropout", "0.5", "--steps", "3")), inputs.pair())
    assert s["steps"] == 3 and s["train"]["prior_dropout"] == 0.5  # type: ignore[index]
    with pytest.raises(SystemExit):
        parse_args(_args(inputs, tmp_path / "bad", "--no-prior", "--prior-dropout", "0.5"))


@pytest.mark.parametrize("head", ["bi", "cross"])
def test_other_heads_train_and_rank(inputs: Inputs, tmp_path: Path, head: str) -> None:
    s = train(parse_args(_args(inputs, tmp_path / head, "--head", head, "--steps", "3")), inputs.pair())
    assert s["steps"] == 3 and (tmp_path / head / "state.pt").exists()
    model, config = load_run(tmp_path / head)
    assert config["train"]["head"] == head
    units = dev_units(inputs)
    ranked = rank_units(model, inputs.features, units, head, insert_gold=True)
    for u, r in zip(units, ranked, strict=True):
        assert [e for e, _ in r] and set(e for e, _ in r) == set(u.candidates) | {u.gold}
        assert all(a[1] >= b[1] for a, b in pairwise(r))
    m = list_metrics(units, ranked)
    assert m["n"] == len(units) and 0.0 <= m["r1"] <= m["r5"] <= 1.0
    assert m["r1"] == s["best_dev_r1"]  # the reloaded best checkpoint, on the same lists


def test_rank_units_inserts_the_gold(inputs: Inputs, poly_run: tuple[Path, dict[str, object]]) -> None:
    model, _ = load_run(poly_run[0])
    fs = inputs.features
    units = [u for u in build_units(fs, inputs.candidates, "dev") if u.gold is not None]
    missing = [u for u in units if u.gold not in u.candidates]
    assert missing
    plain = rank_units(model, fs, units, "poly")
    inserted = rank_units(model, fs, units, "poly", insert_gold=True)
    for u, a, b in zip(units, plain, inserted, strict=True):
        assert [e for e, _ in a] != [] or not u.candidates
        assert sorted(e for e, _ in a) == sorted(u.candidates)
        assert sorted(e for e, _ in b) == sorted(set(u.candidates) | {u.gold})
        for r in (a, b):
            assert all(x[1] >= y[1] for x, y in pairwise(r)), "best first"
        scores_b = dict(b)
        for e, v in a:  # inserting the gold changes no other candidate's score
            assert abs(scores_b[e] - v) < 1e-5
    assert list_metrics(missing, rank_units(model, fs, missing, "poly"))["r5"] == 0.0
    assert list_metrics(missing, rank_units(model, fs, missing, "poly", insert_gold=True))["r5"] > 0.0
    limited = rank_units(model, fs, units, "poly", limit=2)
    assert all(sorted(e for e, _ in r) == sorted(u.candidates[:2]) for u, r in zip(units, limited, strict=True))

    # the inserted gold is scored by the model with zero generator features
    u = missing[0]
    with torch.no_grad():
        codes = model.context_codes(*units_context(fs, [u], torch.device("cpu")))
        vector = encode_entities(model, fs, [u.gold])[None]  # [1, 1, H]
        expected = float(model.score_codes(codes, vector, torch.zeros(1, 1, 12))[0, 0])
    assert abs(dict(rank_units(model, fs, [u], "poly", insert_gold=True)[0])[u.gold] - expected) < 1e-5


def test_list_metrics() -> None:
    def unit(gold: str) -> Unit:
        return Unit(0, 0, None, "mention", gold, (), np.zeros((0, 12), np.float32))

    ranked = [[("a", 3.0), ("b", 1.0)], [("x", 2.0), ("y", 1.0), ("a", 0.5)], [("x", 1.0)], []]
    m = list_metrics([unit("a"), unit("a"), unit("a"), unit("a")], ranked)
    assert m["n"] == 4 and m["r1"] == 0.25 and m["r5"] == 0.5
    assert abs(m["mrr"] - (1.0 + 1.0 / 3.0) / 4) < 1e-12
    assert list_metrics([], []) == {"n": 0}


def test_timing_runs(inputs: Inputs, poly_run: tuple[Path, dict[str, object]]) -> None:
    model, _ = load_run(poly_run[0])
    t = time_scoring(model, inputs.features, dev_units(inputs), candidates=20, examples=2, cross_examples=1, chunk=10)
    assert t["candidates"] == 20 and all(t[f"{h}_ms"] > 0 for h in ("poly", "bi", "cross"))


def _check_link(link: dict[str, object]) -> list[dict[str, object]]:
    assert set(link) == {"mention", "mentionSpan", "region", "box", "candidates", "prediction"}
    cands = link["candidates"]
    assert isinstance(cands, list)
    scores = [c["score"] for c in cands]
    assert scores == sorted(scores, reverse=True), "candidates best first"
    assert link["prediction"] == (cands[0]["entity"] if cands else None)
    return cands


def test_predictor_writes_both_tasks(inputs: Inputs, poly_run: tuple[Path, dict[str, object]]) -> None:
    model, _ = load_run(poly_run[0])
    fs = inputs.features
    predictor = Predictor(model, fs, inputs.candidates, "poly")
    dev = [i for i, q in enumerate(fs.queries) if q.split == "dev"]
    saw_pair = False
    for qi in dev:
        q, qc = fs.queries[qi], inputs.candidates[fs.queries[qi].id]
        known = predictor.vt_kg_known_pairs(qi)
        assert known["query"] == q.id and known["task"] == "V&T-KG"
        units = build_units(fs, inputs.candidates, "dev", only_query=qi)
        assert len(known["links"]) == len(units)
        mentions, regions = [], []
        for link, u in zip(known["links"], units, strict=True):
            cands = _check_link(link)
            assert link["mentionSpan"] is None and link["box"] is None
            assert link["mention"] is not None or link["region"] is not None
            if link["mention"] is not None:
                mentions.append(link["mention"])
            if link["region"] is not None:
                regions.append(link["region"])
            saw_pair |= link["mention"] is not None and link["region"] is not None
            assert sorted(c["entity"] for c in cands) == sorted(u.candidates)  # no gold inserted here
        assert sorted(mentions) == sorted(m.id for m in q.mentions)  # every gold mention once
        assert sorted(regions) == sorted(r.id for r in q.regions)

        aligned = predictor.vt_kg_aligned(qi)
        assert aligned["query"] == q.id and aligned["task"] == "VT-KG"
        spans, boxes = [], []
        for link in aligned["links"]:
            cands = _check_link(link)
            assert link["mention"] is None and link["region"] is None
            assert link["mentionSpan"] is not None or link["box"] is not None
            if link["mentionSpan"] is not None:
                spans.append(tuple(link["mentionSpan"]))
            if link["box"] is not None:
                boxes.append(tuple(link["box"]))
            if link["mentionSpan"] is None:  # a lone region keeps its own list only
                ri = [tuple(r.box) for r in q.regions].index(tuple(link["box"]))
                assert {c["entity"] for c in cands} <= set(qc.regions[ri])
        assert sorted(spans) == sorted((m.start, m.end) for m in q.mentions)  # every span once
        assert sorted(boxes) == sorted(tuple(r.box) for r in q.regions)  # every box once
        json.dumps(known), json.dumps(aligned)
    assert saw_pair


def test_evaluate_and_predict_commands(
    inputs: Inputs, poly_run: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    run = poly_run[0]
    common = ["--features", str(inputs.features_dir), "--candidates", str(inputs.candidates_path), "--run", str(run)]
    assert evaluate_cli.main([*common, "--split", "dev", "--threads", "1", "--out", str(tmp_path / "eval.json")]) == 0
    result = json.loads((tmp_path / "eval.json").read_text())
    assert result["head"] == "poly" and result["lists"]["n"] == len(dev_units(inputs))
    assert result["lists"]["r1"] == json.loads((run / "config.json").read_text())["best_dev_r1"]

    out = tmp_path / "pred"
    assert predict_cli.main([*common, "--out", str(out), "--splits", "dev", "--threads", "1"]) == 0
    lines = [json.loads(x) for x in (out / "dev.jsonl").read_text().splitlines()]
    dev_ids = [q.id for q in inputs.features.queries if q.split == "dev"]
    assert [(x["query"], x["task"]) for x in lines] == [(q, t) for q in dev_ids for t in ("V&T-KG", "VT-KG")]
    for x in lines:
        for link in x["links"]:
            _check_link(link)
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["head"] == "poly" and run_json["prior"] is True and run_json["title"] == "Poly (m = 16)"


def test_strip_robust_keeps_the_linkers_generators() -> None:
    from zemel.strip_robust import strip_query

    both = {"entity": "a", "generators": [{"generator": "DENSE_IMAGE", "score": 0.5},
                                          {"generator": "DENSE_IMAGE_ROBUST", "score": 0.4}]}  # fmt: skip
    robust_only = {"entity": "b", "generators": [{"generator": "DENSE_IMAGE_ROBUST", "score": 0.6}]}
    text = {"entity": "c", "generators": [{"generator": "BM25", "score": 1.0}]}
    query = {"query": "q", "split": "dev", "mentions": [[text]], "regions": [[robust_only, both]]}
    out, dropped = strip_query(query)
    assert dropped == 1 and out["mentions"] == [[text]]
    assert out["regions"] == [[{"entity": "a", "generators": [{"generator": "DENSE_IMAGE", "score": 0.5}]}]]
    assert query["regions"] == [[robust_only, both]]  # the input is not changed
