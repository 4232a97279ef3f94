"""Tests of models/zemel (model and losses) on ModelConfig.tiny() with RANDOM weights.

These check STRUCTURE, not quality: shapes, that padding really is ignored, that a sample with no
regions stays finite, that the mention / region markers act exactly where they are set, that the
generator prior is added to every head (and is absent with ``candidate_features=0``), that the
poly score is what the paper's formula says (scaled by 1/sqrt(H)), that every parameter is reached
by some head, and that the model can learn at all (the loss falls on a tiny synthetic, separable
problem). They say nothing about linking accuracy; that needs training on real features.

    var/pyenv/bin/python -m pytest -q models/tests/test_zemel_model.py
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import pytest
import torch

from zemel import ModelConfig, PolyConfig, ZemelModel
from zemel.config import EncoderConfig
from zemel.export import context_inputs, score_inputs
from zemel.losses import build_candidate_set, candidate_cross_entropy
from zemel.model import FeatureBatch, full_image_geometry, poly_score

CFG = ModelConfig.tiny()
NO_PRIOR = dataclasses.replace(CFG, candidate_features=0)
H, M, F = CFG.width, CFG.poly.codes, CFG.candidate_features


@dataclasses.dataclass(frozen=True)
class Ctx:
    """A context batch with its markers (mention_mask [B, T], region_focus [B, R], int64)."""

    batch: FeatureBatch
    mention_mask: torch.Tensor
    region_focus: torch.Tensor

    def args(self) -> tuple[FeatureBatch, torch.Tensor, torch.Tensor]:
        return self.batch, self.mention_mask, self.region_focus

    def unmarked(self) -> Ctx:
        return Ctx(self.batch, torch.zeros_like(self.mention_mask), torch.zeros_like(self.region_focus))


def make_ctx(batch: int, tokens: int, regions: int, seed: int, cfg: ModelConfig = CFG) -> Ctx:
    ts, tm, mm, rf, rg, rm, focus = context_inputs(cfg, batch, tokens, regions, seed)
    return Ctx(FeatureBatch(ts, tm, rf, rg, rm), mm, focus)


def make_batch(batch: int, tokens: int, regions: int, seed: int) -> FeatureBatch:
    return make_ctx(batch, tokens, regions, seed).batch


def marked_ctx(batch: int, tokens: int, regions: int, seed: int) -> Ctx:
    """Every row has a real mention token (position 0 or 1) and, where it has a region, focus on its first."""
    c = make_ctx(batch, tokens, regions, seed)
    mm = torch.zeros_like(c.mention_mask)
    mm[:, 0] = 1
    if tokens > 1:
        mm[:, 1] = c.batch.token_mask[:, 1]
    focus = torch.zeros_like(c.region_focus)
    if regions:
        focus[:, 0] = c.batch.region_mask[:, 0]
    return Ctx(c.batch, mm, focus)


def with_padding_scrambled(b: FeatureBatch, seed: int) -> FeatureBatch:
    """Overwrite every padded position with large random values."""
    g = torch.Generator().manual_seed(seed)

    def scramble(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        noise = torch.randn(x.shape, generator=g) * 100  # same shape as x
        return torch.where(mask[..., None] != 0, x, noise)

    return dataclasses.replace(
        b,
        token_states=scramble(b.token_states, b.token_mask),
        region_features=scramble(b.region_features, b.region_mask),
        region_geometry=scramble(b.region_geometry, b.region_mask),
    )


def per_example(cand: FeatureBatch, k: int = 2) -> FeatureBatch:
    """Row i's candidates for the cross-encoder: leading dims [B, K] (each row repeated K times)."""
    return FeatureBatch(*(x[:, None].expand(x.shape[0], k, *x.shape[1:]) for x in dataclasses.astuple(cand)))


def nested(cand: FeatureBatch, b: int) -> FeatureBatch:
    """The same N candidates for each of B rows: leading dims [B, N]."""
    return FeatureBatch(*(x[None].expand(b, *x.shape) for x in dataclasses.astuple(cand)))


def features(b: int, k: int, seed: int) -> torch.Tensor:
    """Generator features [B, K, 12] as score_inputs makes them (scores with their found flags)."""
    return score_inputs(CFG, b, k, seed)[2]


@pytest.fixture(scope="module", autouse=True)
def single_thread() -> Iterator[None]:
    """Tiny tensors: intra-op threads only add contention (100x slower on a loaded 2-core box)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model() -> ZemelModel:
    torch.manual_seed(0)
    return ZemelModel(CFG).eval()


def test_config_is_frozen_and_validated() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CFG.poly.codes = 2  # type: ignore[misc]
    with pytest.raises(ValueError):
        dataclasses.replace(CFG.context, width=30, heads=4)
    with pytest.raises(ValueError):
        dataclasses.replace(CFG, candidate_features=-1)
    with pytest.raises(ValueError):
        dataclasses.replace(CFG, bi_pooling="max")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        dataclasses.replace(CFG, candidate=dataclasses.replace(CFG.candidate, width=64))
    assert ModelConfig().candidate_features == 12 and CFG.candidate_features == 12


def test_output_shapes(model: ZemelModel) -> None:
    c = make_ctx(3, 7, 4, seed=1)
    cand = make_batch(5, 6, 2, seed=2)
    out = model.context_encoder(*c.args())
    assert out.sequence.shape == (3, 4 + 7, H) and out.mask.shape == (3, 11) and out.text_first.shape == (3, H)
    codes = model.context_codes(*c.args())
    assert codes.shape == (3, M, H)
    assert model.context_vector(*c.args()).shape == (3, H)
    vectors = model.encode_candidates(cand)
    assert vectors.shape == (5, H)
    expanded = vectors[None].expand(3, 5, H)  # [B, K, H]
    feats = features(3, 5, seed=3)  # [B, K, F]
    assert model.score_codes(codes, expanded, feats).shape == (3, 5)
    assert model.score_vector(model.context_vector(*c.args()), expanded, feats).shape == (3, 5)
    assert model.score_cross(*c.args(), nested(cand, 3), feats).shape == (3, 5)


def test_padding_is_ignored(model: ZemelModel) -> None:
    c, cand = make_ctx(4, 9, 5, seed=3), make_batch(4, 8, 3, seed=4)
    assert (c.batch.token_mask == 0).any() and (c.batch.region_mask == 0).any(), "the seed must produce padding"
    assert c.mention_mask.any() and c.region_focus.any(), "the seed must mark something"
    # scramble the padded features AND mark every padded token / region: neither may matter
    c2 = Ctx(
        with_padding_scrambled(c.batch, 5),
        c.mention_mask | (c.batch.token_mask == 0).long(),
        c.region_focus | (c.batch.region_mask == 0).long(),
    )
    cand2 = with_padding_scrambled(cand, 6)
    feats = features(4, 2, seed=7)
    with torch.no_grad():
        a, b = model.context_encoder(*c.args()), model.context_encoder(*c2.args())
        torch.testing.assert_close(a.sequence, b.sequence, atol=1e-5, rtol=0)
        assert not a.sequence[~a.mask].any(), "padded positions of the sequence are zeroed"
        torch.testing.assert_close(model.context_codes(*c.args()), model.context_codes(*c2.args()), atol=1e-5, rtol=0)
        torch.testing.assert_close(model.encode_candidates(cand), model.encode_candidates(cand2), atol=1e-5, rtol=0)
        torch.testing.assert_close(
            model.context_vector(*c.args()), model.context_vector(*c2.args()), atol=1e-5, rtol=0
        )
        torch.testing.assert_close(
            model.score_cross(*c.args(), per_example(cand), feats),
            model.score_cross(*c2.args(), per_example(cand2), feats), atol=1e-5, rtol=0,
        )  # fmt: skip


def test_mean_pooling_is_padding_invariant() -> None:
    torch.manual_seed(3)
    m = ZemelModel(dataclasses.replace(CFG, bi_pooling="mean")).eval()
    c = make_ctx(3, 8, 4, seed=21)
    c2 = Ctx(with_padding_scrambled(c.batch, 22), c.mention_mask, c.region_focus)
    with torch.no_grad():
        v, v2 = m.context_vector(*c.args()), m.context_vector(*c2.args())
        out = m.context_encoder(*c.args())
        mask = out.mask[..., None].float()
        torch.testing.assert_close(v, (out.sequence * mask).sum(1) / mask.sum(1), atol=1e-6, rtol=0)
    torch.testing.assert_close(v, v2, atol=1e-5, rtol=0)


def test_zero_regions_are_finite_and_equal_to_all_padding(model: ZemelModel) -> None:
    c = make_ctx(2, 6, 3, seed=7)
    b = c.batch
    padded = Ctx(dataclasses.replace(b, region_mask=torch.zeros_like(b.region_mask)), c.mention_mask, c.region_focus)
    empty = Ctx(
        dataclasses.replace(b, region_features=b.region_features[:, :0], region_geometry=b.region_geometry[:, :0],
                            region_mask=b.region_mask[:, :0]),
        c.mention_mask, c.region_focus[:, :0],
    )  # fmt: skip  # R = 0
    with torch.no_grad():
        codes_padded, codes_empty = model.context_codes(*padded.args()), model.context_codes(*empty.args())
        assert torch.isfinite(codes_padded).all() and torch.isfinite(codes_empty).all()
        torch.testing.assert_close(codes_padded, codes_empty, atol=1e-5, rtol=0)
        torch.testing.assert_close(
            model.context_vector(*padded.args()), model.context_vector(*empty.args()), atol=1e-5, rtol=0
        )
        assert torch.isfinite(model.encode_candidates(empty.batch)).all()
        cand = make_batch(2, 4, 0, seed=8)  # candidates with no images either
        assert cand.region_mask.shape[1] == 0
        scores = model.score_cross(*empty.args(), per_example(cand), features(2, 2, seed=9))
        assert torch.isfinite(scores).all()


def test_unmarked_context_is_the_plain_encoder(model: ZemelModel) -> None:
    """An empty mention_mask and no focus = the markers do not exist (zeroed marker parameters),
    whatever the markers would have been."""
    c = marked_ctx(3, 6, 3, seed=10)
    plain = ZemelModel(CFG).eval()
    plain.load_state_dict(model.state_dict())
    with torch.no_grad():
        for enc in (plain.context_encoder, plain.cross):
            enc.mention_marker.zero_()
            enc.region_marker.zero_()
        cand = per_example(make_batch(3, 4, 1, seed=11))
        feats = features(3, 2, seed=12)
        torch.testing.assert_close(model.context_codes(*c.unmarked().args()), plain.context_codes(*c.args()))
        torch.testing.assert_close(
            model.score_cross(*c.unmarked().args(), cand, feats), plain.score_cross(*c.args(), cand, feats)
        )
        # and the markers do act: marking changes the codes and the cross scores
        assert not torch.allclose(model.context_codes(*c.args()), plain.context_codes(*c.args()), atol=1e-4)
        assert not torch.allclose(model.score_cross(*c.args(), cand, feats), plain.score_cross(*c.args(), cand, feats),
                                  atol=1e-4)  # fmt: skip
        ctx_text = plain.context_encoder.encoder(
            c.batch.token_states, c.batch.token_mask != 0, c.batch.region_features, c.batch.region_geometry,
            c.batch.region_mask != 0,
        )[0]  # fmt: skip
        torch.testing.assert_close(model.context_encoder(*c.unmarked().args()).text_first, ctx_text[:, 0])


def test_mention_and_region_markers_each_change_the_codes(model: ZemelModel) -> None:
    c = marked_ctx(2, 6, 3, seed=13)
    assert c.region_focus.any()
    only_mention = Ctx(c.batch, c.mention_mask, torch.zeros_like(c.region_focus))
    only_region = Ctx(c.batch, torch.zeros_like(c.mention_mask), c.region_focus)
    other_region = Ctx(c.batch, c.mention_mask, c.region_focus.roll(1, dims=1) * c.batch.region_mask)
    with torch.no_grad():
        codes = {name: model.context_codes(*x.args()) for name, x in
                 (("none", c.unmarked()), ("mention", only_mention), ("region", only_region), ("pair", c),
                  ("pair2", other_region))}  # fmt: skip
    names = list(codes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            diff = (codes[a] - codes[b]).abs().amax(dim=(1, 2))  # [B]
            assert (diff > 1e-4).any(), (a, b)


def test_markers_act_only_at_marked_positions() -> None:
    """With no attention layers the encoder is position-wise: marking changes exactly the marked
    token and region states, nothing else."""
    enc = EncoderConfig(width=32, heads=2, co_layers=0, self_layers=0, ffn_multiplier=2, dropout=0.0)
    torch.manual_seed(5)
    m = ZemelModel(dataclasses.replace(CFG, context=enc, candidate=enc)).eval()
    c = make_ctx(3, 7, 4, seed=14)
    mm = torch.zeros_like(c.mention_mask)
    mm[0, 2] = mm[1, 0] = mm[1, 1] = mm[2, 6] = 1
    mm = mm * c.batch.token_mask  # a padded token marked is not a marked token (tested above)
    assert mm.sum() >= 2, "the seed must leave some marked tokens real"
    focus = torch.zeros_like(c.region_focus)
    real = c.batch.region_mask.nonzero().tolist()  # (row, region) with a real region
    assert real, "the seed must give a real region"
    focus[real[0][0], real[0][1]] = 1
    with torch.no_grad():
        base = m.context_encoder(*c.unmarked().args()).sequence  # [B, R+T, H]
        marked = m.context_encoder(c.batch, mm, focus).sequence
    changed = (marked - base).abs().amax(-1) > 1e-6  # [B, R+T]
    expected = torch.cat([focus, mm], dim=1) != 0
    assert torch.equal(changed, expected), (changed, expected)


def test_prior_adds_to_every_head(model: ZemelModel) -> None:
    c = make_ctx(2, 5, 2, seed=15)
    cand = make_batch(3, 4, 1, seed=16)
    feats = features(2, 3, seed=17)
    assert feats.abs().sum() > 0
    zeros = torch.zeros_like(feats)
    with torch.no_grad():
        prior = model.prior(feats)  # [B, K]
        assert prior.shape == (2, 3)
        vectors = model.encode_candidates(cand)[None].expand(2, 3, H)
        codes, vector = model.context_codes(*c.args()), model.context_vector(*c.args())
        heads = {
            "poly": lambda f: model.score_codes(codes, vectors, f),
            "bi": lambda f: model.score_vector(vector, vectors, f),
            "cross": lambda f: model.score_cross(*c.args(), nested(cand, 2), f),
        }
        raw = {
            "poly": poly_score(codes, vectors, H),
            "bi": (vector[:, None] * vectors).sum(-1) / math.sqrt(H),
            "cross": model.cross(*c.args(), nested(cand, 2)),
        }
        for name, head in heads.items():
            with_feats, with_zeros = head(feats), head(zeros)
            assert not torch.allclose(with_feats, with_zeros, atol=1e-4), name
            torch.testing.assert_close(with_feats, raw[name] + prior, atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(with_feats - with_zeros, prior - model.prior(zeros), atol=1e-5, rtol=1e-5)
            with pytest.raises(ValueError, match="candidate_features"):
                head(None)


def test_no_prior_model_needs_no_features() -> None:
    torch.manual_seed(6)
    m = ZemelModel(NO_PRIOR).eval()
    assert m.prior is None
    assert not any(n.startswith("prior.") for n in m.state_dict())
    c = make_ctx(2, 5, 2, seed=18)
    cand = make_batch(3, 4, 1, seed=19)
    with torch.no_grad():
        vectors = m.encode_candidates(cand)[None].expand(2, 3, H)
        codes = m.context_codes(*c.args())
        torch.testing.assert_close(m.score_codes(codes, vectors, None), poly_score(codes, vectors, H))
        vector = m.context_vector(*c.args())
        torch.testing.assert_close(m.score_vector(vector, vectors, None), (vector[:, None] * vectors).sum(-1) / H**0.5)
        torch.testing.assert_close(m.score_cross(*c.args(), nested(cand, 2), None), m.cross(*c.args(), nested(cand, 2)))
    assert m.with_prior(torch.ones(2, 3), None).tolist() == [[1.0] * 3] * 2


def test_gradients_are_finite_with_zero_regions() -> None:
    torch.manual_seed(1)
    model = ZemelModel(CFG)
    c = make_ctx(2, 5, 2, seed=8)
    c = Ctx(dataclasses.replace(c.batch, region_mask=torch.zeros_like(c.batch.region_mask)), c.mention_mask,
            c.region_focus)  # fmt: skip
    model.score_codes(model.context_codes(*c.args()), torch.randn(2, 3, H), features(2, 3, 1)).sum().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_poly_score_m1_is_a_scaled_dot_product() -> None:
    """With one code the candidate's attention over codes is the identity: score = code . v / sqrt(H)."""
    torch.manual_seed(2)
    model = ZemelModel(dataclasses.replace(NO_PRIOR, poly=PolyConfig(codes=1))).eval()
    c = make_ctx(3, 5, 2, seed=9)
    vectors = torch.randn(3, 4, H)  # [B, K, H]
    with torch.no_grad():
        out = model.context_encoder(*c.args())
        # hand computation of the single code's summary: softmax over the real positions only
        expected_codes = []
        for i in range(3):
            seq = out.sequence[i][out.mask[i]]  # [n, H]
            w = torch.softmax(seq @ model.poly.codes[0] / H**0.5, dim=0)  # [n]
            expected_codes.append(w @ seq)  # [H]
        code = torch.stack(expected_codes)  # [B, H]
        torch.testing.assert_close(model.context_codes(*c.args())[:, 0], code, atol=1e-5, rtol=1e-5)
        expected = (vectors * code[:, None, :]).sum(-1) / H**0.5  # [B, K]
        torch.testing.assert_close(model.score_codes(code[:, None], vectors, None), expected, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(model.poly.score(code[:, None], vectors), expected, atol=1e-5, rtol=1e-5)


def test_poly_score_general_m_matches_loops() -> None:
    g = torch.Generator().manual_seed(3)
    codes, cands = torch.randn(2, 3, 8, generator=g), torch.randn(2, 4, 8, generator=g)  # [B,m,H], [B,K,H]
    got = poly_score(codes, cands, 8)  # [B, K]
    for b in range(2):
        for k in range(4):
            w = torch.softmax(torch.stack([cands[b, k] @ codes[b, j] for j in range(3)]) / 8**0.5, 0)  # [m]
            ctx = sum(w[j] * codes[b, j] for j in range(3))  # [H]
            assert abs(float(ctx @ cands[b, k]) / 8**0.5 - float(got[b, k])) < 1e-5


def test_candidate_set_masks_false_negatives() -> None:
    pos = torch.randn(3, 4)  # [B, H]
    hard = torch.randn(3, 2, 4)  # [B, N, H]
    ids = torch.tensor([10, 11, 10])  # examples 0 and 2 share a gold entity
    hard_ids = torch.tensor([[11, 12], [13, 11], [14, 15]])  # example 1's hard negative 11 is its gold
    cs = build_candidate_set(pos, hard, ids, hard_ids)
    assert cs.vectors.shape == (3, 5, 4) and cs.labels.tolist() == [0, 1, 2]
    assert cs.valid.tolist() == [
        [True, True, False, True, True],
        [True, True, True, True, False],
        [False, True, True, True, True],
    ]
    torch.testing.assert_close(cs.vectors[1, 3], hard[1, 0])
    loss = candidate_cross_entropy(torch.zeros(3, 5), cs.labels, cs.valid)  # [] uniform over valid columns
    assert abs(float(loss) - float(torch.log(torch.tensor(4.0)))) < 1e-5


class SyntheticTask:
    """Entities with a random text and image signature; a mention shows its entity's signature
    (plus noise) in one token and one region among distractors. Separable by construction."""

    def __init__(self, entities: int, seed: int) -> None:
        self.g = torch.Generator().manual_seed(seed)
        self.text = torch.randn(entities, CFG.context.text_dim, generator=self.g)  # [E, 384]
        self.image = torch.rand(entities, CFG.context.region_dim, generator=self.g) * 3  # [E, 1280]
        self.entities = entities

    def candidates(self, ids: torch.Tensor) -> FeatureBatch:
        n = ids.shape[0]
        tokens = torch.randn(n, 4, CFG.context.text_dim, generator=self.g) * 0.3  # [N, 4, 384]
        tokens[:, 0] += self.text[ids]  # the [CLS]-like position carries the name
        tokens[:, 1] += self.text[ids]
        noise = torch.randn(n, 1, CFG.context.region_dim, generator=self.g) * 0.3  # [N, 1, 1280]
        images = self.image[ids][:, None] + noise  # [N, 1, 1280]
        return FeatureBatch(tokens, torch.ones(n, 4, dtype=torch.long), images, full_image_geometry(n, 1),
                            torch.ones(n, 1, dtype=torch.long))  # fmt: skip

    def contexts(self, ids: torch.Tensor) -> Ctx:
        b = ids.shape[0]
        tokens = torch.randn(b, 6, CFG.context.text_dim, generator=self.g) * 0.3  # [B, 6, 384] weak distractors
        tokens[:, 2] = self.text[ids] + torch.randn(b, CFG.context.text_dim, generator=self.g) * 0.3
        regions = torch.rand(b, 3, CFG.context.region_dim, generator=self.g)  # [B, 3, 1280] weak distractors
        regions[:, 1] = self.image[ids]
        geometry = full_image_geometry(b, 3) * 0.5  # [B, 3, 5]
        mention = torch.zeros(b, 6, dtype=torch.long)
        mention[:, 2] = 1
        focus = torch.zeros(b, 3, dtype=torch.long)
        focus[:, 1] = 1
        batch = FeatureBatch(tokens, torch.ones(b, 6, dtype=torch.long), regions, geometry,
                             torch.ones(b, 3, dtype=torch.long))  # fmt: skip
        return Ctx(batch, mention, focus)


def poly_loss(model: ZemelModel, task: SyntheticTask, ids: torch.Tensor, hard_ids: torch.Tensor) -> torch.Tensor:
    positives = model.encode_candidates(task.candidates(ids))  # [B, H]
    hard = model.encode_candidates(task.candidates(hard_ids.flatten())).reshape(*hard_ids.shape, H)  # [B, N, H]
    cs = build_candidate_set(positives, hard, ids, hard_ids)
    scores = model.score_codes(model.context_codes(*task.contexts(ids).args()), cs.vectors, None)  # [B, K]
    return candidate_cross_entropy(scores, cs.labels, cs.valid)


def test_loss_decreases_on_a_separable_problem() -> None:
    """A real learning check: 30 AdamW steps on fresh noisy batches; the loss on a held-out batch
    (new noise) must end far below chance, log(18) = 2.9."""
    torch.manual_seed(4)
    entities = 16
    task = SyntheticTask(entities=entities, seed=5)
    model = ZemelModel(NO_PRIOR)
    held_ids, held_hard = torch.arange(16), torch.randint(0, entities, (16, 2), generator=task.g)
    with torch.no_grad():
        model.eval()
        before = float(poly_loss(model, task, held_ids, held_hard))
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(30):
        ids = torch.randperm(entities, generator=task.g)
        hard = torch.randint(0, entities, (16, 2), generator=task.g)
        loss = poly_loss(model, task, ids, hard)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        model.eval()
        after = float(poly_loss(model, task, held_ids, held_hard))
    assert after < 0.5 and after < 0.25 * before, (before, after)


def _with_grad(model: ZemelModel) -> set[str]:
    return {n for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}


def _grad_inputs(model: ZemelModel) -> tuple[Ctx, FeatureBatch, torch.Tensor]:
    c = marked_ctx(2, 5, 3, seed=12)
    assert c.region_focus.any() and c.mention_mask.any()
    return c, make_batch(2, 4, 2, seed=13), features(2, 2, seed=14)


def test_every_parameter_gets_a_gradient() -> None:
    """No dead weights: the poly path trains the context encoder (markers included), the candidate
    encoder, the codes and the prior; the cross path trains the cross-encoder (and the prior)."""
    torch.manual_seed(6)
    model = ZemelModel(CFG)
    names = {n for n, _ in model.named_parameters()}
    cross = {n for n in names if n.startswith("cross.")}
    prior = {n for n in names if n.startswith("prior.")}
    assert cross and prior and "context_encoder.mention_marker" in names and "context_encoder.region_marker" in names
    c, cand, feats = _grad_inputs(model)

    vectors = model.encode_candidates(cand)[None].expand(2, 2, H)  # [B, K, H]
    model.score_codes(model.context_codes(*c.args()), vectors, feats).sum().backward()
    assert _with_grad(model) == names - cross  # poly: everything but the cross-encoder

    model.zero_grad(set_to_none=True)
    model.score_cross(*c.args(), nested(cand, 2), feats).sum().backward()
    assert _with_grad(model) == cross | prior  # cross: its own encoder (markers included) and the prior

    model.zero_grad(set_to_none=True)
    vectors = model.encode_candidates(cand)[None].expand(2, 2, H)
    model.score_vector(model.context_vector(*c.args()), vectors, feats).sum().backward()
    got = _with_grad(model)
    assert prior <= got and "context_encoder.mention_marker" in got and not got & cross
    assert {n for n in names if n.startswith("candidate_encoder.")} <= got and "poly.codes" not in got

    model.zero_grad(set_to_none=True)
    vectors = model.encode_candidates(cand)[None].expand(2, 2, H)
    (model.score_codes(model.context_codes(*c.args()), vectors, feats).sum()
     + model.score_cross(*c.args(), nested(cand, 2), feats).sum()).backward()  # fmt: skip
    assert _with_grad(model) == names


def test_no_prior_model_has_no_dead_weights() -> None:
    torch.manual_seed(7)
    model = ZemelModel(NO_PRIOR)
    c, cand, _ = _grad_inputs(model)
    vectors = model.encode_candidates(cand)[None].expand(2, 2, H)
    (model.score_codes(model.context_codes(*c.args()), vectors, None).sum()
     + model.score_cross(*c.args(), nested(cand, 2), None).sum()).backward()  # fmt: skip
    assert _with_grad(model) == {n for n, _ in model.named_parameters()}
