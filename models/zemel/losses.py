"""Cross-entropy over a candidate set per example: in-batch negatives plus given hard negatives."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .layers import NEG_INF


@dataclass(frozen=True)
class CandidateSet:
    """Per-example candidates: column i of the first B holds example i's gold (in-batch)."""

    vectors: Tensor  # [B, K, H], K = B + N
    labels: Tensor  # [B] int64, the gold column
    valid: Tensor  # [B, K] bool; False where a negative is in fact the gold entity


def build_candidate_set(
    positives: Tensor,
    hard_negatives: Tensor | None = None,
    positive_ids: Tensor | None = None,
    hard_negative_ids: Tensor | None = None,
) -> CandidateSet:
    """positives [B, H] (gold vectors, each a negative for the others), hard_negatives [B, N, H].
    With entity ids, a "negative" equal to the example's gold (a duplicate in the batch, or a
    hard negative that is the gold) is masked out rather than taught as wrong."""
    b = positives.shape[0]
    vectors = positives[None].expand(b, b, positives.shape[-1])  # [B, B, H]
    if hard_negatives is not None:
        vectors = torch.cat([vectors, hard_negatives], dim=1)  # [B, B+N, H]
    labels = torch.arange(b, device=positives.device)  # [B]
    valid = torch.ones(vectors.shape[:2], dtype=torch.bool, device=positives.device)  # [B, K]
    if positive_ids is not None:
        ids = positive_ids[None].expand(b, b)  # [B, B]
        if hard_negatives is not None:
            if hard_negative_ids is None:
                raise ValueError("hard_negative_ids are needed with positive_ids and hard negatives")
            ids = torch.cat([ids, hard_negative_ids], dim=1)  # [B, K]
        valid = ids != positive_ids[:, None]  # [B, K]
        valid[labels, labels] = True
    return CandidateSet(vectors, labels, valid)


def candidate_cross_entropy(scores: Tensor, labels: Tensor, valid: Tensor | None = None) -> Tensor:
    """scores [B, K], labels [B] -> mean cross-entropy; invalid columns are excluded."""
    if valid is not None:
        scores = scores.masked_fill(~valid, NEG_INF)  # [B, K]
    return F.cross_entropy(scores, labels)  # []
