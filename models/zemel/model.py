"""Context and candidate encoders, the poly-linking head and the bi-/cross-encoder baselines."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .config import EncoderConfig, ModelConfig
from .layers import NEG_INF, StreamEncoder

FULL_IMAGE_GEOMETRY = (0.0, 0.0, 1.0, 1.0, 1.0)  # a whole KB image as one "region"


@dataclass(frozen=True)
class FeatureBatch:
    """Precomputed encoder features of a batch: text token states and image regions.

    Masks are bool or int64 (nonzero = real). Leading dims are [B] (or [B, K] for the
    cross-encoder's per-candidate features)."""

    token_states: Tensor  # [..., T, text_dim]
    token_mask: Tensor  # [..., T]
    region_features: Tensor  # [..., R, region_dim]
    region_geometry: Tensor  # [..., R, geometry_dim]
    region_mask: Tensor  # [..., R]

    def flatten_leading(self, keep: int = 2) -> FeatureBatch:
        """Merge all leading dims into one batch dim (e.g. [B, K, T, D] -> [B*K, T, D])."""

        def f(x: Tensor, trailing: int) -> Tensor:
            lead = math.prod(x.shape[: x.dim() - trailing])  # not -1: ambiguous when an axis is 0 (R = 0)
            return x.reshape(lead, *x.shape[x.dim() - trailing :])

        return FeatureBatch(
            f(self.token_states, keep), f(self.token_mask, keep - 1),
            f(self.region_features, keep), f(self.region_geometry, keep), f(self.region_mask, keep - 1),
        )  # fmt: skip


class ContextBatch(FeatureBatch):
    """A mention in context: caption token states (mention marked upstream) and detected regions."""


class CandidateBatch(FeatureBatch):
    """Entities: `[CLS] name [ENT] description [SEP]` token states and KB images' pooled vectors
    as regions (geometry FULL_IMAGE_GEOMETRY)."""


def full_image_geometry(batch: int, images: int) -> Tensor:
    """Geometry rows for whole KB images."""
    return torch.tensor(FULL_IMAGE_GEOMETRY).expand(batch, images, 5).contiguous()  # [B, I, 5]


def as_bool(mask: Tensor) -> Tensor:
    return mask != 0  # [..., N] bool; accepts int64 (the ONNX interface) and bool


@dataclass(frozen=True)
class ContextOutput:
    """The context sequence (regions then text, as in the brief: [B, R+T, H]) and its mask."""

    sequence: Tensor  # [B, R+T, H], padded positions zeroed
    mask: Tensor  # [B, R+T] bool
    text_first: Tensor  # [B, H], the text stream's first position ([CLS])


class ContextEncoder(nn.Module):
    """Encodes the mention's caption and the image regions jointly (co-attention).

    What is being linked is marked in the input (the frozen ONNX text and image encoders never
    saw a marker): a learned vector is added to the caption's token states at the mention's
    positions (``mention_mask``) and another to the features of the region in focus
    (``region_focus``). A pair marks both, a lone mention only its tokens, a lone region only
    the region; the other regions and words stay in the context unmarked."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.encoder = StreamEncoder(cfg)
        self.mention_marker = nn.Parameter(torch.randn(cfg.text_dim) * 0.1)  # [384]
        self.region_marker = nn.Parameter(torch.randn(cfg.region_dim) * 0.03)  # [1280]; features are L2-normalised

    def forward(self, batch: FeatureBatch, mention_mask: Tensor, region_focus: Tensor) -> ContextOutput:
        """mention_mask [B, T], region_focus [B, R] (bool or int64, nonzero = marked)."""
        token_mask, region_mask = as_bool(batch.token_mask), as_bool(batch.region_mask)  # [B, T], [B, R]
        dtype = batch.token_states.dtype
        tokens = batch.token_states + as_bool(mention_mask)[..., None].to(dtype) * self.mention_marker  # [B, T, 384]
        focus = as_bool(region_focus)[..., None].to(dtype)  # [B, R, 1]
        regions_in = batch.region_features + focus * self.region_marker  # [B, R, 1280]
        text, regions = self.encoder(
            tokens, token_mask, regions_in, batch.region_geometry, region_mask
        )  # [B, T, H], [B, R, H]
        sequence = torch.cat([regions, text], dim=1)  # [B, R+T, H]
        mask = torch.cat([region_mask, token_mask], dim=1)  # [B, R+T]
        return ContextOutput(sequence, mask, text[:, 0])


class CandidateEncoder(nn.Module):
    """Encodes an entity to ONE vector, cached on its node. The vector is the text stream's first
    position ([CLS]): every layer lets it attend to the images (co-attention) and to all tokens
    (self-attention), so it already is a learned pooling; an extra pooling layer would add
    parameters and an export step for no clear gain (BLINK and the poly-encoder also use [CLS])."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.encoder = StreamEncoder(cfg, region_output=False)

    def forward(self, batch: FeatureBatch) -> Tensor:
        text, _ = self.encoder(
            batch.token_states, as_bool(batch.token_mask),
            batch.region_features, batch.region_geometry, as_bool(batch.region_mask),
        )  # fmt: skip  # [B, T, H]
        return text[:, 0]  # [B, H]


class PolyHead(nn.Module):
    """m learned codes attend over the context sequence (Humeau et al. 2020); each candidate then
    attends over the m code outputs. Both attentions and the final score are dot products scaled
    by 1/sqrt(H): raw products of LayerNorm outputs are ~H, which saturates the softmax and, in
    the score, starts training at a loss of ~17 with every gradient clipped (measured on the first
    runs); the scale changes no ranking."""

    def __init__(self, width: int, codes: int) -> None:
        super().__init__()
        self.width = width
        self.codes = nn.Parameter(torch.randn(codes, width))  # [m, H]; ~unit entries like LN outputs

    def summarise(self, sequence: Tensor, mask: Tensor) -> Tensor:
        """sequence [B, N, H], mask [B, N] bool -> context codes [B, m, H]."""
        logits = torch.einsum("mh,bnh->bmn", self.codes, sequence) / math.sqrt(self.width)  # [B, m, N]
        valid = mask[:, None, :]  # [B, 1, N]
        weights = torch.softmax(logits.masked_fill(~valid, NEG_INF), dim=-1) * valid.to(logits.dtype)  # [B, m, N]
        return weights @ sequence  # [B, m, H]

    def score(self, context_codes: Tensor, candidates: Tensor) -> Tensor:
        return poly_score(context_codes, candidates, self.width)  # [B, K]


def poly_score(context_codes: Tensor, candidates: Tensor, width: int) -> Tensor:
    """context_codes [B, m, H], candidates [B, K, H] -> scores [B, K]. Parameter-free, so the
    service can score cached candidate vectors against stored codes. ``width`` is passed as a
    Python int (not read from a shape) so the ONNX trace holds it as a constant, not a Shape op."""
    logits = candidates @ context_codes.transpose(1, 2) / math.sqrt(width)  # [B, K, m]
    weights = torch.softmax(logits, dim=-1)  # [B, K, m]
    context = weights @ context_codes  # [B, K, H], one context vector per candidate
    return (context * candidates).sum(-1) / math.sqrt(width)  # [B, K]


class BiHead(nn.Module):
    """Bi-encoder baseline: one context vector ([CLS] of the text stream or masked mean), dot product."""

    def __init__(self, pooling: str) -> None:
        super().__init__()
        self.pooling = pooling

    def context_vector(self, ctx: ContextOutput) -> Tensor:
        if self.pooling == "cls":
            return ctx.text_first  # [B, H]
        m = ctx.mask.to(ctx.sequence.dtype)[..., None]  # [B, N, 1]
        return (ctx.sequence * m).sum(1) / m.sum(1).clamp_min(1.0)  # [B, H]

    def forward(self, ctx: ContextOutput, candidates: Tensor) -> Tensor:
        """candidates [B, K, H] -> scores [B, K] (scaled like the poly score)."""
        return (self.context_vector(ctx)[:, None, :] * candidates).sum(-1) / math.sqrt(candidates.shape[-1])  # [B, K]


class GeneratorPrior(nn.Module):
    """What the candidate generators said about a candidate (units.GENERATOR_FEATURES) as an
    additive score: a two-layer MLP, so agreement of generators can count more than their sum.
    The heads learn what the generators miss; the prior keeps what they know (a BM25 or an exact
    name hit) instead of asking 3k training mentions to relearn string matching."""

    def __init__(self, features: int, hidden: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(features, hidden), nn.GELU(), nn.Linear(hidden, 1))

    def forward(self, features: Tensor) -> Tensor:
        """features [B, K, F] -> [B, K]."""
        return self.net(features).squeeze(-1)  # [B, K]


class CrossEncoder(nn.Module):
    """Cross-encoder baseline: mention and candidate encoded jointly, per pair. Text stream =
    caption tokens ++ entity tokens, region stream = context regions ++ KB images, each with a
    learned segment embedding (0 = context, 1 = candidate); score = linear([CLS] of the caption).
    K full encodings per mention: the accuracy reference the poly head is meant to approach."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.encoder = StreamEncoder(cfg, region_output=False)
        self.segment = nn.Parameter(torch.zeros(2, cfg.width))  # [2, H]
        nn.init.normal_(self.segment, std=0.02)
        self.mention_marker = nn.Parameter(torch.randn(cfg.text_dim) * 0.1)  # [384], as in ContextEncoder
        self.region_marker = nn.Parameter(torch.randn(cfg.region_dim) * 0.03)  # [1280]
        self.out = nn.Linear(cfg.width, 1)

    def forward(self, context: FeatureBatch, mention_mask: Tensor, region_focus: Tensor,
                candidates: FeatureBatch) -> Tensor:  # fmt: skip
        """context leading dims [B] (markers [B, T] / [B, R]); candidates leading dims [B, K] -> [B, K]."""
        b, k = candidates.token_states.shape[0], candidates.token_states.shape[1]
        cand = candidates.flatten_leading()  # leading [B*K]
        rep = lambda x: x.repeat_interleave(k, dim=0)  # noqa: E731  [B, ...] -> [B*K, ...]
        dtype = context.token_states.dtype
        tokens = context.token_states + as_bool(mention_mask)[..., None].to(dtype) * self.mention_marker  # [B, T, 384]
        focus = as_bool(region_focus)[..., None].to(dtype)  # [B, R, 1]
        regions_in = context.region_features + focus * self.region_marker  # [B, R, 1280]
        ctx_text, ctx_regions = self.encoder.embed(
            rep(tokens), rep(regions_in), rep(context.region_geometry)
        )  # [B*K, T, H], [B*K, R, H]
        cand_text, cand_regions = self.encoder.embed(
            cand.token_states, cand.region_features, cand.region_geometry
        )  # [B*K, Tc, H], [B*K, I, H]
        text = torch.cat([ctx_text + self.segment[0], cand_text + self.segment[1]], dim=1)  # [B*K, T+Tc, H]
        regions = torch.cat([ctx_regions + self.segment[0], cand_regions + self.segment[1]], dim=1)  # [B*K, R+I, H]
        text_mask = torch.cat([as_bool(rep(context.token_mask)), as_bool(cand.token_mask)], dim=1)  # [B*K, T+Tc]
        region_mask = torch.cat([as_bool(rep(context.region_mask)), as_bool(cand.region_mask)], dim=1)  # [B*K, R+I]
        text, _ = self.encoder.encode(text, text_mask, regions, region_mask)  # [B*K, T+Tc, H]
        return self.out(text[:, 0]).reshape(b, k)  # [B, K]


class ZemelModel(nn.Module):
    """Ties the encoders and heads. Context and candidate encoders have separate weights. Every
    head's score is the head's own score plus the generator prior (when configured)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.context_encoder = ContextEncoder(cfg.context)
        self.candidate_encoder = CandidateEncoder(cfg.candidate)
        self.poly = PolyHead(cfg.width, cfg.poly.codes)
        self.bi = BiHead(cfg.bi_pooling)
        self.cross = CrossEncoder(cfg.cross)
        self.prior = GeneratorPrior(cfg.candidate_features) if cfg.candidate_features else None

    def with_prior(self, scores: Tensor, candidate_features: Tensor | None) -> Tensor:
        """scores [B, K] + prior(candidate_features [B, K, F])."""
        if self.prior is None:
            return scores
        if candidate_features is None:
            raise ValueError("this model has a generator prior: pass candidate_features")
        return scores + self.prior(candidate_features)  # [B, K]

    def context_codes(self, context: FeatureBatch, mention_mask: Tensor, region_focus: Tensor) -> Tensor:
        ctx = self.context_encoder(context, mention_mask, region_focus)
        return self.poly.summarise(ctx.sequence, ctx.mask)  # [B, m, H]

    def context_vector(self, context: FeatureBatch, mention_mask: Tensor, region_focus: Tensor) -> Tensor:
        """The bi-encoder's one context vector [B, H]."""
        return self.bi.context_vector(self.context_encoder(context, mention_mask, region_focus))

    def encode_candidates(self, candidates: FeatureBatch) -> Tensor:
        return self.candidate_encoder(candidates)  # [N, H]

    def score_codes(self, codes: Tensor, candidate_vectors: Tensor, candidate_features: Tensor | None) -> Tensor:
        """Poly-linking: codes [B, m, H], candidate_vectors [B, K, H], features [B, K, F] -> [B, K]."""
        return self.with_prior(poly_score(codes, candidate_vectors, self.cfg.width), candidate_features)

    def score_vector(self, vector: Tensor, candidate_vectors: Tensor, candidate_features: Tensor | None) -> Tensor:
        """Bi-encoder: vector [B, H] -> [B, K]."""
        raw = (vector[:, None, :] * candidate_vectors).sum(-1) / math.sqrt(self.cfg.width)  # [B, K]
        return self.with_prior(raw, candidate_features)

    def score_cross(self, context: FeatureBatch, mention_mask: Tensor, region_focus: Tensor,
                    candidates: FeatureBatch, candidate_features: Tensor | None) -> Tensor:  # fmt: skip
        """Cross-encoder: candidates with leading dims [B, K] -> [B, K]."""
        return self.with_prior(self.cross(context, mention_mask, region_focus, candidates), candidate_features)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
