"""Typed, frozen configurations of the Zemel model (no untyped dicts, so exports are reproducible)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class EncoderConfig:
    """One two-stream (text, regions) co-attention encoder; the context and candidate encoders
    each get one, with separate weights (as in the poly-encoder of Humeau et al.)."""

    width: int = 192  # H; 192 trains ~1.1 s per step (B=32, 3 candidates each) on one CPU thread
    heads: int = 4
    co_layers: int = 2  # L co-attention layers (text <-> regions)
    self_layers: int = 1  # self-attention layers per stream after the co-attention stack
    ffn_multiplier: int = 4  # feed-forward inner width = ffn_multiplier * width
    dropout: float = 0.1
    text_dim: int = 384  # bge-small-en-v1.5 token states
    region_dim: int = 1280  # EfficientNet-Lite0 pooled / per-region features
    geometry_dim: int = 5  # x1, y1, x2, y2 in [0, 1] and the fraction of the image covered

    def __post_init__(self) -> None:
        if self.width % self.heads != 0:
            raise ValueError(f"width {self.width} is not divisible by heads {self.heads}")
        if self.co_layers < 0 or self.self_layers < 0:
            raise ValueError("layer counts must be >= 0")


@dataclass(frozen=True)
class PolyConfig:
    """The poly-linking head: m learned codes summarise the context sequence."""

    codes: int = 16  # m


@dataclass(frozen=True)
class ModelConfig:
    """The whole model: context and candidate encoders, the poly head and the comparison heads."""

    context: EncoderConfig = field(default_factory=EncoderConfig)
    candidate: EncoderConfig = field(default_factory=EncoderConfig)
    cross: EncoderConfig = field(default_factory=EncoderConfig)  # the cross-encoder baseline
    poly: PolyConfig = field(default_factory=PolyConfig)
    bi_pooling: Literal["cls", "mean"] = "cls"  # the bi-encoder baseline's context vector
    # Generator evidence per candidate (units.GENERATOR_FEATURES: each generator's score, then
    # whether it found the candidate); a small MLP turns it into a prior added to every head's
    # score. 0 = no prior: the head alone.
    candidate_features: int = 12

    def __post_init__(self) -> None:
        if self.context.width != self.candidate.width:
            raise ValueError("context and candidate encoders must share the width H")
        if self.candidate_features < 0:
            raise ValueError("candidate_features must be >= 0")
        if self.bi_pooling not in ("cls", "mean"):
            raise ValueError(f"bi_pooling must be 'cls' or 'mean', not {self.bi_pooling!r}")

    @property
    def width(self) -> int:
        return self.context.width

    @classmethod
    def tiny(cls) -> ModelConfig:
        """A few thousand parameters per block: for structural tests only."""
        enc = EncoderConfig(width=32, heads=2, co_layers=1, self_layers=1, ffn_multiplier=2, dropout=0.0)
        return cls(context=enc, candidate=enc, cross=enc, poly=PolyConfig(codes=4), candidate_features=12)


def model_config_from_json(raw: dict[str, Any]) -> ModelConfig:
    """The ``model`` object of a run's config.json (``asdict(ModelConfig)``) -> ModelConfig."""
    return ModelConfig(
        context=EncoderConfig(**raw["context"]), candidate=EncoderConfig(**raw["candidate"]),
        cross=EncoderConfig(**raw["cross"]), poly=PolyConfig(**raw["poly"]), bi_pooling=raw["bi_pooling"],
        candidate_features=int(raw.get("candidate_features", 0)),
    )  # fmt: skip
