"""The out-of-scope gate: scores about 1 for the photos it was fitted on, larger far from them."""
from __future__ import annotations

import numpy as np
import pytest

from scalp_model.serving.ood import fit_gate, gate_scores


def test_scores_are_about_one_on_the_fitted_features_and_grow_away_from_them() -> None:
    rng = np.random.default_rng(0)
    n, d = 200, 64
    features = rng.standard_normal((n, d)) * rng.uniform(0.1, 3.0, d) + 5.0
    state = fit_gate(features, components=16)
    assert state["mean"].shape == (d,) and state["components"].shape == (16, d) and state["scale"].shape == (16,)
    scores = gate_scores(features, state)
    assert scores.shape == (n,) and (scores >= 0).all()
    # Each kept direction has unit sample variance (ddof 1) on the fitted features, so the mean is (n - 1) / n.
    assert scores.mean() == pytest.approx((n - 1) / n, rel=1e-3)
    far = features[:10] + 20 * state["components"][0].numpy() * state["scale"][0].numpy()
    assert (gate_scores(far, state) > scores[:10] + 10).all()  # 20 sd along one of 16 directions: +25 ± 5


def test_components_are_capped_by_the_photos_and_constant_directions_cannot_divide_by_zero() -> None:
    features = np.zeros((5, 8))
    features[:, 0] = np.arange(5)
    state = fit_gate(features, components=32)
    assert state["components"].shape == (5, 8) and (state["scale"] >= 1e-6).all()
    assert np.isfinite(gate_scores(features, state)).all()


@pytest.mark.parametrize("shape", [(1, 8), (0, 8), (8,)])
def test_too_few_photos_are_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="at least 2 photos"):
        fit_gate(np.zeros(shape))


def test_the_residual_sees_what_the_subspace_cannot() -> None:
    """Features varying in 8 of 64 directions: a point moved off those directions scores like a training
    photo with the subspace alone, and far out with the residual; training photos score about 2 with it."""
    rng = np.random.default_rng(1)
    n, d, k = 300, 64, 8
    basis = np.linalg.qr(rng.standard_normal((d, d)))[0]
    features = (rng.standard_normal((n, k)) * 3.0) @ basis[:, :k].T + 0.1 * rng.standard_normal((n, d))
    plain, with_residual = fit_gate(features, components=k), fit_gate(features, components=k, residual=True)
    assert "residual_scale" not in plain and with_residual["residual_scale"].shape == (1,)
    assert gate_scores(features, with_residual).mean() == pytest.approx(2.0, abs=0.05)
    off = features[:10] + 5.0 * basis[:, k]  # 50 noise sd along a direction the photos never vary in
    assert (gate_scores(off, plain) < 3).all()  # the subspace alone lets it through
    assert (gate_scores(off, with_residual) > 20).all()  # 25 over a training mean of about 0.56: about 45 more
    centred = features - features.mean(axis=0)
    comps = plain["components"].numpy()
    residual = ((centred - centred @ comps.T @ comps) ** 2).sum(axis=1)
    assert float(with_residual["residual_scale"][0]) == pytest.approx(residual.mean(), rel=1e-4)
    assert np.allclose(gate_scores(features, with_residual) - gate_scores(features, plain),
                       residual / residual.mean(), rtol=1e-3, atol=1e-3)
