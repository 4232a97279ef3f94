"""Tests of models/zemel/export.py on ModelConfig.tiny() with RANDOM weights.

These check STRUCTURE, not quality: the three ONNX graphs compute what PyTorch computes (within
1e-4) on several dynamic shapes including zero regions, declare the documented names, dtypes and
dynamic axes at opset 17, and exporting twice from the same seed gives the same outputs.

    var/pyenv/bin/python -m pytest -q models/tests/test_zemel_export.py
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "models"))

from zemel import ModelConfig, ZemelModel  # noqa: E402
from zemel.export import (  # noqa: E402
    CANDIDATE,
    CONTEXT,
    OPSET,
    POLY_SCORE,
    TOLERANCE,
    ExportedGraphs,
    export_all,
    feature_inputs,
    run_onnx,
    verify,
)

CFG = ModelConfig.tiny()


@pytest.fixture(scope="module", autouse=True)
def single_thread() -> Iterator[None]:
    """Tiny tensors: intra-op threads only add contention on a loaded 2-core box."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def seeded_model(seed: int) -> ZemelModel:
    torch.manual_seed(seed)
    return ZemelModel(CFG).eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[ZemelModel, ExportedGraphs]:
    model = seeded_model(0)
    return model, export_all(model, tmp_path_factory.mktemp("zemel-a"))


def test_parity_on_dynamic_shapes(exported: tuple[ZemelModel, ExportedGraphs]) -> None:
    model, graphs = exported
    shapes = ((1, 1, 0), (3, 7, 4), (2, 12, 1), (5, 3, 9), (2, 20, 0))  # (batch, tokens, regions)
    results = verify(model, graphs, shapes)
    assert {r.graph for r in results} == {"context", "candidate", "poly_score"}
    assert len(results) == 3 * len(shapes)
    assert max(r.max_abs_diff for r in results) <= TOLERANCE


def test_zero_regions_equal_one_masked_region(exported: tuple[ZemelModel, ExportedGraphs]) -> None:
    """Both conventions for 'no regions' (R = 0, or one region of mask 0) agree in ORT."""
    _, graphs = exported
    ts, tm, rf, rg, rm = feature_inputs(CFG, batch=2, tokens=5, regions=1, seed=3)
    empty = run_onnx(graphs.context, CONTEXT.inputs, (ts, tm, rf[:, :0], rg[:, :0], rm[:, :0]))
    masked = run_onnx(graphs.context, CONTEXT.inputs, (ts, tm, rf, rg, torch.zeros_like(rm)))
    assert np.isfinite(empty).all()
    np.testing.assert_allclose(empty, masked, atol=1e-5, rtol=0)


def test_declared_interface(exported: tuple[ZemelModel, ExportedGraphs]) -> None:
    _, graphs = exported
    m, h = CFG.poly.codes, CFG.width
    expected = {
        graphs.context: (CONTEXT, {"context_codes": ["batch", m, h]}),
        graphs.candidate: (CANDIDATE, {"candidate_vector": ["batch", h]}),
        graphs.poly_score: (POLY_SCORE, {"scores": ["batch", "candidates"]}),
    }
    int64, f32 = onnx.TensorProto.INT64, onnx.TensorProto.FLOAT
    for path, (spec, outputs) in expected.items():
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto)
        assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) == OPSET
        assert [i.name for i in proto.graph.input] == list(spec.inputs)
        for value in proto.graph.input:
            dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
            assert dims[0] == "batch", (value.name, dims)
            dtype = value.type.tensor_type.elem_type
            assert dtype == (int64 if value.name.endswith("_mask") else f32), value.name
            if value.name != "context_codes":
                assert isinstance(dims[1], str), (value.name, dims)  # tokens / regions / images / candidates
        for value in proto.graph.output:
            dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
            assert dims == outputs[value.name], (value.name, dims)


def test_export_is_deterministic_for_a_seed(
    exported: tuple[ZemelModel, ExportedGraphs], tmp_path: Path
) -> None:
    _, first = exported
    second = export_all(seeded_model(0), tmp_path)
    args = feature_inputs(CFG, batch=3, tokens=6, regions=2, seed=11)
    for a, b, spec in ((first.context, second.context, CONTEXT), (first.candidate, second.candidate, CANDIDATE)):
        np.testing.assert_array_equal(run_onnx(a, spec.inputs, args), run_onnx(b, spec.inputs, args))
    other = export_all(seeded_model(1), tmp_path / "other")
    assert not np.allclose(run_onnx(first.context, CONTEXT.inputs, args), run_onnx(other.context, CONTEXT.inputs, args))
