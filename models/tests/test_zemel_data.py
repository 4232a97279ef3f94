"""The feature reader (models/zemel/data.py) against eval/features/FORMAT.md.

    var/pyenv/bin/python -m pytest models/tests/test_zemel_data.py

Writes a tiny index + shard with numpy (round trip); also reads ``var/features-fixture/`` when it
exists (made by ``npx tsx eval/features/extract-features.ts --benchmark test/fixtures/benchmark
--out var/features-fixture``).
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

from zemel.config import ModelConfig  # noqa: E402
from zemel.data import (  # noqa: E402
    collate_candidates,
    collate_contexts,
    load_features,
    mention_examples,
)
from zemel.model import CandidateBatch, ContextBatch, ZemelModel  # noqa: E402

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
    torch.manual_seed(0)
    model = ZemelModel(ModelConfig.tiny()).eval()
    with torch.no_grad():
        vectors = model.encode_candidates(collate_candidates(list(fs.entities)))  # [2, H]
        ctx = collate_contexts(fs, mention_examples(fs))
        scores = model.score(ctx.features, vectors[None].expand(3, -1, -1))  # [3, 2]
    assert scores.shape == (3, 2) and torch.isfinite(scores).all()


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
