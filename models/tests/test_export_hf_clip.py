"""Tests of models/export_hf_clip.py on a TINY CLIP with RANDOM weights.

The checkpoint is built here from ``CLIPConfig`` (hidden size 32, 2 layers, 4 heads, image size
32, patch 8, projection 16) with a word-level tokenizer made with ``tokenizers``. Its weights are
random, so these tests check STRUCTURE only: the exported graphs compute what the PyTorch model
computes (within float tolerance), with the declared names, dtypes, shapes and dynamic batch and
sequence axes, and the manifest fragment describes the files truthfully. They say nothing about
embedding quality; that needs a real checkpoint.

    var/pyenv/bin/python -m pytest models/tests/test_export_hf_clip.py
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

import export_hf_clip
from export_hf_clip import LICENCE_TO_FILL, ExportConfig, export, main

WORDS = "a photo of the cat dog museum polylink river city red blue".split()
BOS, EOS, UNK = "<|startoftext|>", "<|endoftext|>", "<|unk|>"
MAX_LENGTH = 16


@dataclass(frozen=True)
class TinySpec:
    hidden: int = 32
    layers: int = 2
    heads: int = 4
    image_size: int = 32
    patch: int = 8
    projection: int = 16


TINY = TinySpec()


def build_tokenizer(directory: Path) -> dict[str, int]:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {BOS: 0, EOS: 1, UNK: 2} | {word: i + 3 for i, word in enumerate(WORDS)}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A {EOS}", special_tokens=[(BOS, vocab[BOS]), (EOS, vocab[EOS])]
    )
    tokenizer.enable_truncation(max_length=MAX_LENGTH)
    tokenizer.save(str(directory / "tokenizer.json"))
    (directory / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "model_max_length": MAX_LENGTH,
                "bos_token": BOS,
                "eos_token": EOS,
                "pad_token": EOS,
                "unk_token": UNK,
            }
        )
    )
    return vocab


def build_tiny_clip(directory: Path) -> None:
    """A random-weight CLIP checkpoint folder, as save_pretrained writes it."""
    from transformers import CLIPConfig, CLIPModel

    directory.mkdir(parents=True)
    vocab = build_tokenizer(directory)
    common = {
        "hidden_size": TINY.hidden,
        "intermediate_size": 2 * TINY.hidden,
        "num_hidden_layers": TINY.layers,
        "num_attention_heads": TINY.heads,
    }
    config = CLIPConfig(
        text_config={
            **common,
            "vocab_size": len(vocab),
            "max_position_embeddings": MAX_LENGTH,
            "bos_token_id": vocab[BOS],
            "eos_token_id": vocab[EOS],
            "pad_token_id": vocab[EOS],
        },
        vision_config={**common, "image_size": TINY.image_size, "patch_size": TINY.patch},
        projection_dim=TINY.projection,
    )
    torch.manual_seed(0)
    CLIPModel(config).eval().save_pretrained(directory)
    (directory / "preprocessor_config.json").write_text(
        json.dumps(
            {
                "image_processor_type": "CLIPImageProcessor",
                "do_resize": True,
                "size": {"shortest_edge": TINY.image_size},
                "resample": 3,
                "do_center_crop": True,
                "crop_size": {"height": TINY.image_size, "width": TINY.image_size},
                "do_rescale": True,
                "rescale_factor": 1 / 255,
                "do_normalize": True,
                "image_mean": [0.48145466, 0.4578275, 0.40821073],
                "image_std": [0.26862954, 0.26130258, 0.27577711],
            }
        )
    )
    (directory / "README.md").write_text("---\nlicense: mit\ntags: [test]\n---\n# tiny random CLIP\n")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("hf") / "tiny-clip"
    build_tiny_clip(directory)
    return directory


@pytest.fixture(scope="module")
def exported(
    checkpoint: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("export")
    flags = ["--name", "polylink/tiny-clip", "--revision", "0123abc"]
    code = main(["--model", str(checkpoint), "--out", str(out), *flags])
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    return out, manifest


@pytest.fixture(scope="module")
def reference(checkpoint: Path) -> Any:
    from transformers import CLIPModel

    return CLIPModel.from_pretrained(checkpoint, attn_implementation="eager").eval()


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def encode(tokenizer_file: Path, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_padding(pad_id=1, pad_token=EOS)
    encodings = tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    return ids, mask


def test_writes_both_towers_and_copies_the_tokenizer_byte_for_byte(
    exported: tuple[Path, dict[str, Any]], checkpoint: Path
) -> None:
    out, _ = exported
    assert (out / "image" / "model.onnx").is_file()
    assert (out / "text" / "model.onnx").is_file()
    copied = (out / "text" / "tokenizer.json").read_bytes()
    assert copied == (checkpoint / "tokenizer.json").read_bytes()
    for component in ("image", "text"):
        model = onnx.load(str(out / component / "model.onnx"))
        onnx.checker.check_model(model)
        assert {op.domain: op.version for op in model.opset_import}[""] == 17


def test_image_tower_matches_pytorch_at_any_batch_size(
    exported: tuple[Path, dict[str, Any]], reference: Any
) -> None:
    out, _ = exported
    image = session(out / "image" / "model.onnx")
    for batch in (1, 4):
        size = TINY.image_size
        pixels = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(batch))
        embeds, patches = image.run(None, {"pixels": pixels.numpy()})
        with torch.no_grad():
            expected = reference(
                input_ids=torch.tensor([[0, 1]]), pixel_values=pixels, attention_mask=torch.ones(1, 2)
            ).image_embeds
            hidden = reference.vision_model(pixel_values=pixels).last_hidden_state
            expected_patches = reference.vision_model.post_layernorm(hidden[:, 1:, :])
        patches_per_image = (TINY.image_size // TINY.patch) ** 2
        assert embeds.shape == (batch, TINY.projection)
        assert patches.shape == (batch, patches_per_image, TINY.hidden)
        np.testing.assert_allclose(embeds, expected.numpy(), atol=1e-5)
        np.testing.assert_allclose(np.linalg.norm(embeds, axis=-1), 1.0, atol=1e-5)
        np.testing.assert_allclose(patches, expected_patches.numpy(), atol=1e-4)


def test_text_tower_matches_pytorch_for_padded_batches_of_any_length(
    exported: tuple[Path, dict[str, Any]], reference: Any
) -> None:
    out, _ = exported
    text = session(out / "text" / "model.onnx")
    batches = [
        ["a photo of the cat"],
        ["polylink", "a photo of the red river city", "the blue dog"],
        ["a photo of a cat a dog a river a city and the museum of polylink red blue"],  # truncated
    ]
    for texts in batches:
        ids, mask = encode(out / "text" / "tokenizer.json", texts)
        embeds, states = text.run(None, {"input_ids": ids, "attention_mask": mask})
        with torch.no_grad():
            expected = reference(
                input_ids=torch.from_numpy(ids),
                attention_mask=torch.from_numpy(mask),
                pixel_values=torch.zeros(1, 3, TINY.image_size, TINY.image_size),
            ).text_embeds
            hidden = reference.text_model(
                input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)
            ).last_hidden_state
        assert ids.shape[1] <= MAX_LENGTH
        assert embeds.shape == (len(texts), TINY.projection)
        assert states.shape == (len(texts), ids.shape[1], TINY.hidden)
        np.testing.assert_allclose(embeds, expected.numpy(), atol=1e-5)
        np.testing.assert_allclose(np.linalg.norm(embeds, axis=-1), 1.0, atol=1e-5)
        real = mask.astype(bool)
        np.testing.assert_allclose(states[real], hidden.numpy()[real], atol=1e-4)


def test_padding_does_not_change_a_text_embedding(exported: tuple[Path, dict[str, Any]]) -> None:
    out, _ = exported
    text = session(out / "text" / "model.onnx")
    ids, mask = encode(out / "text" / "tokenizer.json", ["the cat"])
    alone = text.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    padded_ids, padded_mask = encode(
        out / "text" / "tokenizer.json", ["the cat", "a photo of the red river city"]
    )
    together = text.run(None, {"input_ids": padded_ids, "attention_mask": padded_mask})[0]
    np.testing.assert_allclose(together[0], alone[0], atol=1e-5)


def test_manifest_describes_files_signatures_and_preprocessing(
    exported: tuple[Path, dict[str, Any]],
) -> None:
    out, manifest = exported
    image = manifest["components"]["image"]
    text = manifest["components"]["text"]
    for name, component in (("image", image), ("text", text)):
        for file_name, entry in component["files"].items():
            path = out / entry["path"]
            assert entry["path"] == f"{name}/{file_name}"
            assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
            assert entry["bytes"] == path.stat().st_size
        model_sha = component["files"]["model.onnx"]["sha256"]
        assert component["fingerprint"] == f"{name}:{model_sha[:16]}"
        assert component["source"]["checkpoint"] == "polylink/tiny-clip"
        assert component["source"]["revision"] == "0123abc"
        assert component["source"]["resolved"] == "huggingface:polylink/tiny-clip@0123abc"
        assert component["licence"].startswith(LICENCE_TO_FILL)
        assert "mit" in component["licence"]  # the model card's hint, still marked to fill in
        assert component["licenceToFill"] is True
        assert component["config"]["dimension"] == TINY.projection
        assert component["config"]["normalized"] is True
    assert set(text["files"]) == {"model.onnx", "tokenizer.json"}

    assert image["model"] == {
        "inputs": [{"name": "pixels", "type": "float32", "shape": ["batch", 3, 32, 32]}],
        "outputs": [
            {"name": "image_embeds", "type": "float32", "shape": ["batch", 16]},
            {"name": "patch_states", "type": "float32", "shape": ["batch", 16, 32]},
        ],
    }
    assert text["model"] == {
        "inputs": [
            {"name": "input_ids", "type": "int64", "shape": ["batch", "sequence"]},
            {"name": "attention_mask", "type": "int64", "shape": ["batch", "sequence"]},
        ],
        "outputs": [
            {"name": "text_embeds", "type": "float32", "shape": ["batch", 16]},
            {"name": "token_states", "type": "float32", "shape": ["batch", "sequence", 32]},
        ],
    }
    pixels = image["config"]["pixels"]
    assert pixels["width"] == pixels["height"] == 32
    assert pixels["resize"] == "cover" and pixels["layout"] == "nchw"
    mean = np.array([0.48145466, 0.4578275, 0.40821073]) * 255
    std = np.array([0.26862954, 0.26130258, 0.27577711]) * 255
    np.testing.assert_allclose(pixels["mean"], mean, atol=1e-4)
    np.testing.assert_allclose(pixels["std"], std, atol=1e-4)
    assert image["config"]["checkpointPreprocessing"]["resample"] == "bicubic"
    assert image["config"]["patchStates"]["grid"] == [4, 4]
    assert (text["config"]["pooling"], text["config"]["maxLength"]) == ("eos", MAX_LENGTH)
    tokenizer = text["config"]["tokenizer"]
    assert tokenizer == {
        "file": "tokenizer.json",
        "maxLength": MAX_LENGTH,
        "padTokenId": 1,
        "bosTokenId": 0,
        "eosTokenId": 1,
        "pooling": "first-eos",
        "origin": "copied",
    }
    assert manifest["export"]["opset"] == 17
    checked = set(manifest["export"]["maxAbsDifference"])
    assert checked == {"image_embeds", "patch_states", "text_embeds", "token_states"}


def test_source_is_read_from_a_hugging_face_cache_path(checkpoint: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "hub" / "models--someone--tiny-clip" / "snapshots" / "feedface"
    shutil.copytree(checkpoint, snapshot)
    manifest = export(ExportConfig(model_dir=snapshot, out_dir=tmp_path / "out", verify=False))
    source = manifest["components"]["image"]["source"]
    assert (source["checkpoint"], source["revision"]) == ("someone/tiny-clip", "feedface")
    assert manifest["export"]["maxAbsDifference"] == {}


def test_refuses_a_folder_that_is_not_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no config.json"):
        export(ExportConfig(model_dir=tmp_path, out_dir=tmp_path / "out"))


def test_reports_a_mismatch_beyond_tolerance() -> None:
    with pytest.raises(RuntimeError, match="differs from PyTorch"):
        export_hf_clip.check_close("x", torch.zeros(2), np.array([0.0, 0.5]), 1e-4)
