"""Attention building blocks: masked multi-head attention, ViLBERT-style co-attention, stream encoder.

Attention is written out rather than using ``nn.MultiheadAttention`` / SDPA so that (1) a query
with no valid key (a sample with zero regions) yields a finite, padding-independent output
instead of NaN, and (2) the TorchScript ONNX exporter (no onnxscript here) emits plain ops.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .config import EncoderConfig

NEG_INF = -1e9  # finite: exp underflows to exactly 0 in float32, never produces NaN


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention with a key padding mask; fully masked queries get zeros."""

    def __init__(self, width: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = width // heads
        self.q = nn.Linear(width, width)
        self.k = nn.Linear(width, width)
        self.v = nn.Linear(width, width)
        self.out = nn.Linear(width, width)
        self.drop = nn.Dropout(dropout)

    def _split(self, x: Tensor) -> Tensor:
        b, n = x.shape[0], x.shape[1]
        return x.reshape(b, n, self.heads, self.head_dim).transpose(1, 2)  # [B, h, N, d]

    def forward(self, query: Tensor, key_value: Tensor, key_mask: Tensor) -> Tensor:
        """query [B, Tq, H], key_value [B, Tk, H], key_mask [B, Tk] bool (True = real) -> [B, Tq, H]."""
        q = self._split(self.q(query))  # [B, h, Tq, d]
        k = self._split(self.k(key_value))  # [B, h, Tk, d]
        v = self._split(self.v(key_value))  # [B, h, Tk, d]
        logits = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)  # [B, h, Tq, Tk]
        valid = key_mask[:, None, None, :]  # [B, 1, 1, Tk]
        logits = logits.masked_fill(~valid, NEG_INF)  # [B, h, Tq, Tk]
        weights = torch.softmax(logits, dim=-1) * valid.to(logits.dtype)  # [B, h, Tq, Tk]; all-0 rows if no key
        mixed = self.drop(weights) @ v  # [B, h, Tq, d]
        b, tq = query.shape[0], query.shape[1]
        mixed = mixed.transpose(1, 2).reshape(b, tq, self.heads * self.head_dim)  # [B, Tq, H]
        has_key = (key_mask.to(logits.dtype).sum(-1) > 0).to(logits.dtype)[:, None, None]  # [B, 1, 1]
        return self.out(mixed) * has_key  # [B, Tq, H]; no update at all when there is nothing to attend


class FeedForward(nn.Module):
    """Position-wise GELU MLP."""

    def __init__(self, width: int, multiplier: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(width, multiplier * width),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(multiplier * width, width),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)  # [B, N, H]


class AttentionBlock(nn.Module):
    """Pre-norm residual attention + feed-forward; cross-attention when keys come from another stream."""

    def __init__(self, cfg: EncoderConfig, cross: bool) -> None:
        super().__init__()
        self.cross = cross
        self.norm_q = nn.LayerNorm(cfg.width)
        self.norm_kv = nn.LayerNorm(cfg.width) if cross else None
        self.attn = MultiHeadAttention(cfg.width, cfg.heads, cfg.dropout)
        self.norm_ff = nn.LayerNorm(cfg.width)
        self.ff = FeedForward(cfg.width, cfg.ffn_multiplier, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor, other: Tensor, other_mask: Tensor) -> Tensor:
        """x [B, N, H]; other [B, M, H] with other_mask [B, M] (for self-attention pass x and its mask)."""
        q = self.norm_q(x)  # [B, N, H]
        kv = self.norm_kv(other) if self.norm_kv is not None else q  # [B, M, H]
        x = x + self.drop(self.attn(q, kv, other_mask))  # [B, N, H]
        return x + self.drop(self.ff(self.norm_ff(x)))  # [B, N, H]


class CoAttentionLayer(nn.Module):
    """ViLBERT co-attention: text queries attend to regions and region queries attend to text,
    both computed from the layer's inputs (a simultaneous exchange), each with its own FFN."""

    def __init__(self, cfg: EncoderConfig, update_regions: bool = True) -> None:
        super().__init__()
        self.text_from_regions = AttentionBlock(cfg, cross=True)
        self.regions_from_text = AttentionBlock(cfg, cross=True) if update_regions else None

    def forward(self, text: Tensor, text_mask: Tensor, regions: Tensor, region_mask: Tensor) -> tuple[Tensor, Tensor]:
        new_text = self.text_from_regions(text, regions, region_mask)  # [B, T, H]
        if self.regions_from_text is None:  # nothing reads the regions after this layer
            return new_text, regions
        new_regions = self.regions_from_text(regions, text, text_mask)  # [B, R, H]
        return new_text, new_regions


class StreamEncoder(nn.Module):
    """Two-stream encoder: input projections, L co-attention layers, S self-attention layers per
    stream, final LayerNorms. Padded positions of the outputs are zeroed so that nothing
    downstream can depend on them.

    With ``region_output=False`` (candidate and cross encoders, which read only the text stream)
    the blocks whose region outputs nothing reads are not built: the last co-attention layer's
    region update, the region self-attention layers and the region output norm. They would
    otherwise be parameters without gradients."""

    def __init__(self, cfg: EncoderConfig, region_output: bool = True) -> None:
        super().__init__()
        self.cfg = cfg
        self.region_output = region_output
        self.text_proj = nn.Linear(cfg.text_dim, cfg.width)
        self.text_norm = nn.LayerNorm(cfg.width)
        self.region_proj = nn.Linear(cfg.region_dim, cfg.width)
        self.geometry_proj = nn.Linear(cfg.geometry_dim, cfg.width)
        self.region_norm = nn.LayerNorm(cfg.width)
        self.co_layers = nn.ModuleList(
            CoAttentionLayer(cfg, update_regions=region_output or i < cfg.co_layers - 1) for i in range(cfg.co_layers)
        )
        self.text_self = nn.ModuleList(AttentionBlock(cfg, cross=False) for _ in range(cfg.self_layers))
        n_region_self = cfg.self_layers if region_output else 0
        self.region_self = nn.ModuleList(AttentionBlock(cfg, cross=False) for _ in range(n_region_self))
        self.text_out = nn.LayerNorm(cfg.width)
        self.region_out = nn.LayerNorm(cfg.width) if region_output else None

    def embed(
        self, token_states: Tensor, region_features: Tensor, region_geometry: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Project both streams to width H (regions: appearance + geometry, summed)."""
        text = self.text_norm(self.text_proj(token_states))  # [B, T, H]
        regions = self.region_norm(self.region_proj(region_features) + self.geometry_proj(region_geometry))  # [B, R, H]
        return text, regions

    def encode(self, text: Tensor, text_mask: Tensor, regions: Tensor, region_mask: Tensor) -> tuple[Tensor, Tensor]:
        """Run the stack over already-embedded streams (the cross-encoder adds segment embeddings first).
        Without region_output the returned regions are intermediate states: do not read them."""
        for layer in self.co_layers:
            text, regions = layer(text, text_mask, regions, region_mask)  # [B, T, H], [B, R, H]
        for block in self.text_self:
            text = block(text, text, text_mask)  # [B, T, H]
        for block in self.region_self:
            regions = block(regions, regions, region_mask)  # [B, R, H]
        text = self.text_out(text) * text_mask[..., None].to(text.dtype)  # [B, T, H], padding zeroed
        if self.region_out is not None:
            regions = self.region_out(regions) * region_mask[..., None].to(regions.dtype)  # [B, R, H]
        return text, regions

    def forward(
        self,
        token_states: Tensor,
        token_mask: Tensor,
        region_features: Tensor,
        region_geometry: Tensor,
        region_mask: Tensor,
    ) -> tuple[Tensor, Tensor]:
        """token_states [B, T, text_dim], region_features [B, R, region_dim], region_geometry
        [B, R, 5], masks [B, T] / [B, R] bool -> (text [B, T, H], regions [B, R, H])."""
        text, regions = self.embed(token_states, region_features, region_geometry)  # [B, T, H], [B, R, H]
        return self.encode(text, token_mask, regions, region_mask)
