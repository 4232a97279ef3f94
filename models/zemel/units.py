"""Linking units (what one score list answers) and their candidate lists from the real generator.

A unit is a gold pair (mention + region), a lone mention or a lone region of a query, as the
harness counts them for V&T-KG (EVAL.md). Its candidates are what the project's CandidateService
returned for the mention's text and for the region's crop (``run-baselines.ts --candidates-out``):
the union of both lists for a pair. Each candidate carries GENERATOR_FEATURES, the generators'
evidence the model's prior reads; an entity no generator found has all zeros, as at serving.

    candidates = load_candidate_lists(Path("var/candidates/all-norobust.jsonl"))  # strip_robust.py
    units = build_units(features, candidates, split="train", augment=True)
    batch = collate_units(features, units[:16])   # UnitContexts
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from .data import FeatureSet, _feature_batch
from .model import ContextBatch

GENERATORS = ("BM25", "SHARED_WORDS", "CONTAINMENT", "ACRONYM", "DENSE_TEXT", "DENSE_IMAGE")
# Order of the prior's input; the service builds the same vector from CandidateService hits.
GENERATOR_FEATURES = tuple(f"{g}.score" for g in GENERATORS) + tuple(f"{g}.found" for g in GENERATORS)
_TEXT_GENERATORS = frozenset(GENERATORS[:5])

UnitKind = Literal["pair", "mention", "region"]
Hits = dict[str, dict[str, float]]  # entity id -> generator -> score, one generator call's list


@dataclass(frozen=True)
class QueryCandidates:
    """One CandidateService list per gold mention and per gold region, in gold order."""

    mentions: tuple[tuple[str, ...], ...]  # entity ids, generator order (best first)
    regions: tuple[tuple[str, ...], ...]
    mention_hits: tuple[Hits, ...]
    region_hits: tuple[Hits, ...]


def _parse_list(raw: list[dict[str, object]]) -> tuple[tuple[str, ...], Hits]:
    order: list[str] = []
    hits: Hits = {}
    for c in raw:
        entity = str(c["entity"])
        order.append(entity)
        gens = c["generators"]
        assert isinstance(gens, list)
        hits[entity] = {str(h["generator"]): float(h["score"]) for h in gens}
    return tuple(order), hits


def load_candidate_lists(path: Path) -> dict[str, QueryCandidates]:
    """query id -> its lists, from the JSON lines of ``run-baselines.ts --candidates-out``."""
    out: dict[str, QueryCandidates] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            q = json.loads(line)
            ms = [_parse_list(m) for m in q["mentions"]]
            rs = [_parse_list(r) for r in q["regions"]]
            out[q["query"]] = QueryCandidates(
                tuple(m[0] for m in ms), tuple(r[0] for r in rs), tuple(m[1] for m in ms), tuple(r[1] for r in rs)
            )
    return out


def generator_features(text_hits: dict[str, float] | None, image_hits: dict[str, float] | None) -> np.ndarray:
    """One candidate's evidence -> [12] float32 (GENERATOR_FEATURES order). Text generators are
    read from the mention's list, DENSE_IMAGE from the region's."""
    out = np.zeros(len(GENERATOR_FEATURES), np.float32)
    n = len(GENERATORS)
    for i, g in enumerate(GENERATORS):
        source = image_hits if g == "DENSE_IMAGE" else text_hits
        if source is not None and g in source:
            out[i] = source[g]
            out[n + i] = 1.0
    return out


@dataclass(frozen=True)
class Unit:
    query: int  # index into FeatureSet.queries
    mention: int | None  # index into the query's mentions
    region: int | None  # index into the query's regions
    kind: UnitKind
    gold: str | None
    candidates: tuple[str, ...]  # the generator's union list, generator order
    features: np.ndarray  # [K, 12] float32, row i for candidates[i]

    def features_of(self, entity: str) -> np.ndarray:
        """[12]; zeros for an entity no generator found (e.g. a gold inserted by the protocol)."""
        try:
            return self.features[self.candidates.index(entity)]
        except ValueError:
            return np.zeros(len(GENERATOR_FEATURES), np.float32)


def make_unit(query: int, q_cands: QueryCandidates, mention: int | None, region: int | None, gold: str | None,
              allowed: frozenset[str] | None = None) -> Unit:  # fmt: skip
    """The unit of a mention and/or region with the union of their lists (mention's first).
    ``allowed`` keeps only those entities (training: the split's own entities)."""
    kind: UnitKind = (
        "pair" if mention is not None and region is not None else ("mention" if mention is not None else "region")
    )
    text_hits = q_cands.mention_hits[mention] if mention is not None else None
    image_hits = q_cands.region_hits[region] if region is not None else None
    order: list[str] = []
    seen: set[str] = set()
    for ids in (q_cands.mentions[mention] if mention is not None else (),
                q_cands.regions[region] if region is not None else ()):  # fmt: skip
        for e in ids:
            if e not in seen and (allowed is None or e in allowed):
                seen.add(e)
                order.append(e)
    feats = np.stack([generator_features(text_hits.get(e) if text_hits else None,
                                         image_hits.get(e) if image_hits else None) for e in order]) if order else \
        np.zeros((0, len(GENERATOR_FEATURES)), np.float32)  # fmt: skip
    return Unit(query, mention, region, kind, gold, tuple(order), feats)


def build_units(features: FeatureSet, candidates: dict[str, QueryCandidates], split: str,
                augment: bool = False, allowed: frozenset[str] | None = None,
                only_query: int | None = None) -> list[Unit]:  # fmt: skip
    """The V&T-KG units of a split: gold pairs, then lone mentions, then lone regions, per query.
    ``augment`` (training) adds each pair's mention alone and region alone, so the model also
    learns the contexts V-T-KG asks for before anything is paired."""
    units: list[Unit] = []
    for qi, q in enumerate(features.queries):
        if q.split != split or (only_query is not None and qi != only_query):
            continue
        qc = candidates.get(q.id)
        if qc is None:
            raise KeyError(f"no candidate lists for query {q.id}")
        if len(qc.mentions) != len(q.mentions) or len(qc.regions) != len(q.regions):
            raise ValueError(f"candidate lists of {q.id} do not match its gold mentions/regions")
        mention_index = {m.id: i for i, m in enumerate(q.mentions)}
        region_index = {r.id: i for i, r in enumerate(q.regions)}
        paired_m: set[int] = set()
        paired_r: set[int] = set()
        for m_id, r_id in q.pairs:
            mi, ri = mention_index[m_id], region_index[r_id]
            paired_m.add(mi)
            paired_r.add(ri)
            gold = q.mentions[mi].gold
            units.append(make_unit(qi, qc, mi, ri, gold, allowed))
            if augment:
                units.append(make_unit(qi, qc, mi, None, gold, allowed))
                units.append(make_unit(qi, qc, None, ri, q.regions[ri].gold, allowed))
        for mi, m in enumerate(q.mentions):
            if mi not in paired_m:
                units.append(make_unit(qi, qc, mi, None, m.gold, allowed))
        for ri, r in enumerate(q.regions):
            if ri not in paired_r:
                units.append(make_unit(qi, qc, None, ri, r.gold, allowed))
    return units


@dataclass(frozen=True)
class UnitContexts:
    """A batch of units' contexts: the query's caption and all its regions, with the unit marked."""

    features: ContextBatch
    mention_mask: Tensor  # [B, T] bool
    region_focus: Tensor  # [B, R] bool


def collate_units(features: FeatureSet, units: Sequence[Unit]) -> UnitContexts:
    queries = [features.queries[u.query] for u in units]
    batch = ContextBatch(*_feature_batch([q.token_states for q in queries], [q.region_features for q in queries],
                                         [q.region_geometry for q in queries]))  # fmt: skip
    mention_mask = torch.zeros(batch.token_mask.shape, dtype=torch.bool)  # [B, T]
    region_focus = torch.zeros(batch.region_mask.shape, dtype=torch.bool)  # [B, R]
    for i, (u, q) in enumerate(zip(units, queries, strict=True)):
        if u.mention is not None:
            positions = list(q.mentions[u.mention].positions)
            if positions:
                mention_mask[i, positions] = True
        if u.region is not None:
            region_focus[i, u.region] = True
    return UnitContexts(batch, mention_mask, region_focus)


def feature_matrix(units: Sequence[Unit], entities: Sequence[Sequence[str]]) -> Tensor:
    """Per unit, the features of the given entity ids -> [B, K, 12] (zeros where not found)."""
    k = max((len(row) for row in entities), default=0)
    out = np.zeros((len(units), k, len(GENERATOR_FEATURES)), np.float32)
    for i, (u, row) in enumerate(zip(units, entities, strict=True)):
        position = {e: j for j, e in enumerate(u.candidates)}
        for j, e in enumerate(row):
            p = position.get(e)
            if p is not None:
                out[i, j] = u.features[p]
    return torch.from_numpy(out)
