"""The feature reader (models/zemel/data.py) against eval/features/FORMAT.md, and the linking
units (models/zemel/units.py) built from the generator's candidate lists.

    var/pyenv/bin/python -m pytest models/tests/test_zemel_data.py

Writes a tiny index + shard with numpy (round trip) and candidate lists in the format of
``run-baselines.ts --candidates-out``; also reads ``var/features-fixture/`` when it exists (made by
``npx tsx eval/features/extract-features.ts --benchmark test/fixtures/benchmark --out var/features-fixture``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import ROOT
from zemel.config import ModelConfig
from zemel.data import (
    collate_candidates,
    collate_contexts,
    load_features,
    mention_examples,
)
from zemel.model import CandidateBatch, ContextBatch, ZemelModel
from zemel.units import (
    GENERATOR_FEATURES,
    GENERATORS,
    build_units,
    collate_units,
    feature_matrix,
    generator_features,
    load_candidate_lists,
    make_unit,
)

FIXTURE = ROOT / "var/features-fixture"


class _Writer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.chunks: list[bytes] = []
        self.offset = 0

    def write(self, array: np.ndarray) -> dict[str, object]:
        data = np.ascontiguousarray(array, dtype="<f2").tobytes()
        ref = {"shard": 0, "offset": self.offset, "shape": list(array.shape)}
        self.chunks.append(data)
        self.offset += len(data)
        return ref

    def close(self) -> dict[str, object]:
        self.path.write_bytes(b"".join(self.chunks))
        return {"file": self.path.name, "bytes": self.offset}


def _tiny(root: Path) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = {
        "e1_tokens": rng.standard_normal((6, 384)).astype(np.float16),
        "e1_images": rng.standard_normal((2, 1280)).astype(np.float16),
        "e2_tokens": rng.standard_normal((4, 384)).astype(np.float16),
        "q1_tokens": rng.standard_normal((7, 384)).astype(np.float16),
        "q1_regions": rng.standard_normal((3, 1280)).astype(np.float16),
        "q2_tokens": rng.standard_normal((5, 384)).astype(np.float16),
    }
    w = _Writer(root / "shard-000.bin")
    full = [[0, 0, 1, 1, 1]]
    entities = [
        {"id": "e1", "split": "train", "domain": "d", "tokens": w.write(arrays["e1_tokens"]), "truncated": False,
         "images": w.write(arrays["e1_images"]), "geometry": full * 2},
        {"id": "e2", "split": "train", "domain": "d", "tokens": w.write(arrays["e2_tokens"]), "truncated": False,
         "images": w.write(np.zeros((0, 1280))), "geometry": []},
    ]  # fmt: skip
    geo = [[0.1, 0.2, 0.5, 0.6, 0.16], [0, 0, 1, 1, 1], [0.5, 0.5, 1, 1, 0.25]]
    queries = [
        {"id": "q1", "split": "train", "kind": "scene", "domain": "d", "tokens": w.write(arrays["q1_tokens"]),
         "truncated": False,
         "mentions": [{"id": "m1", "start": 0, "end": 3, "gold": "e1", "positions": [1, 2]},
                      {"id": "m2", "start": 9, "end": 12, "gold": None, "positions": [4]},
                      {"id": "m3", "start": 90, "end": 95, "gold": "e2", "positions": []}],
         "regions": [{"id": f"r{i}", "box": [0, 0, 1, 1], "gold": None, "geometry": g} for i, g in enumerate(geo)],
         "regionFeatures": w.write(arrays["q1_regions"]), "pairs": [{"mention": "m1", "region": "r0"}]},
        {"id": "q2", "split": "dev", "kind": "riddle", "domain": "d", "tokens": w.write(arrays["q2_tokens"]),
         "truncated": True, "mentions": [{"id": "m1", "start": 0, "end": 5, "gold": "e2", "positions": [1, 2, 3]}],
         "regions": [], "regionFeatures": w.write(np.zeros((0, 1280))), "pairs": []},
    ]  # fmt: skip
    index = {
        "version": 1, "bundle": "test@0", "dtype": "float16", "byteOrder": "little",
        "geometry": ["x1", "y1", "x2", "y2", "area"], "shards": [w.close()],
        "entities": entities, "queries": queries,
    }  # fmt: skip
    (root / "index.json").write_text(json.dumps(index), encoding="utf-8")
    arrays["q1_geometry"] = np.asarray(geo, dtype=np.float32)
    return arrays


def test_round_trip(tmp_path: Path) -> None:
    arrays = _tiny(tmp_path)
    fs = load_features(tmp_path)
    assert [e.id for e in fs.entities] == ["e1", "e2"] and [q.id for q in fs.queries] == ["q1", "q2"]
    np.testing.assert_array_equal(fs.entity("e1").token_states, arrays["e1_tokens"])
    np.testing.assert_array_equal(fs.entity("e1").image_features, arrays["e1_images"])
    assert fs.entity("e2").image_features.shape == (0, 1280)
    q1 = fs.queries[0]
    np.testing.assert_array_equal(q1.token_states, arrays["q1_tokens"])
    np.testing.assert_array_equal(q1.region_features, arrays["q1_regions"])
    np.testing.assert_allclose(q1.region_geometry, arrays["q1_geometry"])
    assert q1.pairs == (("m1", "r0"),) and q1.mentions[1].gold is None

    examples = mention_examples(fs)
    assert [(e.query, e.mention, e.gold) for e in examples] == [(0, 0, "e1"), (0, 1, None), (1, 0, "e2")]
    assert len(mention_examples(fs, keep_empty=True)) == 4
    assert [e.query for e in mention_examples(fs, split="dev")] == [1]

    batch = collate_contexts(fs, examples)
    f = batch.features
    assert isinstance(f, ContextBatch)
    assert f.token_states.shape == (3, 7, 384) and f.token_states.dtype == torch.float32
    assert f.token_mask.sum(1).tolist() == [7, 7, 5]
    assert f.region_features.shape == (3, 3, 1280) and f.region_mask.sum(1).tolist() == [3, 3, 0]
    assert f.region_geometry.shape == (3, 3, 5)
    assert torch.equal(f.token_states[2, :5], torch.from_numpy(arrays["q2_tokens"].astype(np.float32)))
    assert not f.token_states[2, 5:].any()
    assert batch.mention_mask[0].nonzero().flatten().tolist() == [1, 2]
    assert batch.mention_mask[1].nonzero().flatten().tolist() == [4]
    assert batch.mention_mask[2].nonzero().flatten().tolist() == [1, 2, 3]
    assert batch.gold == ("e1", None, "e2") and batch.mention_ids == ("m1", "m2", "m1")

    cands = collate_candidates([fs.entity("e2"), fs.entity("e1")])
    assert isinstance(cands, CandidateBatch)
    assert cands.token_states.shape == (2, 6, 384) and cands.token_mask.sum(1).tolist() == [4, 6]
    # e2 has no images: one masked padding region keeps attention defined.
    assert cands.region_features.shape == (2, 2, 1280) and cands.region_mask.tolist() == [[False, False], [True, True]]
    assert cands.region_geometry[1].tolist() == [[0, 0, 1, 1, 1]] * 2


def test_batches_run_through_the_model(tmp_path: Path) -> None:
    _tiny(tmp_path)
    fs = load_features(tmp_path)
    cands = load_candidate_lists(_candidates(tmp_path))
    units = build_units(fs, cands, "train") + build_units(fs, cands, "dev")
    torch.manual_seed(0)
    model = ZemelModel(ModelConfig.tiny()).eval()
    ids = [e.id for e in fs.entities]
    with torch.no_grad():
        vectors = model.encode_candidates(collate_candidates(list(fs.entities)))  # [2, H]
        ctx = collate_units(fs, units)
        codes = model.context_codes(ctx.features, ctx.mention_mask, ctx.region_focus)
        feats = feature_matrix(units, [ids] * len(units))  # [B, 2, 12]
        scores = model.score_codes(codes, vectors[None].expand(len(units), -1, -1), feats)  # [B, 2]
    assert scores.shape == (len(units), 2) and torch.isfinite(scores).all()


@pytest.mark.skipif(
    not (FIXTURE / "index.json").exists(), reason="var/features-fixture/ not extracted (see module docstring)"
)
def test_reads_extracted_fixture() -> None:
    fs = load_features(FIXTURE)
    assert len(fs.entities) == 20 and len(fs.queries) == 10
    for e in fs.entities:
        assert e.token_states.shape[1] == 384 and 3 <= e.token_states.shape[0] <= 128
        assert e.image_features.shape == (1, 1280)
        norm = np.linalg.norm(e.image_features.astype(np.float32), axis=1)
        np.testing.assert_allclose(norm, 1.0, atol=2e-3)  # embed() is L2-normalised
    for q in fs.queries:
        assert q.region_features.shape[0] == len(q.regions) == q.region_geometry.shape[0]
        g = q.region_geometry
        assert ((g >= 0) & (g <= 1)).all() and (g[:, 2] > g[:, 0]).all() and (g[:, 3] > g[:, 1]).all()
        for m in q.mentions:
            assert m.positions and 0 < min(m.positions) and max(m.positions) < q.token_states.shape[0] - 1
    batch = collate_contexts(fs, mention_examples(fs))
    assert batch.features.token_states.shape[0] == sum(len(q.mentions) for q in fs.queries)
    assert torch.isfinite(batch.features.token_states).all()


# ---- units.py: linking units and the generator's candidate lists ---------------------------------


def _hit(entity: str, **scores: float) -> dict[str, object]:
    return {"entity": entity, "generators": [{"generator": g, "score": v} for g, v in scores.items()]}


def _candidates(root: Path) -> Path:
    """Candidate lists of _tiny's queries as run-baselines.ts --candidates-out writes them: q1 has
    three gold mentions (m3's list is empty) and three gold regions; "x" is no entity of the set."""
    lines = [
        {"query": "q1", "split": "train",
         "mentions": [[_hit("e1", BM25=0.9, DENSE_TEXT=0.5), _hit("e2", SHARED_WORDS=1.0)],
                      [_hit("e2", ACRONYM=1.0, DENSE_IMAGE=0.3)],
                      []],
         "regions": [[_hit("e2", DENSE_IMAGE=0.7), _hit("x", DENSE_IMAGE=0.65), _hit("e1", DENSE_IMAGE=0.6)],
                     [_hit("e1", DENSE_IMAGE=0.4, BM25=0.2)],
                     []]},
        {"query": "q2", "split": "dev", "mentions": [[_hit("e2", BM25=0.3), _hit("e1", CONTAINMENT=0.0)]],
         "regions": []},
    ]  # fmt: skip
    path = root / "candidates.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" + ("\n" if i == 0 else "") for i, x in enumerate(lines)),
                    encoding="utf-8")  # fmt: skip  # a blank line in between is skipped
    return path


def _row(**values: float) -> list[float]:
    """A GENERATOR_FEATURES row from generator -> score."""
    out = [0.0] * len(GENERATOR_FEATURES)
    for g, v in values.items():
        out[GENERATORS.index(g)] = v
        out[len(GENERATORS) + GENERATORS.index(g)] = 1.0
    return out


def test_generator_feature_order() -> None:
    assert GENERATOR_FEATURES == (
        "BM25.score", "SHARED_WORDS.score", "CONTAINMENT.score", "ACRONYM.score", "DENSE_TEXT.score",
        "DENSE_IMAGE.score", "BM25.found", "SHARED_WORDS.found", "CONTAINMENT.found", "ACRONYM.found",
        "DENSE_TEXT.found", "DENSE_IMAGE.found",
    )  # fmt: skip
    assert len(GENERATOR_FEATURES) == ModelConfig().candidate_features
    f = generator_features({"BM25": 0.9, "ACRONYM": 0.0, "DENSE_IMAGE": 0.8}, {"DENSE_IMAGE": 0.7, "BM25": 0.1})
    assert f.dtype == np.float32 and f.shape == (12,)
    # text generators from the mention's hits, DENSE_IMAGE only from the region's; a 0 score still counts as found
    np.testing.assert_allclose(f, [0.9, 0, 0, 0.0, 0, 0.7, 1, 0, 0, 1, 0, 1])
    assert not generator_features(None, None).any()
    np.testing.assert_allclose(generator_features(None, {"DENSE_IMAGE": 0.5}), _row(DENSE_IMAGE=0.5))
    np.testing.assert_allclose(generator_features({"DENSE_IMAGE": 0.5}, None), _row())


def test_load_candidate_lists(tmp_path: Path) -> None:
    lists = load_candidate_lists(_candidates(tmp_path))
    assert set(lists) == {"q1", "q2"}
    q1 = lists["q1"]
    assert q1.mentions == (("e1", "e2"), ("e2",), ())
    assert q1.regions == (("e2", "x", "e1"), ("e1",), ())
    assert q1.mention_hits[0] == {"e1": {"BM25": 0.9, "DENSE_TEXT": 0.5}, "e2": {"SHARED_WORDS": 1.0}}
    assert q1.region_hits[1] == {"e1": {"DENSE_IMAGE": 0.4, "BM25": 0.2}}
    assert lists["q2"].regions == () and lists["q2"].mention_hits[0]["e1"] == {"CONTAINMENT": 0.0}


def test_make_unit_union_order_features_and_filter(tmp_path: Path) -> None:
    qc = load_candidate_lists(_candidates(tmp_path))["q1"]
    pair = make_unit(0, qc, 0, 0, "e1")
    assert pair.kind == "pair" and pair.gold == "e1" and (pair.mention, pair.region) == (0, 0)
    assert pair.candidates == ("e1", "e2", "x")  # the mention's list first, then the region's new ones
    assert pair.features.shape == (3, 12) and pair.features.dtype == np.float32
    np.testing.assert_allclose(pair.features[0], _row(BM25=0.9, DENSE_TEXT=0.5, DENSE_IMAGE=0.6))
    np.testing.assert_allclose(pair.features[1], _row(SHARED_WORDS=1.0, DENSE_IMAGE=0.7))
    np.testing.assert_allclose(pair.features[2], _row(DENSE_IMAGE=0.65))
    np.testing.assert_allclose(pair.features_of("e2"), pair.features[1])
    assert not pair.features_of("not-found").any() and pair.features_of("not-found").shape == (12,)

    mention = make_unit(0, qc, 1, None, "e2")
    assert mention.kind == "mention" and mention.candidates == ("e2",)
    np.testing.assert_allclose(mention.features[0], _row(ACRONYM=1.0))  # DENSE_IMAGE of a text list is ignored
    region = make_unit(0, qc, None, 1, None)
    assert region.kind == "region" and region.candidates == ("e1",)
    np.testing.assert_allclose(region.features[0], _row(DENSE_IMAGE=0.4))  # BM25 of an image list is ignored

    filtered = make_unit(0, qc, 0, 0, "e1", allowed=frozenset({"x", "e1"}))
    assert filtered.candidates == ("e1", "x")
    np.testing.assert_allclose(filtered.features, pair.features[[0, 2]])
    empty = make_unit(0, qc, 2, 2, None)
    assert empty.candidates == () and empty.features.shape == (0, 12)


def test_build_units(tmp_path: Path) -> None:
    _tiny(tmp_path)
    fs = load_features(tmp_path)
    cands = load_candidate_lists(_candidates(tmp_path))
    summary = lambda us: [(u.query, u.mention, u.region, u.kind, u.gold) for u in us]  # noqa: E731
    train = build_units(fs, cands, "train")
    # the gold pair (m1, r0), then the lone mentions m2 (NIL) and m3, then the lone regions r1, r2
    assert summary(train) == [(0, 0, 0, "pair", "e1"), (0, 1, None, "mention", None), (0, 2, None, "mention", "e2"),
                              (0, None, 1, "region", None), (0, None, 2, "region", None)]  # fmt: skip
    assert train[0].candidates == ("e1", "e2", "x")
    augmented = build_units(fs, cands, "train", augment=True)
    assert summary(augmented) == [
        (0, 0, 0, "pair", "e1"), (0, 0, None, "mention", "e1"), (0, None, 0, "region", None),
        (0, 1, None, "mention", None), (0, 2, None, "mention", "e2"),
        (0, None, 1, "region", None), (0, None, 2, "region", None),
    ]  # fmt: skip
    assert augmented[1].candidates == ("e1", "e2") and augmented[2].candidates == ("e2", "x", "e1")
    allowed = build_units(fs, cands, "train", allowed=frozenset({"e1", "e2"}))
    assert all("x" not in u.candidates for u in allowed) and allowed[0].candidates == ("e1", "e2")
    dev = build_units(fs, cands, "dev")
    assert summary(dev) == [(1, 0, None, "mention", "e2")] and dev[0].candidates == ("e2", "e1")
    assert summary(build_units(fs, cands, "train", only_query=1)) == []
    assert summary(build_units(fs, cands, "dev", only_query=1)) == summary(dev)
    assert build_units(fs, cands, "test") == []

    bad = dict(cands)
    bad["q1"] = dataclasses.replace(cands["q1"], mentions=cands["q1"].mentions[:2],
                                    mention_hits=cands["q1"].mention_hits[:2])  # fmt: skip
    with pytest.raises(ValueError, match="q1"):
        build_units(fs, bad, "train")
    bad["q1"] = dataclasses.replace(cands["q1"], regions=cands["q1"].regions[:1])
    with pytest.raises(ValueError, match="q1"):
        build_units(fs, bad, "train")
    with pytest.raises(KeyError, match="q2"):
        build_units(fs, {"q1": cands["q1"]}, "dev")


def test_collate_units_marks_the_unit(tmp_path: Path) -> None:
    _tiny(tmp_path)
    fs = load_features(tmp_path)
    cands = load_candidate_lists(_candidates(tmp_path))
    train = build_units(fs, cands, "train", augment=True)
    units = [train[0], train[1], train[2], train[4], train[5], *build_units(fs, cands, "dev")]
    # pair (m1, r0); m1 alone; r0 alone; m3 (no token positions); r1 alone; q2's m1 (no regions)
    ctx = collate_units(fs, units)
    f = ctx.features
    assert isinstance(f, ContextBatch)
    assert f.token_states.shape == (6, 7, 384) and f.region_features.shape == (6, 3, 1280)
    assert f.region_mask.sum(1).tolist() == [3, 3, 3, 3, 3, 0] and f.token_mask.sum(1).tolist() == [7] * 5 + [5]
    assert ctx.mention_mask.dtype == torch.bool and ctx.region_focus.dtype == torch.bool
    assert ctx.mention_mask.shape == (6, 7) and ctx.region_focus.shape == (6, 3)
    assert [r.nonzero().flatten().tolist() for r in ctx.mention_mask] == [[1, 2], [1, 2], [], [], [], [1, 2, 3]]
    assert [r.nonzero().flatten().tolist() for r in ctx.region_focus] == [[0], [], [0], [], [1], []]
    assert not (ctx.mention_mask & ~f.token_mask).any() and not (ctx.region_focus & ~f.region_mask).any()


def test_feature_matrix(tmp_path: Path) -> None:
    qc = load_candidate_lists(_candidates(tmp_path))["q1"]
    pair, mention = make_unit(0, qc, 0, 0, "e1"), make_unit(0, qc, 1, None, "e2")
    m = feature_matrix([pair, mention], [["x", "unknown", "e1"], ["e1", "e2"]])
    assert m.shape == (2, 3, 12) and m.dtype == torch.float32
    np.testing.assert_allclose(m[0, 0].numpy(), pair.features[2])
    assert not m[0, 1].any()  # an entity no generator found: zeros
    np.testing.assert_allclose(m[0, 2].numpy(), pair.features[0])
    assert not m[1, 0].any()  # e1 is not in the mention's list
    np.testing.assert_allclose(m[1, 1].numpy(), mention.features[0])
    assert not m[1, 2].any()  # ragged rows are zero-padded
    assert feature_matrix([], []).shape == (0, 0, 12)
