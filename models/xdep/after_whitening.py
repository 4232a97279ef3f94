"""Issue 12, part 2, a third round: can anything on top of the shipped whitening (robust_head.py)
still help the held-out DEV source's image-only task? Every option is scored on the dev source
only (acc@1 / acc@5 of each query picture against every KB picture, projection.py's protocol);
nothing here reads the test source.

  kb-centring  the KB's own mean (of its whitened vectors) subtracted, times a, from the query and
               the KB vectors, re-normalised: a domain whose pictures share a layout (cards, unit
               portraits) keeps what tells them apart. Needs only the KB, so a service could do it
               per domain.
  csls         cross-domain similarity local scaling (Conneau et al. 2018): each KB picture's
               cosine minus its mean cosine to its k nearest pictures of a reference set (the
               unlabelled pool, or the KB itself), to damp "hub" pictures that are near everything.
  local        Chamfer similarity over the trunk's 7x7 head map (each cell whitened on pool cells
               and L2-normalised; a query cell's best match in the KB picture, averaged), alone
               and added to the global whitened cosine. Encodes dev and a pool sample with the
               Lite0 of trunks.py (var/xdep-trunks/rgba, from decode-rgba.ts).
  multi-crop   test-time crops (centre 80% and 60%, four corners at 80% and 60%), each plain and mirrored,
               averaged before the whitening, on both sides or on the query side alone (issue 12's
               "flips and multi-crop at test time"; flips are in the shipped head).
  fine-tune    the whitening matrix as the initial value of a linear projection trained with
               InfoNCE on the pool's same-concept pairs across styles (projection.py's trained
               projections started from random weights), dev scored along the way.

  var/pyenv/bin/python -m models.xdep.after_whitening --out eval-results/2026-12-05-xdep-after-whitening
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from . import trunks
from .projection import (
    entity_accuracy,
    excluded_concepts,
    info_nce_steps,
    load,
    normalise,
    pool_indices,
    retrieval,
    source_sets,
)
from .robust_head import fit

WHITENING_DIMS = 256  # the shipped head's
LOCAL_POOL_PICTURES = 600


class Whitening:
    """PCA whitening fitted on a pool's vectors, as robust_head.py fits the shipped head."""

    def __init__(self, pool: np.ndarray, dims: int) -> None:
        self.mean, self.matrix = fit(pool, dims)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return normalise((x - self.mean) @ self.matrix)


def kb_centring_and_csls(q: np.ndarray, ql: list[str], kb: np.ndarray, kl: list[str], pool: np.ndarray) -> dict:
    out: dict[str, dict] = {"whitened (shipped)": entity_accuracy(q @ kb.T, ql, kl)}
    kb_mean = kb.mean(axis=0, keepdims=True)
    for a in (0.25, 0.5, 1.0):
        out[f"kb-centring a={a}"] = entity_accuracy(normalise(q - a * kb_mean) @ normalise(kb - a * kb_mean).T, ql, kl)
    for k in (5, 10, 50):
        pool_hubness = np.sort(kb @ pool.T, axis=1)[:, -k:].mean(axis=1)
        out[f"csls pool k={k}"] = entity_accuracy(q @ kb.T - pool_hubness[None, :], ql, kl)
        kb_hubness = np.sort(kb @ kb.T, axis=1)[:, -k - 1 : -1].mean(axis=1)  # itself left out
        out[f"csls kb k={k}"] = entity_accuracy(q @ kb.T - kb_hubness[None, :], ql, kl)
    return out


class HeadMap(torch.nn.Module):
    """Lite0 up to its 1280-channel head map [B, 1280, 7, 7] (what the pooled vector averages)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        m = self.model
        x = F.relu6(m._bn0(m._conv_stem(pixels)))
        for block in m._blocks:
            x = block(x)
        return F.relu6(m._bn1(m._conv_head(x)))


def head_maps(rows: list[int], rgba_dir: Path, session) -> np.ndarray:
    """[rows, 49, 1280] head-map cells of each picture, alpha on white as the service does."""
    trunk = trunks.TRUNKS["lite0"]
    maps = []
    for start in range(0, len(rows), 32):
        pixels = [
            trunks.to_pixels(
                trunks.prepare(np.asarray(Image.open(rgba_dir / f"{row}.png").convert("RGBA")), "white"), trunk.size
            )
            for row in rows[start : start + 32]
        ]
        maps.append(session.run(["map"], {"pixels": np.stack(pixels)})[0])
    m = np.concatenate(maps)
    return m.reshape(m.shape[0], m.shape[1], -1).transpose(0, 2, 1)


def local_matching(features_dir: Path, split: Path, rgba_dir: Path, dev: str, cache: Path) -> dict:
    trunk = trunks.TRUNKS["lite0"]
    target = cache / "lite0-head-map.onnx"
    if not target.exists():
        model, _ = trunks.load_trunk(trunk)
        target.parent.mkdir(parents=True, exist_ok=True)
        with torch.no_grad():
            torch.onnx.export(HeadMap(model).eval(), (torch.zeros(2, 3, trunk.size, trunk.size),), str(target),
                              dynamo=False, opset_version=17, input_names=["pixels"], output_names=["map"],
                              dynamic_axes={"pixels": {0: "batch"}, "map": {0: "batch"}})  # fmt: skip
    session = trunks.ort_session(target)
    data = trunks.sample_pool(trunks.load_rows(features_dir, split), LOCAL_POOL_PICTURES)
    rows = data.rows
    q = [i for i in data.sources if rows[i]["set"] == dev and rows[i]["role"] == "query"]
    k = [i for i in data.sources if rows[i]["set"] == dev and rows[i]["role"] == "kb"]
    ql, kl = [rows[i]["label"] for i in q], [rows[i]["label"] for i in k]
    qm, km, pm = (head_maps(r, rgba_dir, session) for r in (q, k, data.pool))
    # Global vectors from the same maps (plain view, whitened on the same pool sample), so that the
    # local score is compared with, and added to, a global score of the same pictures.
    whiten_global = Whitening(normalise(pm.mean(axis=1)), WHITENING_DIMS)
    global_scores = whiten_global(normalise(qm.mean(axis=1))) @ whiten_global(normalise(km.mean(axis=1))).T
    out: dict[str, dict] = {"global whitened, plain, pool sample": entity_accuracy(global_scores, ql, kl)}
    cells = pm.reshape(-1, pm.shape[-1])
    for dims in (64, 128, 256):
        whiten_cells = Whitening(cells[::3], dims)
        qc = whiten_cells(qm.reshape(-1, qm.shape[-1])).reshape(len(q), -1, dims)
        kc = whiten_cells(km.reshape(-1, km.shape[-1])).reshape(len(k), -1, dims)
        sims = np.einsum("aid,bjd->abij", qc, kc)
        chamfer = sims.max(axis=3).mean(axis=2)
        out[f"chamfer {dims}"] = entity_accuracy(chamfer, ql, kl)
        for weight in (0.5, 1.0, 2.0):
            out[f"global + {weight} chamfer {dims}"] = entity_accuracy(global_scores + weight * chamfer, ql, kl)
    return out


def test_time_crops(image: Image.Image) -> dict[str, Image.Image]:
    """The whole picture, centre crops at 80% and 60% of each side, and the four corners at each."""
    w, h = image.size
    crops = {"full": image}
    for share in (0.8, 0.6):
        cw, ch = int(w * share), int(h * share)
        left, top = (w - cw) // 2, (h - ch) // 2
        crops[f"centre {share}"] = image.crop((left, top, left + cw, top + ch))
        for name, (x, y) in {"tl": (0, 0), "tr": (w - cw, 0), "bl": (0, h - ch), "br": (w - cw, h - ch)}.items():
            crops[f"{name} {share}"] = image.crop((x, y, x + cw, y + ch))
    return crops


def multi_crop(features_dir: Path, split: Path, rgba_dir: Path, dev: str) -> dict:
    trunk = trunks.TRUNKS["lite0"]
    session = trunks.pooled_session(trunk)
    data = trunks.load_rows(features_dir, split)
    rows = data.rows
    pool_vectors = trunks.encode(trunk, "white", data, rgba_dir)["plain"]["avg"][data.pool]
    whitening = Whitening(normalise(pool_vectors), WHITENING_DIMS)

    def encode(picked: list[int]) -> dict[str, np.ndarray]:
        """Per crop name, [pictures, 1280]: the plain and mirrored pooled vectors averaged."""
        out: dict[str, list[np.ndarray]] = {}
        for row in picked:
            image = trunks.prepare(np.asarray(Image.open(rgba_dir / f"{row}.png").convert("RGBA")), "white")
            crops = test_time_crops(image)
            pixels = []
            for crop in crops.values():
                p = trunks.to_pixels(crop, trunk.size)
                pixels += [p, p[:, :, ::-1].copy()]
            pooled = normalise(session.run(["avg"], {"pixels": np.stack(pixels)})[0])
            for j, name in enumerate(crops):
                out.setdefault(name, []).append(pooled[2 * j] + pooled[2 * j + 1])
        return {name: normalise(np.stack(v)) for name, v in out.items()}

    q = [i for i in data.sources if rows[i]["set"] == dev and rows[i]["role"] == "query"]
    k = [i for i in data.sources if rows[i]["set"] == dev and rows[i]["role"] == "kb"]
    ql, kl = [rows[i]["label"] for i in q], [rows[i]["label"] for i in k]
    qv, kv = encode(q), encode(k)

    def vector(side: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
        return whitening(normalise(sum(side[n] for n in names)))

    centre = ["full", "centre 0.8"]
    five = centre + [f"{c} 0.8" for c in ("tl", "tr", "bl", "br")]
    choices = {
        "full (the shipped vector)": ["full"],
        "full + centre 80%": centre,
        "full + centre 80% + centre 60%": centre + ["centre 0.6"],
        "full + centre and corners 80%": five,
        "all 11": list(qv),
    }
    out = {name: entity_accuracy(vector(qv, names) @ vector(kv, names).T, ql, kl) for name, names in choices.items()}
    out["all 11 on the query, full on the KB"] = entity_accuracy(vector(qv, list(qv)) @ vector(kv, ["full"]).T, ql, kl)
    return out


def fine_tuned_whitening(
    pool: np.ndarray, pool_mirrored: np.ndarray, labels: list[str], whitening: Whitening, dev_sets, *, seed: int,
    steps: int = 1500, lr: float = 1e-4, temperature: float = 0.1, batch_concepts: int = 256,
) -> dict:  # fmt: skip
    matrix = torch.nn.Parameter(torch.from_numpy(whitening.matrix.copy()))
    mean = torch.from_numpy(whitening.mean.astype(np.float32))
    optimiser = torch.optim.Adam([matrix], lr=lr)

    def project(x: torch.Tensor) -> torch.Tensor:
        return F.normalize((x - mean) @ matrix, dim=-1)

    def dev() -> dict:
        q, ql, kb, kl = dev_sets
        with torch.no_grad():
            return retrieval(project(torch.from_numpy(q)).numpy(), ql, project(torch.from_numpy(kb)).numpy(), kl)

    out = {"step 0": dev()}
    for step, loss in info_nce_steps(
        project, optimiser, pool, pool_mirrored, labels,
        steps=steps, seed=seed, temperature=temperature, batch_concepts=batch_concepts,
    ):  # fmt: skip
        if step in (25, 50, 100, 200, 400, 800, steps):
            out[f"step {step}"] = {**dev(), "loss": round(loss.item(), 3)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=Path, default=Path("var/xdep-features"))
    parser.add_argument("--split", type=Path, default=Path("eval/split.json"))
    parser.add_argument("--rgba", type=Path, default=Path("var/xdep-trunks/rgba"))
    parser.add_argument("--dev", default="wesnoth")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(2)
    started = time.time()
    f = load(args.features)
    excluded = excluded_concepts(args.split)
    pool_rows = pool_indices(f.rows, excluded)
    whitening = Whitening(f.plain[pool_rows], WHITENING_DIMS)
    q, ql, kb, kl = source_sets(f, args.dev, "flip")  # the shipped head reads the flip average
    pool_flip = whitening(normalise(f.plain[pool_rows] + f.mirrored[pool_rows]))
    results = {
        "kb-centring and csls": kb_centring_and_csls(whitening(q), ql, whitening(kb), kl, pool_flip),
        "local": local_matching(args.features, args.split, args.rgba, args.dev, trunks.CACHE / "after-whitening"),
        "multi-crop": multi_crop(args.features, args.split, args.rgba, args.dev),
        "fine-tuned whitening": fine_tuned_whitening(
            f.plain[pool_rows],
            f.mirrored[pool_rows],
            [f.rows[i]["label"] for i in pool_rows],
            whitening,
            (q, ql, kb, kl),
            seed=args.seed,
        ),
    }
    report = {
        "script": "models/xdep/after_whitening.py",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "dev": args.dev,
        "queries": len(q),
        "test": "not read",
        "results": results,
        "seconds": round(time.time() - started, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "after-whitening.json").write_text(json.dumps(report, indent=2) + "\n")
    for family, rows in results.items():
        print(family)
        for name, r in rows.items():
            print(f"  {name:38s} acc@1 {100 * r['acc1']:5.1f}  acc@5 {100 * r['acc5']:5.1f}")


if __name__ == "__main__":
    main()
