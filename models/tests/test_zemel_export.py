"""Tests of models/zemel/export.py and release.py on ModelConfig.tiny() with RANDOM weights.

These check STRUCTURE, not quality: the three ONNX graphs compute what PyTorch computes (within
1e-4) on several dynamic shapes including zero regions, with and without the generator prior;
they declare the documented names, dtypes and dynamic axes at opset 17; exporting twice from the
same seed gives the same outputs; and a release folder's manifest and parity fixture are what
ONNX Runtime reproduces.

    var/pyenv/bin/python -m pytest -q models/tests/test_zemel_export.py
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from zemel import ModelConfig, ZemelModel
from zemel.export import (
    CANDIDATE,
    CONTEXT,
    OPSET,
    POLY_SCORE,
    POLY_SCORE_NO_PRIOR,
    TOLERANCE,
    ExportedGraphs,
    PolyScoreGraph,
    context_inputs,
    export_all,
    feature_inputs,
    poly_score_spec,
    run_onnx,
    score_inputs,
    verify,
)
from zemel.release import release, sha256, thresholds_from
from zemel.units import GENERATOR_FEATURES

CFG = ModelConfig.tiny()
CONFIGS = {"prior": CFG, "no_prior": dataclasses.replace(CFG, candidate_features=0)}


@pytest.fixture(scope="module", autouse=True)
def single_thread() -> Iterator[None]:
    """Tiny tensors: intra-op threads only add contention on a loaded 2-core box."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def seeded_model(seed: int, cfg: ModelConfig = CFG) -> ZemelModel:
    torch.manual_seed(seed)
    return ZemelModel(cfg).eval()


@pytest.fixture(scope="module", params=list(CONFIGS))
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[ZemelModel, ExportedGraphs]:  # fmt: skip
    model = seeded_model(0, CONFIGS[request.param])
    return model, export_all(model, tmp_path_factory.mktemp(f"zemel-{request.param}"))


def test_spec_and_inputs_follow_the_prior() -> None:
    assert poly_score_spec(CONFIGS["prior"]) is POLY_SCORE
    assert poly_score_spec(CONFIGS["no_prior"]) is POLY_SCORE_NO_PRIOR
    assert POLY_SCORE.inputs == ("context_codes", "candidate_vectors", "candidate_features")
    assert POLY_SCORE_NO_PRIOR.inputs == ("context_codes", "candidate_vectors")
    assert "candidate_features" not in POLY_SCORE_NO_PRIOR.dynamic_axes()
    codes, vectors, feats = score_inputs(CFG, 2, 5, seed=0)
    assert codes.shape == (2, CFG.poly.codes, CFG.width) and vectors.shape == (2, 5, CFG.width)
    assert feats.shape == (2, 5, len(GENERATOR_FEATURES))
    scores, found = feats[..., :6], feats[..., 6:]
    assert set(found.unique().tolist()) <= {0.0, 1.0} and not (scores * (1 - found)).any()
    assert len(score_inputs(CONFIGS["no_prior"], 2, 5, seed=0)) == 2
    args = context_inputs(CFG, batch=4, tokens=6, regions=3, seed=1)
    assert len(args) == len(CONTEXT.inputs) == 7
    named = dict(zip(CONTEXT.inputs, args, strict=True))
    assert not (named["mention_mask"] * (1 - named["token_mask"])).any()  # marks only real tokens
    assert not (named["region_focus"] * (1 - named["region_mask"])).any()  # focus only on real regions
    assert (named["region_focus"].sum(1) <= 1).all()
    for n in ("token_mask", "mention_mask", "region_mask", "region_focus"):
        assert named[n].dtype == torch.int64, n


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
    ts, tm, mm, rf, rg, rm, focus = context_inputs(CFG, batch=2, tokens=5, regions=1, seed=3)
    empty = run_onnx(graphs.context, CONTEXT.inputs, (ts, tm, mm, rf[:, :0], rg[:, :0], rm[:, :0], focus[:, :0]))
    no_regions = (ts, tm, mm, rf, rg, torch.zeros_like(rm), torch.zeros_like(focus))
    masked = run_onnx(graphs.context, CONTEXT.inputs, no_regions)
    assert np.isfinite(empty).all()
    np.testing.assert_allclose(empty, masked, atol=1e-5, rtol=0)
    cts, ctm, cif, cig, cim = feature_inputs(CFG, batch=2, tokens=4, regions=1, seed=4)
    no_images = run_onnx(graphs.candidate, CANDIDATE.inputs, (cts, ctm, cif[:, :0], cig[:, :0], cim[:, :0]))
    masked_images = run_onnx(graphs.candidate, CANDIDATE.inputs, (cts, ctm, cif, cig, torch.zeros_like(cim)))
    np.testing.assert_allclose(no_images, masked_images, atol=1e-5, rtol=0)


def test_markers_and_features_reach_the_graphs(exported: tuple[ZemelModel, ExportedGraphs]) -> None:
    """The exported graphs are not constant in the markers or (with a prior) the features."""
    model, graphs = exported
    ts, tm, mm, rf, rg, rm, focus = context_inputs(CFG, batch=3, tokens=6, regions=3, seed=5)
    mm = torch.zeros_like(mm)
    mm[:, 0] = 1
    focus = torch.zeros_like(focus)
    focus[:, 0] = 1
    rm = torch.ones_like(rm)
    base = run_onnx(graphs.context, CONTEXT.inputs, (ts, tm, torch.zeros_like(mm), rf, rg, rm, torch.zeros_like(focus)))
    for marked in (
        (ts, tm, mm, rf, rg, rm, torch.zeros_like(focus)),
        (ts, tm, torch.zeros_like(mm), rf, rg, rm, focus),
    ):
        got = run_onnx(graphs.context, CONTEXT.inputs, marked)
        assert (np.abs(got - base).max(axis=(1, 2)) > 1e-4).all()
    spec = poly_score_spec(model.cfg)
    args = score_inputs(model.cfg, 2, 6, seed=6)
    got = run_onnx(graphs.poly_score, spec.inputs, args)
    with torch.no_grad():
        np.testing.assert_allclose(got, PolyScoreGraph(model)(*args).numpy(), atol=TOLERANCE, rtol=0)
    if model.cfg.candidate_features:
        zeroed = run_onnx(graphs.poly_score, spec.inputs, (args[0], args[1], torch.zeros_like(args[2])))
        assert not np.allclose(got, zeroed, atol=1e-4)
        with torch.no_grad():
            prior = model.prior(args[2]) - model.prior(torch.zeros_like(args[2]))
        np.testing.assert_allclose(got - zeroed, prior.numpy(), atol=TOLERANCE, rtol=0)


def test_declared_interface(exported: tuple[ZemelModel, ExportedGraphs]) -> None:
    model, graphs = exported
    cfg = model.cfg
    m, h = cfg.poly.codes, cfg.width
    score_spec = poly_score_spec(cfg)
    expected = {
        graphs.context: (CONTEXT, {"context_codes": ["batch", m, h]}),
        graphs.candidate: (CANDIDATE, {"candidate_vector": ["batch", h]}),
        graphs.poly_score: (score_spec, {"scores": ["batch", "candidates"]}),
    }
    int64, f32 = onnx.TensorProto.INT64, onnx.TensorProto.FLOAT
    int_inputs = {"token_mask", "mention_mask", "region_mask", "region_focus", "image_mask"}
    trailing = {"token_states": 384, "region_features": 1280, "image_features": 1280, "region_geometry": 5,
                "image_geometry": 5, "candidate_vectors": h, "candidate_features": cfg.candidate_features}  # fmt: skip
    for path, (spec, outputs) in expected.items():
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto)
        assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) == OPSET
        assert [i.name for i in proto.graph.input] == list(spec.inputs)
        assert [o.name for o in proto.graph.output] == list(spec.outputs)
        for value in proto.graph.input:
            dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
            assert dims[0] == "batch", (value.name, dims)
            dtype = value.type.tensor_type.elem_type
            assert dtype == (int64 if value.name in int_inputs else f32), value.name
            if value.name == "context_codes":
                assert dims == ["batch", m, h]
            else:
                assert isinstance(dims[1], str), (value.name, dims)  # tokens / regions / images / candidates
            if value.name in trailing:
                assert dims[2] == trailing[value.name], (value.name, dims)
        for value in proto.graph.output:
            dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
            assert dims == outputs[value.name], (value.name, dims)
    names = [i.name for i in onnx.load(str(graphs.poly_score)).graph.input]
    assert ("candidate_features" in names) == bool(cfg.candidate_features)


def test_export_is_deterministic_for_a_seed(exported: tuple[ZemelModel, ExportedGraphs], tmp_path: Path) -> None:
    model, first = exported
    cfg = model.cfg
    second = export_all(seeded_model(0, cfg), tmp_path)
    ctx = context_inputs(cfg, batch=3, tokens=6, regions=2, seed=11)
    cand = feature_inputs(cfg, batch=3, tokens=6, regions=2, seed=12)
    score = score_inputs(cfg, 3, 4, seed=13)
    for a, b, spec, args in ((first.context, second.context, CONTEXT, ctx),
                             (first.candidate, second.candidate, CANDIDATE, cand),
                             (first.poly_score, second.poly_score, poly_score_spec(cfg), score)):  # fmt: skip
        np.testing.assert_array_equal(run_onnx(a, spec.inputs, args), run_onnx(b, spec.inputs, args))
    other = export_all(seeded_model(1, cfg), tmp_path / "other")
    assert not np.allclose(run_onnx(first.context, CONTEXT.inputs, ctx), run_onnx(other.context, CONTEXT.inputs, ctx))
    assert not np.allclose(run_onnx(first.candidate, CANDIDATE.inputs, cand),
                           run_onnx(other.candidate, CANDIDATE.inputs, cand))  # fmt: skip
    if cfg.candidate_features:  # the prior is the poly_score graph's only parameters
        assert not np.allclose(run_onnx(first.poly_score, POLY_SCORE.inputs, score),
                               run_onnx(other.poly_score, POLY_SCORE.inputs, score))  # fmt: skip


def _array(t: dict[str, object]) -> np.ndarray:
    dtype = np.int64 if t["dtype"] == "int64" else np.float32
    return np.asarray(t["data"], dtype=dtype).reshape(t["shape"])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_release_folder(tmp_path: Path, name: str) -> None:
    import onnxruntime as ort

    cfg = CONFIGS[name]
    model = seeded_model(2, cfg)
    out = tmp_path / "release"
    manifest = release(model, out, {"name": "zemel-test", "version": "0.0.1", "thresholds": {}})
    on_disk = json.loads((out / "linker.json").read_text(encoding="utf-8"))
    assert on_disk == manifest
    assert on_disk["name"] == "zemel-test" and on_disk["head"] == "poly"
    assert on_disk["codes"] == cfg.poly.codes and on_disk["width"] == cfg.width
    assert on_disk["generatorFeatures"] == (list(GENERATOR_FEATURES) if cfg.candidate_features else [])
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["linker.json", "parity.json", CONTEXT.file, CANDIDATE.file, POLY_SCORE.file]
    )
    specs = {"context": CONTEXT, "candidate": CANDIDATE, "polyScore": poly_score_spec(cfg)}
    for key, spec in specs.items():
        g = on_disk["graphs"][key]
        assert g["file"] == spec.file and g["inputs"] == list(spec.inputs)
        assert g["sha256"] == sha256(out / g["file"]), key
        assert len(g["sha256"]) == 64
    assert 0.0 <= on_disk["parity"]["maxAbsDiff"] <= TOLERANCE and on_disk["parity"]["file"] == "parity.json"

    parity = json.loads((out / "parity.json").read_text(encoding="utf-8"))
    assert set(parity) == {"context", "candidate", "poly_score"}
    files = {"context": CONTEXT.file, "candidate": CANDIDATE.file, "poly_score": POLY_SCORE.file}
    inputs_of = {"context": CONTEXT.inputs, "candidate": CANDIDATE.inputs, "poly_score": poly_score_spec(cfg).inputs}
    for graph, fixture in parity.items():
        assert list(fixture["inputs"]) == list(inputs_of[graph])
        session = ort.InferenceSession(str(out / files[graph]), providers=["CPUExecutionProvider"])
        got = session.run(None, {n: _array(t) for n, t in fixture["inputs"].items()})[0]
        want = _array(fixture["output"])
        assert got.shape == want.shape and want.size > 0
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=0, err_msg=graph)


def test_thresholds_from_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"runs": [
        {"name": "a", "thresholds": {"VT-KG": {"value": 0.5}, "V&T-KG": None}},
        {"name": "b", "thresholds": {"VT-KG": {"value": 1.5}}},
    ]}))  # fmt: skip
    assert thresholds_from(summary, "a") == {"VT-KG": 0.5, "V&T-KG": None}
    assert thresholds_from(summary, "b") == {"VT-KG": 1.5}
    with pytest.raises(KeyError):
        thresholds_from(summary, "c")
