"""Reads precomputed features (eval/features/FORMAT.md) into the batch types of ``model.py``.

    features = load_features(Path("var/features"))
    examples = mention_examples(features, split="train")
    batch = collate_contexts(features, examples[:32])          # ContextExamples
    cands = collate_candidates([features.entity(i) for i in ids])  # CandidateBatch

Arrays are float16 numpy memmaps of the shards (nothing is read until sliced); ``collate_*``
copies one batch into float32 tensors, padded with masks. A sequence with no regions (a KB entity
without images, a query without boxes) is padded to one masked region so that attention always
has a key; the mask says it is not real.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .model import CandidateBatch, ContextBatch

FORMAT_VERSION = 1
TEXT_DIM = 384
REGION_DIM = 1280
GEOMETRY_DIM = 5


@dataclass(frozen=True)
class ArrayRef:
    shard: int
    offset: int  # bytes
    shape: tuple[int, ...]


@dataclass(frozen=True)
class EntityFeatures:
    id: str
    split: str
    domain: str
    token_states: np.ndarray  # [T, 384] float16
    image_features: np.ndarray  # [I, 1280] float16, I may be 0
    image_geometry: np.ndarray  # [I, 5] float32, FULL_IMAGE_GEOMETRY rows
    truncated: bool


@dataclass(frozen=True)
class MentionFeatures:
    id: str
    start: int
    end: int
    gold: str | None
    positions: tuple[int, ...]  # token positions of the mention in the caption's states


@dataclass(frozen=True)
class RegionInfo:
    id: str
    box: tuple[float, float, float, float]  # x, y, w, h in pixels
    gold: str | None


@dataclass(frozen=True)
class QueryFeatures:
    id: str
    split: str
    kind: str
    domain: str
    token_states: np.ndarray  # [T, 384] float16, the caption once
    region_features: np.ndarray  # [R, 1280] float16, one regionFeatures run
    region_geometry: np.ndarray  # [R, 5] float32
    mentions: tuple[MentionFeatures, ...]
    regions: tuple[RegionInfo, ...]
    pairs: tuple[tuple[str, str], ...]  # (mention id, region id)
    truncated: bool


@dataclass(frozen=True)
class FeatureSet:
    root: Path
    bundle: str
    entities: tuple[EntityFeatures, ...]
    queries: tuple[QueryFeatures, ...]
    entity_index: dict[str, int]

    def entity(self, entity_id: str) -> EntityFeatures:
        return self.entities[self.entity_index[entity_id]]


@dataclass(frozen=True)
class MentionExample:
    """One gold mention in its query: the unit a linking loss sees."""

    query: int  # index into FeatureSet.queries
    mention: int  # index into that query's mentions
    gold: str | None


@dataclass(frozen=True)
class ContextExamples:
    """A batch of mentions in context. The model adds its learned mention-marker embedding at the
    positions where ``mention_mask`` is true (the ONNX text encoder never saw a marker)."""

    features: ContextBatch
    mention_mask: Tensor  # [B, T] bool
    gold: tuple[str | None, ...]
    query_ids: tuple[str, ...]
    mention_ids: tuple[str, ...]


def _ref(raw: dict[str, object]) -> ArrayRef:
    shape = raw["shape"]
    assert isinstance(shape, list)
    return ArrayRef(int(raw["shard"]), int(raw["offset"]), tuple(int(s) for s in shape))  # type: ignore[arg-type]


class _Shards:
    def __init__(self, root: Path, shards: list[dict[str, object]]) -> None:
        # np.memmap cannot map an empty file: a shard of zero bytes is an empty array.
        self.maps = [
            np.memmap(root / str(s["file"]), dtype="<f2", mode="r")
            if int(s["bytes"]) > 0  # type: ignore[call-overload]
            else np.zeros(0, "<f2")
            for s in shards
        ]

    def array(self, ref: ArrayRef, width: int) -> np.ndarray:
        if len(ref.shape) != 2 or ref.shape[1] != width:
            raise ValueError(f"expected [N, {width}], got {list(ref.shape)}")
        count = ref.shape[0] * ref.shape[1]
        if count == 0:
            return np.zeros(ref.shape, dtype="<f2")
        if ref.offset % 2:
            raise ValueError(f"odd byte offset {ref.offset}")
        start = ref.offset // 2
        data = self.maps[ref.shard][start : start + count]
        if data.shape[0] != count:
            raise ValueError(f"shard {ref.shard} is too short for {ref}")
        return data.reshape(ref.shape)


def _geometry(rows: Sequence[Sequence[float]], count: int) -> np.ndarray:
    if not rows:
        out = np.zeros((0, GEOMETRY_DIM), np.float32)
    else:
        out = np.asarray(rows, dtype=np.float32).reshape(-1, GEOMETRY_DIM)
    if out.shape[0] != count:
        raise ValueError(f"{out.shape[0]} geometry rows for {count} feature rows")
    return out


def load_features(root: Path) -> FeatureSet:
    """Reads ``root/index.json`` and memory-maps its shards."""
    index = json.loads((root / "index.json").read_text(encoding="utf-8"))
    layout = (index.get("version"), index.get("dtype"), index.get("byteOrder"))
    if layout != (FORMAT_VERSION, "float16", "little"):
        raise ValueError(f"unsupported feature index in {root}")
    shards = _Shards(root, index["shards"])
    entities: list[EntityFeatures] = []
    for e in index["entities"]:
        images = shards.array(_ref(e["images"]), REGION_DIM)
        entities.append(
            EntityFeatures(
                id=e["id"], split=e["split"], domain=e.get("domain", ""),
                token_states=shards.array(_ref(e["tokens"]), TEXT_DIM),
                image_features=images, image_geometry=_geometry(e["geometry"], images.shape[0]),
                truncated=bool(e.get("truncated", False)),
            )
        )  # fmt: skip
    queries: list[QueryFeatures] = []
    for q in index["queries"]:
        regions = shards.array(_ref(q["regionFeatures"]), REGION_DIM)
        queries.append(
            QueryFeatures(
                id=q["id"], split=q["split"], kind=q.get("kind", ""), domain=q.get("domain", ""),
                token_states=shards.array(_ref(q["tokens"]), TEXT_DIM),
                region_features=regions,
                region_geometry=_geometry([r["geometry"] for r in q["regions"]], regions.shape[0]),
                mentions=tuple(
                    MentionFeatures(
                        m["id"], int(m["start"]), int(m["end"]), m["gold"], tuple(int(p) for p in m["positions"])
                    )
                    for m in q["mentions"]
                ),
                regions=tuple(RegionInfo(r["id"], tuple(r["box"]), r["gold"]) for r in q["regions"]),  # type: ignore[arg-type]
                pairs=tuple((p["mention"], p["region"]) for p in q["pairs"]),
                truncated=bool(q.get("truncated", False)),
            )
        )  # fmt: skip
    return FeatureSet(
        root=root, bundle=str(index.get("bundle", "")), entities=tuple(entities), queries=tuple(queries),
        entity_index={e.id: i for i, e in enumerate(entities)},
    )  # fmt: skip


def mention_examples(
    features: FeatureSet, split: str | None = None, keep_empty: bool = False
) -> list[MentionExample]:
    """Every gold mention (in index order), optionally of one split. Mentions whose tokens were
    all truncated away (no positions) are dropped unless ``keep_empty``."""
    out: list[MentionExample] = []
    for qi, q in enumerate(features.queries):
        if split is not None and q.split != split:
            continue
        for mi, m in enumerate(q.mentions):
            if m.positions or keep_empty:
                out.append(MentionExample(qi, mi, m.gold))
    return out


def _pad(arrays: Sequence[np.ndarray], width: int, minimum: int = 0) -> tuple[Tensor, Tensor]:
    """[N_i, width] arrays -> float32 [B, N, width] zero-padded and a bool mask [B, N]."""
    length = max([minimum, *(a.shape[0] for a in arrays)])
    out = torch.zeros(len(arrays), length, width, dtype=torch.float32)
    mask = torch.zeros(len(arrays), length, dtype=torch.bool)
    for i, a in enumerate(arrays):
        n = a.shape[0]
        if n:
            out[i, :n] = torch.from_numpy(np.asarray(a, dtype=np.float32))
            mask[i, :n] = True
    return out, mask


def _feature_batch(
    tokens: Sequence[np.ndarray], regions: Sequence[np.ndarray], geometry: Sequence[np.ndarray]
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    token_states, token_mask = _pad(tokens, TEXT_DIM)  # [B, T, 384], [B, T]
    region_features, region_mask = _pad(regions, REGION_DIM, minimum=1)  # [B, R, 1280], [B, R]
    region_geometry, _ = _pad(geometry, GEOMETRY_DIM, minimum=1)  # [B, R, 5]
    return token_states, token_mask, region_features, region_geometry, region_mask


def collate_contexts(features: FeatureSet, examples: Sequence[MentionExample]) -> ContextExamples:
    """Mentions in context -> ContextBatch (caption tokens + all the query's regions) and masks."""
    queries = [features.queries[e.query] for e in examples]
    batch = ContextBatch(
        *_feature_batch(
            [q.token_states for q in queries],
            [q.region_features for q in queries],
            [q.region_geometry for q in queries],
        )
    )
    mention_mask = torch.zeros(batch.token_mask.shape, dtype=torch.bool)  # [B, T]
    for i, (e, q) in enumerate(zip(examples, queries, strict=True)):
        positions = list(q.mentions[e.mention].positions)
        if positions:
            mention_mask[i, positions] = True
    return ContextExamples(
        features=batch, mention_mask=mention_mask, gold=tuple(e.gold for e in examples),
        query_ids=tuple(q.id for q in queries),
        mention_ids=tuple(q.mentions[e.mention].id for e, q in zip(examples, queries, strict=True)),
    )  # fmt: skip


def collate_candidates(entities: Sequence[EntityFeatures]) -> CandidateBatch:
    """Entities -> CandidateBatch (name [SEP] description tokens, KB images as full-image regions)."""
    return CandidateBatch(
        *_feature_batch(
            [e.token_states for e in entities],
            [e.image_features for e in entities],
            [e.image_geometry for e in entities],
        )
    )
