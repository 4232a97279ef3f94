"""Zemel: poly-encoder multimodal entity linker after Zheng et al. 2022 (Data Intelligence 4(3)).

Works over features precomputed by the service's frozen ONNX encoders (bge-small token states,
EfficientNet-Lite0 pooled and per-region vectors); see ``config.py`` for the shapes.
"""

from __future__ import annotations

from .config import EncoderConfig, ModelConfig, PolyConfig
from .model import (
    BiHead,
    CandidateBatch,
    CandidateEncoder,
    ContextBatch,
    ContextEncoder,
    ContextOutput,
    CrossEncoder,
    PolyHead,
    ZemelModel,
)

__all__ = [
    "BiHead",
    "CandidateBatch",
    "CandidateEncoder",
    "ContextBatch",
    "ContextEncoder",
    "ContextOutput",
    "CrossEncoder",
    "EncoderConfig",
    "ModelConfig",
    "PolyConfig",
    "PolyHead",
    "ZemelModel",
]
