"""Export a local Hugging Face CLIP checkpoint to ONNX for Polylink's image and text components.

    var/pyenv/bin/python models/export_hf_clip.py --model <checkpoint dir> --out <dir>

Writes, under ``<out>``:

* ``image/model.onnx``: ``pixels`` float32 [B,3,S,S] -> ``image_embeds`` [B,D] (L2-normalised,
  the joint space) and ``patch_states`` [B,P,H] (every patch token of the last layer, after the
  vision tower's ``post_layernorm``, for region features; P = (S / patch)^2, no CLS token).
* ``text/model.onnx``: ``input_ids`` and ``attention_mask`` int64 [B,T] -> ``text_embeds`` [B,D]
  (L2-normalised) and ``token_states`` [B,T,H] (last layer after ``final_layer_norm``).
* ``text/tokenizer.json``: the checkpoint's fast-tokenizer file, byte for byte (or, for a
  checkpoint with only ``vocab.json`` + ``merges.txt``, the fast tokenizer transformers builds).
* ``manifest.json``: a fragment shaped like the bundle manifest (``src/models/bundle.ts``):
  ``{"components": {"image": ..., "text": ...}}`` with files, sha256, the ONNX signatures read
  back from the files, preprocessing, and the checkpoint as source. The licence is left for the
  user to fill in and says so.

Both graphs use opset 17 with dynamic batch (and sequence, for text) and are checked against
PyTorch with onnxruntime before the manifest is written. Needs torch, transformers, onnx and
onnxruntime (see ``models/convert/README.md``); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

LICENCE_TO_FILL = "TO BE FILLED IN: the exporter cannot know the checkpoint's licence"

# OpenAI CLIP's preprocessing, used when the checkpoint has no preprocessor_config.json.
OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
PIL_RESAMPLE = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}
ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(uint8)": "uint8",
}


@dataclass(frozen=True)
class ExportConfig:
    """What to export and where."""

    model_dir: Path
    out_dir: Path
    opset: int = 17
    #: Checkpoint name and revision for the manifest; guessed from the folder when None.
    name: str | None = None
    revision: str | None = None
    #: Compare onnxruntime with PyTorch after export (and fail on a mismatch).
    verify: bool = True
    atol: float = 1e-4
    #: Sequence length of the dummy text input used for tracing (any length works afterwards).
    trace_length: int = 7


@dataclass(frozen=True)
class ImagePreprocessing:
    """How pixels must be prepared, from the checkpoint's preprocessor_config.json."""

    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    #: "cover": scale the shorter side to ``shortest_edge`` and centre-crop to image_size
    #: (CLIPImageProcessor's resize + center crop); "stretch" when the checkpoint does not crop.
    resize: str
    resample: str
    shortest_edge: int
    rescale_factor: float
    channel_order: str = "rgb"
    layout: str = "nchw"


@dataclass(frozen=True)
class TextPreprocessing:
    """How text must be tokenised and padded."""

    max_length: int
    pad_token_id: int | None
    bos_token_id: int | None
    eos_token_id: int | None
    #: "first-eos": the text embedding is read at the first EOS token; "argmax-id": at the
    #: largest token id (checkpoints whose config still has the pre-2023 eos_token_id of 2).
    pooling: str


@dataclass(frozen=True)
class CheckpointSource:
    name: str | None
    revision: str | None
    directory: str
    licence_hint: str | None = None


class VisionTower(nn.Module):
    """CLIP vision tower: normalised image embedding and per-patch states."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.vision_model = model.vision_model
        self.visual_projection = model.visual_projection

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        output = self.vision_model(pixel_values=pixels)
        embeds = self.visual_projection(output.pooler_output)
        embeds = embeds / embeds.norm(p=2, dim=-1, keepdim=True)
        patch_states = self.vision_model.post_layernorm(output.last_hidden_state[:, 1:, :])
        return embeds, patch_states


class TextTower(nn.Module):
    """CLIP text tower: normalised text embedding (at the EOS token) and per-token states."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.text_model = model.text_model
        self.text_projection = model.text_projection

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        output = self.text_model(input_ids=input_ids, attention_mask=attention_mask)
        embeds = self.text_projection(output.pooler_output)
        embeds = embeds / embeds.norm(p=2, dim=-1, keepdim=True)
        return embeds, output.last_hidden_state


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    value = json.loads(path.read_text(encoding="utf-8"))
    return value if isinstance(value, dict) else {}


def guess_source(model_dir: Path, config: ExportConfig) -> CheckpointSource:
    """Name and revision from the flags, else a Hugging Face cache path, else config.json."""
    name = config.name
    revision = config.revision
    resolved = model_dir.resolve()
    # <cache>/models--org--name/snapshots/<commit>/
    if resolved.parent.name == "snapshots" and resolved.parent.parent.name.startswith("models--"):
        cached = resolved.parent.parent.name[len("models--") :].replace("--", "/")
        name = name or cached
        revision = revision or resolved.name
    if name is None:
        name_or_path = read_json(model_dir / "config.json").get("_name_or_path")
        if isinstance(name_or_path, str) and name_or_path and not Path(name_or_path).is_absolute():
            name = name_or_path
    return CheckpointSource(
        name=name,
        revision=revision,
        directory=str(resolved),
        licence_hint=model_card_licence(model_dir),
    )


def model_card_licence(model_dir: Path) -> str | None:
    """The `license:` of a model card's YAML front matter, as a hint only."""
    card = model_dir / "README.md"
    if not card.is_file():
        return None
    text = card.read_text(encoding="utf-8", errors="replace")
    front = re.match(r"^---\n(.*?)\n---", text, re.DOTALL)
    if not front:
        return None
    found = re.search(r"^license:\s*(\S.*)$", front.group(1), re.MULTILINE)
    return found.group(1).strip().strip("'\"") if found else None


def _size_value(value: Any, key: str, fallback: int) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        for candidate in (key, "height", "shortest_edge", "width"):
            if isinstance(value.get(candidate), int):
                return int(value[candidate])
    return fallback


def image_preprocessing(model_dir: Path, image_size: int) -> ImagePreprocessing:
    raw = read_json(model_dir / "preprocessor_config.json")
    mean = tuple(float(v) for v in raw.get("image_mean", OPENAI_CLIP_MEAN))
    std = tuple(float(v) for v in raw.get("image_std", OPENAI_CLIP_STD))
    if len(mean) != 3 or len(std) != 3:
        raise ValueError("image_mean and image_std must have three values")
    crop = _size_value(raw.get("crop_size"), "height", image_size)
    if raw.get("do_center_crop", True) and crop != image_size:
        raise ValueError(f"crop size {crop} differs from the vision tower's image size {image_size}")
    shortest_edge = _size_value(raw.get("size"), "shortest_edge", image_size)
    return ImagePreprocessing(
        image_size=image_size,
        mean=(mean[0], mean[1], mean[2]),
        std=(std[0], std[1], std[2]),
        resize="cover" if raw.get("do_center_crop", True) else "stretch",
        resample=PIL_RESAMPLE.get(int(raw.get("resample", 3)), "bicubic"),
        shortest_edge=shortest_edge,
        rescale_factor=float(raw.get("rescale_factor", 1 / 255)),
    )


def text_preprocessing(model_dir: Path, text_config: Any) -> TextPreprocessing:
    raw = read_json(model_dir / "tokenizer_config.json")
    max_length = int(text_config.max_position_embeddings)
    declared = raw.get("model_max_length")
    if isinstance(declared, int) and 0 < declared < max_length:
        max_length = declared
    eos = getattr(text_config, "eos_token_id", None)
    return TextPreprocessing(
        max_length=max_length,
        pad_token_id=getattr(text_config, "pad_token_id", None),
        bos_token_id=getattr(text_config, "bos_token_id", None),
        eos_token_id=eos,
        pooling="argmax-id" if eos == 2 else "first-eos",
    )


def copy_tokenizer(model_dir: Path, target: Path) -> str:
    """Copies tokenizer.json; builds it with the fast tokenizer when the checkpoint lacks one."""
    source = model_dir / "tokenizer.json"
    if source.is_file():
        shutil.copyfile(source, target)
        return "copied"
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir, use_fast=True, local_files_only=True)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ValueError(f"{model_dir} has no tokenizer.json and no fast tokenizer to build one")
    backend.save(str(target))
    return "built from the slow tokenizer files"


def load_clip(model_dir: Path) -> nn.Module:
    from transformers import CLIPModel

    # Eager attention traces to plain ONNX ops; SDPA's masking paths need not.
    model = CLIPModel.from_pretrained(
        model_dir, attn_implementation="eager", local_files_only=True, dtype=torch.float32
    )
    model.eval()
    return model


def dummy_text(
    text: TextPreprocessing, vocab_size: int, length: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two sequences, the second padded, each with an EOS, for tracing and checks."""
    generator = torch.Generator().manual_seed(0)
    eos = text.eos_token_id if text.eos_token_id is not None else vocab_size - 1
    pad = text.pad_token_id if text.pad_token_id is not None else eos
    reserved = {eos, pad, text.bos_token_id}
    ordinary = torch.tensor([i for i in range(vocab_size) if i not in reserved])
    ids = ordinary[torch.randint(len(ordinary), (2, length), generator=generator)]
    if text.bos_token_id is not None:
        ids[:, 0] = text.bos_token_id
    ids[0, length - 1] = eos
    short = max(2, length // 2)
    ids[1, short - 1] = eos
    ids[1, short:] = pad
    mask = torch.ones_like(ids)
    mask[1, short:] = 0
    return ids.to(torch.int64), mask.to(torch.int64)


def export_onnx(
    module: nn.Module, inputs: tuple[torch.Tensor, ...], target: Path, axes: dict[str, Any]
) -> None:
    with warnings.catch_warnings():
        # Expected and harmless here: the TorchScript exporter's deprecation notice; tracer notes
        # on shape checks that are constant for every valid input (image size, a mask as long as
        # the ids); and advanced indexing with non-negative indices (arange, argmax).
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=".*aten::index operator of advanced indexing.*")
        torch.onnx.export(
            module,
            inputs,
            str(target),
            dynamo=False,  # the TorchScript exporter needs no onnxscript
            input_names=axes["inputs"],
            output_names=axes["outputs"],
            dynamic_axes=axes["dynamic"],
            opset_version=axes["opset"],
            do_constant_folding=True,
        )


def signature(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Inputs and outputs as onnxruntime reads them (the shape the bundle manifest records)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def describe(value: Any) -> dict[str, Any]:
        return {
            "name": value.name,
            "type": ORT_TYPES.get(value.type, value.type),
            "shape": [dim if isinstance(dim, (int, str)) else "?" for dim in value.shape],
        }

    return {
        "inputs": [describe(v) for v in session.get_inputs()],
        "outputs": [describe(v) for v in session.get_outputs()],
    }


def run_onnx(path: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def check_close(name: str, expected: torch.Tensor, actual: np.ndarray, atol: float) -> float:
    difference = float(np.max(np.abs(expected.detach().numpy() - actual)))
    if not difference <= atol:
        raise RuntimeError(f"{name}: onnxruntime differs from PyTorch by {difference:.3g} > {atol}")
    return difference


def file_entry(component: str, path: Path) -> dict[str, Any]:
    return {
        "path": f"{component}/{path.name}",
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
    }


def component_files(component: str, directory: Path) -> dict[str, dict[str, Any]]:
    """Every file of a component folder, model.onnx first (external weights, if any, follow)."""
    names = sorted(p.name for p in directory.iterdir() if p.is_file())
    names.sort(key=lambda name: name != "model.onnx")
    return {name: file_entry(component, directory / name) for name in names}


def export(config: ExportConfig) -> dict[str, Any]:
    """Exports both towers, verifies them, writes the manifest fragment and returns it."""
    model_dir = config.model_dir
    if not (model_dir / "config.json").is_file():
        raise FileNotFoundError(f"{model_dir} is not a Hugging Face checkpoint (no config.json)")
    model = load_clip(model_dir)
    vision_config = model.config.vision_config
    text_config = model.config.text_config
    image = image_preprocessing(model_dir, int(vision_config.image_size))
    text = text_preprocessing(model_dir, text_config)
    source = guess_source(model_dir, config)

    image_dir = config.out_dir / "image"
    text_dir = config.out_dir / "text"
    for directory in (image_dir, text_dir):
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)

    vision = VisionTower(model).eval()
    towers_text = TextTower(model).eval()
    size = image.image_size
    pixels = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(0))
    ids, mask = dummy_text(text, int(text_config.vocab_size), config.trace_length)
    with torch.no_grad():
        export_onnx(
            vision,
            (pixels,),
            image_dir / "model.onnx",
            {
                "inputs": ["pixels"],
                "outputs": ["image_embeds", "patch_states"],
                "dynamic": {
                    "pixels": {0: "batch"},
                    "image_embeds": {0: "batch"},
                    "patch_states": {0: "batch"},
                },
                "opset": config.opset,
            },
        )
        export_onnx(
            towers_text,
            (ids, mask),
            text_dir / "model.onnx",
            {
                "inputs": ["input_ids", "attention_mask"],
                "outputs": ["text_embeds", "token_states"],
                "dynamic": {
                    "input_ids": {0: "batch", 1: "sequence"},
                    "attention_mask": {0: "batch", 1: "sequence"},
                    "text_embeds": {0: "batch"},
                    "token_states": {0: "batch", 1: "sequence"},
                },
                "opset": config.opset,
            },
        )
    tokenizer_origin = copy_tokenizer(model_dir, text_dir / "tokenizer.json")

    differences: dict[str, float] = {}
    if config.verify:
        differences = verify(config, vision, towers_text, text, int(text_config.vocab_size), size)

    patch = int(vision_config.patch_size)
    grid = size // patch
    manifest = build_manifest(
        config,
        {
            "image": image,
            "text": text,
            "source": source,
            "grid": grid,
            "tokenizer_origin": tokenizer_origin,
            "differences": differences,
            "projection_dim": int(model.config.projection_dim),
            "vision_hidden": int(vision_config.hidden_size),
            "text_hidden": int(text_config.hidden_size),
        },
    )
    manifest_file = config.out_dir / "manifest.json"
    manifest_file.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def verify(
    config: ExportConfig,
    vision: VisionTower,
    towers_text: TextTower,
    text: TextPreprocessing,
    vocab_size: int,
    size: int,
) -> dict[str, float]:
    """onnxruntime against PyTorch at a batch size and sequence length other than the traced."""
    generator = torch.Generator().manual_seed(1)
    pixels = torch.randn(3, 3, size, size, generator=generator)
    ids, mask = dummy_text(text, vocab_size, min(text.max_length, config.trace_length + 4))
    with torch.no_grad():
        image_embeds, patch_states = vision(pixels)
        text_embeds, token_states = towers_text(ids, mask)
    image_out = run_onnx(config.out_dir / "image" / "model.onnx", {"pixels": pixels.numpy()})
    text_out = run_onnx(
        config.out_dir / "text" / "model.onnx",
        {"input_ids": ids.numpy(), "attention_mask": mask.numpy()},
    )
    # Padded positions' states are not meaningful; compare only real tokens.
    real = mask.bool().numpy()
    return {
        "image_embeds": check_close("image_embeds", image_embeds, image_out[0], config.atol),
        "patch_states": check_close("patch_states", patch_states, image_out[1], config.atol * 10),
        "text_embeds": check_close("text_embeds", text_embeds, text_out[0], config.atol),
        "token_states": check_close(
            "token_states", token_states[torch.from_numpy(real)], text_out[1][real], config.atol * 10
        ),
    }


def build_manifest(config: ExportConfig, facts: dict[str, Any]) -> dict[str, Any]:
    image: ImagePreprocessing = facts["image"]
    text: TextPreprocessing = facts["text"]
    source: CheckpointSource = facts["source"]
    if source.name:
        resolved = f"huggingface:{source.name}" + (f"@{source.revision}" if source.revision else "")
    else:
        resolved = f"local:{source.directory}"
    manifest_source = {
        # ComponentSource has no kind for a converted checkpoint yet; see models/convert/README.md.
        "kind": "export",
        "checkpoint": source.name,
        "revision": source.revision,
        "directory": source.directory,
        "exporter": "models/export_hf_clip.py",
        "resolved": resolved,
    }
    licence_note = f" (the model card says: {source.licence_hint})" if source.licence_hint else ""
    components: dict[str, Any] = {}
    for component, task, config_body in (
        (
            "image",
            "image-embedding",
            {
                "dimension": facts["projection_dim"],
                "normalized": True,
                # PixelSpec-shaped (src/inference/vision/image-preprocess.ts): mean/std on 0-255 values.
                "pixels": {
                    "width": image.image_size,
                    "height": image.image_size,
                    "resize": image.resize,
                    "layout": image.layout,
                    "mean": [round(v * 255, 6) for v in image.mean],
                    "std": [round(v * 255, 6) for v in image.std],
                },
                "checkpointPreprocessing": {
                    key: list(value) if isinstance(value, tuple) else value
                    for key, value in asdict(image).items()
                },
                "patchStates": {
                    "hiddenSize": facts["vision_hidden"],
                    "grid": [facts["grid"], facts["grid"]],
                    "what": "post_layernorm(last_hidden_state[:, 1:]), row-major patches, no CLS",
                },
            },
        ),
        (
            "text",
            "text-embedding",
            {
                "dimension": facts["projection_dim"],
                "normalized": True,
                # As the bundle's text component: where the embedding is read, how long input may be.
                "pooling": "eos",
                "maxLength": text.max_length,
                "tokenizer": {
                    "file": "tokenizer.json",
                    "maxLength": text.max_length,
                    "padTokenId": text.pad_token_id,
                    "bosTokenId": text.bos_token_id,
                    "eosTokenId": text.eos_token_id,
                    "pooling": text.pooling,
                    "origin": facts["tokenizer_origin"],
                },
                "tokenStates": {
                    "hiddenSize": facts["text_hidden"],
                    "what": "final_layer_norm(last_hidden_state); padded positions are not meaningful",
                },
            },
        ),
    ):
        directory = config.out_dir / component
        files = component_files(component, directory)
        components[component] = {
            "task": task,
            "source": manifest_source,
            "licence": LICENCE_TO_FILL + licence_note,
            "licenceToFill": True,
            "files": files,
            "model": signature(directory / "model.onnx"),
            "config": config_body,
            "fingerprint": f"{component}:{files['model.onnx']['sha256'][:16]}",
        }
    return {
        "components": components,
        "export": {
            "opset": config.opset,
            "torch": torch.__version__,
            "transformers": _version("transformers"),
            "maxAbsDifference": facts["differences"],
        },
    }


def _version(package: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(package)
    except Exception:  # noqa: BLE001 - informational only
        return None


def parse_args(argv: list[str] | None) -> ExportConfig:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", required=True, type=Path, help="local Hugging Face CLIP checkpoint folder"
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument(
        "--name", help="checkpoint name for the manifest (e.g. openai/clip-vit-base-patch32)"
    )
    parser.add_argument("--revision", help="checkpoint revision (commit) for the manifest")
    parser.add_argument("--atol", type=float, default=1e-4, help="tolerance of the onnxruntime check")
    parser.add_argument("--no-verify", action="store_true", help="skip the onnxruntime check")
    args = parser.parse_args(argv)
    return ExportConfig(
        model_dir=args.model,
        out_dir=args.out,
        opset=args.opset,
        name=args.name,
        revision=args.revision,
        verify=not args.no_verify,
        atol=args.atol,
    )


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    manifest = export(config)
    for component, body in manifest["components"].items():
        outputs = ", ".join(f"{o['name']}{o['shape']}" for o in body["model"]["outputs"])
        print(f"{component}: {config.out_dir / component / 'model.onnx'} -> {outputs}")
    differences = manifest["export"]["maxAbsDifference"]
    if differences:
        listed = ", ".join(f"{k} {v:.2e}" for k, v in differences.items())
        print(f"max |onnxruntime - torch|: {listed}")
    print(f"manifest fragment: {config.out_dir / 'manifest.json'} (fill in the licence)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
