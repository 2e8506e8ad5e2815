# ruff: noqa: N803, N806  (T is the literature's name for the observation length)
"""Tests for cxm.metrics.clv: BG/NBD, Pareto/NBD, Gamma-Gamma, CLV and RFM summaries.

Published figures (CDNOW, 2,357 customers, 39-week calibration): BG/NBD and Pareto/NBD
parameters of Fader, Hardie & Lee (2005), Gamma-Gamma parameters and log-likelihood of Fader &
Hardie (2013), and the printed outputs of the lifetimes README (0.11.3 quickstart). Oracles:
the models' likelihoods and posterior expectations integrated numerically over the individual
rates (scipy.integrate), the textbook closed forms written out here without the module's
rewrites, finite-difference gradients and Hessians, simulation and hand-worked summaries.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, special, stats

from cxm.datasets import load_cdnow_summary, load_cdnow_transactions
from cxm.exceptions import ValidationError
from cxm.metrics.clv import (
    BetaGeo,
    GammaGamma,
    ParetoNBD,
    _bg_objective,
    _Counts,
    _gg_objective,
    customer_lifetime_value,
    summary_from_transactions,
)

PUBLISHED_BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_PARETO = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def significant(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}")


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def bgnbd(cdnow: pd.DataFrame) -> BetaGeo:
    return BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="module")
def pareto(cdnow: pd.DataFrame) -> ParetoNBD:
    return ParetoNBD().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="module")
def gamma_gamma(cdnow: pd.DataFrame) -> GammaGamma:
    return GammaGamma().fit(cdnow["frequency"], cdnow["monetary"])


# -- published figures ----------------------------------------------------------------------


def test_bgnbd_reproduces_fader_hardie_lee_2005(bgnbd: BetaGeo) -> None:
    assert bgnbd.converged
    assert bgnbd.n_customers == 2357
    for name, published in PUBLISHED_BG.items():
        assert significant(bgnbd.params[name]) == significant(published), name
    assert round(bgnbd.log_likelihood, 1) == -9582.4


def test_pareto_nbd_reproduces_fader_hardie_lee_2005(pareto: ParetoNBD) -> None:
    assert pareto.converged
    for name, published in PUBLISHED_PARETO.items():
        assert significant(pareto.params[name]) == significant(published), name


def test_gamma_gamma_reproduces_fader_hardie_2013(gamma_gamma: GammaGamma) -> None:
    assert gamma_gamma.converged
    assert gamma_gamma.n_customers == 946  # the repeat buyers
    for name, published in PUBLISHED_GG.items():
        assert significant(gamma_gamma.params[name]) == significant(published), name
    assert round(gamma_gamma.log_likelihood, 2) == -4055.92


def test_lifetimes_readme_top_predicted_purchases(cdnow: pd.DataFrame, bgnbd: BetaGeo) -> None:
    # lifetimes 0.11.3 README: bgf.conditional_expected_number_of_purchases_up_to_time(1, ...)
    # sorted, the last five rows.
    published = {509: 0.424877, 841: 0.474738, 1981: 0.486526, 157: 0.662396, 1516: 0.710623}
    predicted = bgnbd.expected_purchases(1, cdnow["frequency"], cdnow["recency"], cdnow["T"])
    top = cdnow.assign(predicted=predicted).sort_values("predicted").tail(5)
    assert top["customer_id"].tolist() == list(published)
    np.testing.assert_allclose(top["predicted"], list(published.values()), atol=5e-4)


def test_lifetimes_readme_expected_average_value(
    cdnow: pd.DataFrame, gamma_gamma: GammaGamma
) -> None:
    # lifetimes 0.11.3 README: ggf.conditional_expected_average_profit(...).head(10)
    published = [24.658619, 18.911489, 35.170981, 35.170981, 35.170981, 71.462843, 18.911489]
    published += [35.170981, 27.282408, 35.170981]
    head = cdnow.head(10)
    value = gamma_gamma.expected_average_value(head["frequency"], head["monetary"])
    np.testing.assert_allclose(value, published, atol=5e-4)
    # and the README's mean over all customers
    everyone = gamma_gamma.expected_average_value(cdnow["frequency"], cdnow["monetary"])
    assert round(float(everyone.mean()), 3) == 35.253


def test_lifetimes_readme_customer_lifetime_value(
    cdnow: pd.DataFrame, bgnbd: BetaGeo, gamma_gamma: GammaGamma
) -> None:
    # lifetimes 0.11.3 README: ggf.customer_lifetime_value(bgf, ..., time=12,
    # discount_rate=0.01) with its default freq="D", i.e. 30 model time units per month.
    published = [140.096211, 18.943467, 38.180574, 38.180574, 38.180574, 1003.868107]
    published += [28.109683, 38.180574, 167.418216, 38.180574]
    head = cdnow.head(10).set_index("customer_id")
    value = customer_lifetime_value(
        bgnbd,
        gamma_gamma,
        head["frequency"],
        head["recency"],
        head["T"],
        head["monetary"],
        periods=12,
        period_length=30,
        discount_rate=0.01,
    )
    assert list(value.index) == list(head.index)
    assert list(value.columns) == ["expected_purchases", "expected_value", "clv"]
    np.testing.assert_allclose(value["clv"], published, atol=5e-3)


def bg_closed_forms(params: dict[str, float], x, tx, T, t):
    """FHL (2005) eq. (10) and P(alive) exactly as printed, with the plain 2F1."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    odds = np.where(x > 0, a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x), 0.0)
    p_alive = 1 / (1 + odds)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp
    return p_alive, (a + b + x - 1) / (a - 1) * bracket / (1 + odds)


def test_first_customers_against_the_published_bgnbd(cdnow: pd.DataFrame, bgnbd: BetaGeo) -> None:
    head = cdnow.head(20)
    x, tx, T = head["frequency"], head["recency"], head["T"]
    want_alive, want_39 = bg_closed_forms(PUBLISHED_BG, x, tx, T, 39.0)
    published = BetaGeo.from_params(**PUBLISHED_BG)
    np.testing.assert_allclose(published.probability_alive(x, tx, T), want_alive, atol=1e-10)
    np.testing.assert_allclose(published.expected_purchases(39, x, tx, T), want_39, atol=1e-10)
    # the fitted model agrees with the published one to 3 decimals
    np.testing.assert_allclose(bgnbd.probability_alive(x, tx, T), want_alive, atol=5e-4)
    np.testing.assert_allclose(bgnbd.expected_purchases(39, x, tx, T), want_39, atol=5e-4)
    assert round(float(want_39[0]), 3) == 1.226  # customer 1: x=2, t_x=30.43, T=38.86


def pareto_closed_forms(params: dict[str, float], x, tx, T, t):
    """Fader & Hardie (2005) note: P(alive) (eq. 24 with A_0 of eq. 22) and E[Y(t)] (eq. 27)."""
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    rsx = r + s + x
    if alpha >= beta:
        z1, z2 = (alpha - beta) / (alpha + tx), (alpha - beta) / (alpha + T)
        a0 = (
            special.hyp2f1(rsx, s + 1, rsx + 1, z1) / (alpha + tx) ** rsx
            - special.hyp2f1(rsx, s + 1, rsx + 1, z2) / (alpha + T) ** rsx
        )
    else:
        z1, z2 = (beta - alpha) / (beta + tx), (beta - alpha) / (beta + T)
        a0 = (
            special.hyp2f1(rsx, r + x, rsx + 1, z1) / (beta + tx) ** rsx
            - special.hyp2f1(rsx, r + x, rsx + 1, z2) / (beta + T) ** rsx
        )
    p_alive = 1 / (1 + s / rsx * (alpha + T) ** (r + x) * (beta + T) ** s * a0)
    expected = (
        (r + x)
        * (beta + T)
        / ((alpha + T) * (s - 1))
        * (1 - ((beta + T) / (beta + T + t)) ** (s - 1))
        * p_alive
    )
    return p_alive, expected


@pytest.mark.parametrize(
    "params",
    [PUBLISHED_PARETO, {"r": 0.553, "alpha": 14.0, "s": 0.606, "beta": 3.5}],
    ids=["alpha<beta", "alpha>beta"],
)
def test_pareto_against_the_published_closed_forms(cdnow: pd.DataFrame, params) -> None:
    head = cdnow.head(20)
    x, tx, T = head["frequency"], head["recency"], head["T"]
    want_alive, want_39 = pareto_closed_forms(params, x, tx, T, 39.0)
    model = ParetoNBD.from_params(**params)
    np.testing.assert_allclose(model.probability_alive(x, tx, T), want_alive, rtol=1e-9)
    np.testing.assert_allclose(model.expected_purchases(39, x, tx, T), want_39, rtol=1e-9)


def test_fitted_pareto_matches_the_published_model_for_first_customers(
    cdnow: pd.DataFrame, pareto: ParetoNBD
) -> None:
    head = cdnow.head(20)
    x, tx, T = head["frequency"], head["recency"], head["T"]
    want_alive, want_39 = pareto_closed_forms(PUBLISHED_PARETO, x, tx, T, 39.0)
    np.testing.assert_allclose(pareto.probability_alive(x, tx, T), want_alive, atol=5e-4)
    # the published parameters are rounded to 3 decimals, which moves E[Y(39)] by up to 5e-4
    np.testing.assert_allclose(pareto.expected_purchases(39, x, tx, T), want_39, atol=1e-3)


# -- oracles: numerical integration over the individual rates -------------------------------


def gamma_poisson(r: float, alpha: float, x: int, time: float) -> float:
    """The integral of lambda^x e^(-lambda time) over lambda ~ gamma(r, rate alpha)."""
    return math.exp(
        math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha) - (r + x) * math.log(alpha + time)
    )


@pytest.mark.parametrize(("x", "tx", "T"), [(0, 0.0, 38.86), (2, 30.43, 38.86), (7, 29.43, 38.86)])
def test_bgnbd_likelihood_and_expectation_against_integration(x, tx, T) -> None:
    # The individual likelihood (1-p)^x lambda^x e^(-lambda T) + [x>0] p (1-p)^(x-1) lambda^x
    # e^(-lambda t_x), integrated over lambda in closed form and over p ~ beta(a, b) by
    # quadrature; E[Y(t)] from its individual form (1/p)(1 - e^(-lambda p t)) while alive.
    r, alpha, a, b = PUBLISHED_BG.values()
    t = 10.0
    beta_pdf = stats.beta(a, b).pdf

    def likelihood(p):
        value = (1 - p) ** x * gamma_poisson(r, alpha, x, T)
        if x > 0:
            value += p * (1 - p) ** (x - 1) * gamma_poisson(r, alpha, x, tx)
        return value * beta_pdf(p)

    def numerator(p):
        # integral of lambda^x e^(-lambda T) (1 - e^(-lambda p t)) over the gamma
        inner = gamma_poisson(r, alpha, x, T) - gamma_poisson(r, alpha, x, T + p * t)
        return (1 - p) ** x * inner / p * beta_pdf(p)

    options = {"epsabs": 1e-14, "epsrel": 1e-11, "limit": 200}
    total = integrate.quad(likelihood, 0, 1, **options)[0]
    expected = integrate.quad(numerator, 0, 1, **options)[0] / total
    model = BetaGeo.from_params(**PUBLISHED_BG)
    assert float(model.customer_log_likelihood(x, tx, T)) == pytest.approx(
        math.log(total), abs=1e-8
    )
    assert float(model.expected_purchases(t, x, tx, T)) == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize(
    ("params", "x", "tx", "T"),
    [
        (PUBLISHED_PARETO, 0, 0.0, 38.86),
        (PUBLISHED_PARETO, 2, 30.43, 38.86),
        (PUBLISHED_PARETO, 7, 29.43, 38.86),
        ({"r": 0.8, "alpha": 14.0, "s": 1.4, "beta": 3.5}, 3, 12.0, 30.0),
        ({"r": 2.0, "alpha": 1.0, "s": 0.5, "beta": 40.0}, 60, 2.0, 52.0),
    ],
)
def test_pareto_likelihood_and_p_alive_against_integration(params, x, tx, T) -> None:
    # Alive at T: lambda^x e^(-lambda T) e^(-mu T); left at tau in (t_x, T]:
    # lambda^x e^(-lambda tau) mu e^(-mu tau). Integrated over mu ~ gamma(s, beta) in closed form
    # and over tau by quadrature -- no hypergeometric function.
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))

    def death_density(tau):  # s beta^s / (beta + tau)^(s + 1)
        return s * math.exp(s * math.log(beta) - (s + 1) * math.log(beta + tau))

    alive = gamma_poisson(r, alpha, x, T) * (beta / (beta + T)) ** s
    left = integrate.quad(
        lambda tau: gamma_poisson(r, alpha, x, tau) * death_density(tau),
        tx,
        T,
        epsabs=1e-300,
        epsrel=1e-12,
        limit=200,
    )[0]
    model = ParetoNBD.from_params(**params)
    assert float(model.customer_log_likelihood(x, tx, T)) == pytest.approx(
        math.log(alive + left), abs=1e-8
    )
    assert float(model.probability_alive(x, tx, T)) == pytest.approx(
        alive / (alive + left), rel=1e-7
    )


def test_gamma_gamma_likelihood_against_integration() -> None:
    p, q, gamma = 6.25, 3.74, 15.44
    model = GammaGamma.from_params(p=p, q=q, gamma=gamma)
    for x, mean in [(1, 11.77), (2, 22.35), (7, 73.74)]:
        # The mean of x gamma(p, nu) values is gamma(p x, x nu); nu ~ gamma(q, gamma).
        def density(nu, x=x, mean=mean):
            spend = stats.gamma(p * x, scale=1 / (x * nu)).pdf(mean)
            return spend * stats.gamma(q, scale=1 / gamma).pdf(nu)

        total = integrate.quad(density, 0, np.inf, epsabs=1e-14, epsrel=1e-11)[0]
        assert float(model.customer_log_likelihood(x, mean)) == pytest.approx(
            math.log(total), abs=1e-7
        )


# -- the fit's mechanics --------------------------------------------------------------------


def test_bgnbd_gradient_matches_finite_differences(cdnow: pd.DataFrame) -> None:
    data = _Counts.build(
        cdnow["frequency"].to_numpy(float),
        cdnow["recency"].to_numpy(),
        cdnow["T"].to_numpy(),
        np.ones(len(cdnow)),
    )
    for theta in (np.log([0.243, 4.414, 0.793, 2.426]), np.log([1.5, 0.7, 3.0, 0.4])):
        error = optimize.check_grad(
            lambda th: _bg_objective(th, data)[0], lambda th: _bg_objective(th, data)[1], theta
        )
        assert error < 1e-6


def test_gamma_gamma_gradient_matches_finite_differences(cdnow: pd.DataFrame) -> None:
    repeat = cdnow[cdnow["frequency"] > 0]
    x, m = repeat["frequency"].to_numpy(float), repeat["monetary"].to_numpy()
    w = np.ones(len(x))
    for theta in (np.log([6.25, 3.74, 15.44]), np.log([0.5, 9.0, 2.0])):
        error = optimize.check_grad(
            lambda th: _gg_objective(th, x, m, w)[0],
            lambda th: _gg_objective(th, x, m, w)[1],
            theta,
        )
        assert error < 1e-6


def test_log_likelihood_is_the_sum_over_customers(
    cdnow: pd.DataFrame, bgnbd: BetaGeo, pareto: ParetoNBD, gamma_gamma: GammaGamma
) -> None:
    x, tx, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    assert bgnbd.customer_log_likelihood(x, tx, T).sum() == pytest.approx(bgnbd.log_likelihood)
    assert pareto.customer_log_likelihood(x, tx, T).sum() == pytest.approx(pareto.log_likelihood)
    each = gamma_gamma.customer_log_likelihood(x, cdnow["monetary"])
    assert np.isnan(each[x.to_numpy() == 0]).all()
    assert np.nansum(each) == pytest.approx(gamma_gamma.log_likelihood)


def test_fit_is_a_maximum(cdnow: pd.DataFrame, bgnbd: BetaGeo) -> None:
    x, tx, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    best = bgnbd.log_likelihood
    for i in range(4):
        for factor in (0.99, 1.01):
            values = bgnbd.params.to_dict()
            values[bgnbd.names[i]] *= factor
            moved = BetaGeo.from_params(**values).customer_log_likelihood(x, tx, T).sum()
            assert moved < best


def numerical_standard_errors(model, columns) -> np.ndarray:
    """Standard errors from a Hessian of the summed log-likelihood in the natural parameters."""
    values = model.params.to_numpy()
    kind = type(model)

    def log_lik(v):
        return kind.from_params(*v).customer_log_likelihood(*columns).sum()

    k = len(values)
    h = 1e-4 * values
    hessian = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            hessian[i, j] = (
                log_lik(values + ei + ej)
                - log_lik(values + ei - ej)
                - log_lik(values - ei + ej)
                + log_lik(values - ei - ej)
            ) / (4 * h[i] * h[j])
    return np.sqrt(np.diag(np.linalg.inv(-hessian)))


def test_standard_errors_match_a_natural_scale_hessian(
    cdnow: pd.DataFrame, bgnbd: BetaGeo, pareto: ParetoNBD
) -> None:
    columns = (cdnow["frequency"], cdnow["recency"], cdnow["T"])
    np.testing.assert_allclose(
        bgnbd.standard_errors, numerical_standard_errors(bgnbd, columns), rtol=2e-3
    )
    np.testing.assert_allclose(
        pareto.standard_errors, numerical_standard_errors(pareto, columns), rtol=2e-2
    )


def test_summary_table(bgnbd: BetaGeo) -> None:
    table = bgnbd.summary
    assert list(table.columns) == ["estimate", "se", "ci_low", "ci_high"]
    assert list(table.index) == ["r", "alpha", "a", "b"]
    assert table.index.name == "parameter"
    z = stats.norm.ppf(0.975)
    log_se = table["se"] / table["estimate"]
    np.testing.assert_allclose(table["ci_low"], table["estimate"] * np.exp(-z * log_se))
    np.testing.assert_allclose(table["ci_high"], table["estimate"] * np.exp(z * log_se))
    assert (table["ci_low"] > 0).all()
    half = BetaGeo.from_params(**bgnbd.params.to_dict(), confidence=0.5)
    assert half.summary["se"].isna().all()  # no fit, no standard errors
    assert half.log_likelihood != half.log_likelihood
    assert "2,357 customers" in str(bgnbd)
    assert "<table" in bgnbd._repr_html_()
    assert repr(bgnbd).startswith("<BetaGeo r=0.2426")
    assert bgnbd.covariance.shape == (4, 4)


def test_weights_stand_for_repeated_rows(cdnow: pd.DataFrame, bgnbd: BetaGeo) -> None:
    grouped = cdnow.groupby(["frequency", "recency", "T"]).size().reset_index(name="n")
    assert len(grouped) < len(cdnow)
    weighted = BetaGeo().fit(
        grouped["frequency"], grouped["recency"], grouped["T"], weights=grouped["n"]
    )
    np.testing.assert_allclose(weighted.params, bgnbd.params, rtol=1e-5)
    assert weighted.log_likelihood == pytest.approx(bgnbd.log_likelihood)
    np.testing.assert_allclose(weighted.standard_errors, bgnbd.standard_errors, rtol=1e-3)


def test_fit_does_not_depend_on_row_order(cdnow: pd.DataFrame, bgnbd: BetaGeo) -> None:
    shuffled = cdnow.sample(frac=1.0, random_state=3)
    again = BetaGeo().fit(shuffled["frequency"], shuffled["recency"], shuffled["T"])
    np.testing.assert_allclose(again.params, bgnbd.params, rtol=1e-6)


def test_simulated_customers_recover_the_parameters() -> None:
    rng = np.random.default_rng(11)
    T = rng.uniform(5, 52, 50_000)
    truth = BetaGeo.from_params(**PUBLISHED_BG)
    data = truth.simulate(T, seed=12)
    fitted = BetaGeo().fit(data["frequency"], data["recency"], data["T"])
    z = (fitted.params - truth.params) / fitted.standard_errors
    assert (z.abs() < 4).all(), z

    truth_p = ParetoNBD.from_params(**PUBLISHED_PARETO)
    data_p = truth_p.simulate(T[:5_000], seed=13)
    fitted_p = ParetoNBD().fit(data_p["frequency"], data_p["recency"], data_p["T"])
    z_p = (fitted_p.params - truth_p.params) / fitted_p.standard_errors
    assert (z_p.abs() < 4).all(), z_p

    truth_g = GammaGamma.from_params(**PUBLISHED_GG)
    x = rng.integers(1, 10, 20_000)
    fitted_g = GammaGamma().fit(x, truth_g.simulate(x, seed=14))
    z_g = (fitted_g.params - truth_g.params) / fitted_g.standard_errors
    assert (z_g.abs() < 4).all(), z_g


def test_simulated_frequencies_match_the_unconditional_expectation() -> None:
    model = BetaGeo.from_params(**PUBLISHED_BG)
    data = model.simulate(np.full(200_000, 39.0), seed=5)
    expected = float(model.expected_purchases_new(39.0))
    se = data["frequency"].std() / math.sqrt(len(data))
    assert abs(data["frequency"].mean() - expected) < 4 * se
    pareto = ParetoNBD.from_params(**PUBLISHED_PARETO)
    data_p = pareto.simulate(np.full(200_000, 39.0), seed=6)
    se_p = data_p["frequency"].std() / math.sqrt(len(data_p))
    assert abs(data_p["frequency"].mean() - float(pareto.expected_purchases_new(39.0))) < 4 * se_p


# -- invariants and edge cases --------------------------------------------------------------


def test_prediction_invariants(cdnow: pd.DataFrame) -> None:
    x, tx, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    for model in (
        BetaGeo.from_params(**PUBLISHED_BG),
        ParetoNBD.from_params(**PUBLISHED_PARETO),
    ):
        alive = model.probability_alive(x, tx, T)
        assert ((alive >= 0) & (alive <= 1)).all()
        assert (model.expected_purchases(0, x, tx, T) == 0).all()
        horizons = model.expected_purchases(np.array([[1.0], [10.0], [100.0]]), x, tx, T)
        assert horizons.shape == (3, len(cdnow))
        assert (np.diff(horizons, axis=0) > 0).all()
        new = model.expected_purchases_new(np.array([0.0, 1.0, 39.0, 78.0]))
        assert new[0] == 0
        assert (np.diff(new) > 0).all()
        # a customer seen a long time ago is less likely alive than a recent one
        assert model.probability_alive(3, 5.0, 38.0) < model.probability_alive(3, 37.0, 38.0)
    bg = BetaGeo.from_params(**PUBLISHED_BG)
    assert (bg.probability_alive(np.zeros(3), 0.0, [1.0, 10.0, 100.0]) == 1).all()


def test_bgnbd_new_customer_expectation_is_equation_9() -> None:
    r, alpha, a, b = PUBLISHED_BG.values()
    t = np.array([1.0, 39.0, 78.0])
    want = (
        (a + b - 1)
        / (a - 1)
        * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    )
    got = BetaGeo.from_params(**PUBLISHED_BG).expected_purchases_new(t)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_heavy_buyers_do_not_overflow() -> None:
    bg = BetaGeo.from_params(**PUBLISHED_BG)
    pareto = ParetoNBD.from_params(**PUBLISHED_PARETO)
    for model in (bg, pareto):
        value = model.expected_purchases(52, [400, 400], [51.5, 3.0], [52, 52])
        alive = model.probability_alive([400, 400], [51.5, 3.0], [52, 52])
        assert np.isfinite(value).all()
        assert np.isfinite(alive).all()
        assert value[0] > 100
        assert alive[1] < 1e-10
        assert np.isfinite(model.customer_log_likelihood(400, 51.5, 52))


def test_pareto_expectation_is_continuous_at_s_equal_1() -> None:
    values = [
        float(
            ParetoNBD.from_params(r=0.5, alpha=10.0, s=s, beta=12.0).expected_purchases(
                39, 2, 30.0, 38.0
            )
        )
        for s in (1 - 1e-7, 1.0, 1 + 1e-7)
    ]
    assert values[1] == pytest.approx(values[0], rel=1e-6)
    assert values[1] == pytest.approx(values[2], rel=1e-6)


def test_recency_equal_to_t_is_fine_for_pareto() -> None:
    model = ParetoNBD.from_params(**PUBLISHED_PARETO)
    assert float(model.probability_alive(3, 20.0, 20.0)) == 1.0
    assert np.isfinite(model.customer_log_likelihood(3, 20.0, 20.0))


def test_gamma_gamma_expected_value() -> None:
    model = GammaGamma.from_params(**PUBLISHED_GG)
    p, q, gamma = PUBLISHED_GG.values()
    population = p * gamma / (q - 1)
    assert float(model.expected_average_value(0, 123.0)) == pytest.approx(population)
    weight = p * 3 / (p * 3 + q - 1)
    assert float(model.expected_average_value(3, 50.0)) == pytest.approx(
        weight * 50 + (1 - weight) * population
    )
    many = model.expected_average_value(10_000, 50.0)
    assert float(many) == pytest.approx(50.0, rel=1e-3)


def test_customer_lifetime_value_against_a_loop() -> None:
    bg = BetaGeo.from_params(**PUBLISHED_BG)
    gg = GammaGamma.from_params(**PUBLISHED_GG)
    x, tx, T, m = [2, 0, 7], [30.43, 0.0, 29.43], [38.86, 38.86, 38.86], [22.35, 0.0, 73.74]
    result = customer_lifetime_value(
        bg, gg, x, tx, T, m, periods=6, period_length=4.345, discount_rate=0.02, margin=0.3
    )
    for i in range(3):
        total = 0.0
        for k in range(1, 7):
            purchases = bg.expected_purchases(k * 4.345, x[i], tx[i], T[i]) - bg.expected_purchases(
                (k - 1) * 4.345, x[i], tx[i], T[i]
            )
            total += 0.3 * float(gg.expected_average_value(x[i], m[i]) * purchases) / 1.02**k
        assert result["clv"].iloc[i] == pytest.approx(total, rel=1e-12)
        assert result["expected_purchases"].iloc[i] == pytest.approx(
            float(bg.expected_purchases(6 * 4.345, x[i], tx[i], T[i]))
        )
    pareto = ParetoNBD.from_params(**PUBLISHED_PARETO)
    undiscounted = customer_lifetime_value(pareto, gg, x, tx, T, m, discount_rate=0.0)
    np.testing.assert_allclose(
        undiscounted["clv"], undiscounted["expected_purchases"] * undiscounted["expected_value"]
    )


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "field"),
    [
        ([-1, 2], [0, 3], [5, 5], "frequency"),
        ([1.5, 2], [1, 3], [5, 5], "frequency"),
        ([1, 2], [-1, 3], [5, 5], "recency"),
        ([1, 2], [6, 3], [5, 5], "recency"),
        ([0, 2], [1, 3], [5, 5], "recency"),
        ([1, np.nan], [1, 3], [5, 5], "frequency"),
        ([1, 2, 3], [1, 3], [5, 5], "frequency"),
        ([], [], [], "frequency"),
        (["a", 2], [1, 3], [5, 5], "frequency"),
    ],
)
def test_bad_customers_are_refused(frequency, recency, T, field) -> None:
    for model in (BetaGeo(), ParetoNBD()):
        with pytest.raises(ValidationError) as caught:
            model.fit(frequency, recency, T)
        assert caught.value.field == field


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValidationError, match="fit the model"):
        _ = BetaGeo().params
    with pytest.raises(ValidationError, match="fit the model"):
        BetaGeo().probability_alive(1, 1, 2)
    assert str(BetaGeo()) == "BG/NBD: not fitted"
    with pytest.raises(ValidationError):
        BetaGeo(confidence=1.5)
    with pytest.raises(ValidationError) as caught:
        BetaGeo.from_params(r=-1, alpha=1, a=1, b=1)
    assert caught.value.field == "r"
    with pytest.raises(ValidationError):
        BetaGeo().fit([1, 2], [1, 2], [3, 3], weights=[1, -1])
    with pytest.raises(ValidationError) as caught:
        BetaGeo.from_params(**PUBLISHED_BG).expected_purchases(-1, 1, 1, 2)
    assert caught.value.field == "t"
    with pytest.raises(ValidationError, match="no customer has a repeat purchase"):
        GammaGamma().fit([0, 0], [0.0, 0.0])
    with pytest.raises(ValidationError) as caught:
        GammaGamma().fit([1, 2], [10.0, 0.0])
    assert caught.value.field == "monetary"
    bg, gg = BetaGeo.from_params(**PUBLISHED_BG), GammaGamma.from_params(**PUBLISHED_GG)
    for option in ({"periods": 0}, {"periods": 1.5}, {"period_length": 0}):
        with pytest.raises(ValidationError):
            customer_lifetime_value(bg, gg, [1], [1.0], [2.0], [10.0], **option)
    with pytest.raises(ValidationError):
        customer_lifetime_value(bg, gg, [1], [1.0], [2.0], [10.0], discount_rate=-1)
    with pytest.raises(ValidationError):
        customer_lifetime_value(gg, gg, [1], [1.0], [2.0], [10.0])  # type: ignore[arg-type]


# -- summaries from transactions ------------------------------------------------------------


def test_summary_rebuilds_the_published_cdnow_summary() -> None:
    transactions = load_cdnow_transactions(sample=True)
    published = load_cdnow_summary()
    summary = summary_from_transactions(
        transactions, freq="D", time_unit="W", observation_end="1997-09-30"
    )
    assert list(summary.columns) == ["customer_id", "frequency", "recency", "T", "monetary"]
    assert summary["customer_id"].tolist() == published["customer_id"].tolist()
    assert summary["frequency"].tolist() == published["frequency"].tolist()
    np.testing.assert_allclose(summary["recency"], published["recency"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(summary["T"], published["T"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(summary["monetary"], published["monetary"], atol=0.005 + 1e-9)
    assert summary["frequency"].dtype == np.int64


def test_summary_by_hand_and_independent_of_row_order() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["b", "a", "a", "a", "a", "c"],
            "occurred_at": pd.to_datetime(
                ["2024-01-10", "2024-01-01", "2024-01-01", "2024-01-15", "2024-02-20", "2024-03-01"]
            ),
            "value": [7.0, 10.0, 5.0, 20.0, 40.0, 3.0],
        }
    )
    want = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "frequency": np.array([1, 0], dtype=np.int64),
            "recency": [14.0, 0.0],
            "T": [45.0, 36.0],
            "monetary": [20.0, 0.0],
        }
    )
    summary = summary_from_transactions(frame, freq="D", observation_end="2024-02-15")
    pd.testing.assert_frame_equal(summary, want)
    reversed_rows = summary_from_transactions(
        frame.iloc[::-1], freq="D", observation_end="2024-02-15"
    )
    pd.testing.assert_frame_equal(reversed_rows, want)
    # calibration and holdout
    split = summary_from_transactions(
        frame, freq="D", calibration_end="2024-02-15", observation_end="2024-03-31"
    )
    assert split["customer_id"].tolist() == ["a", "b"]
    assert split["frequency_holdout"].tolist() == [1, 0]
    assert split["monetary_holdout"].tolist() == [40.0, 0.0]
    assert split["duration_holdout"].tolist() == [45.0, 45.0]
    pd.testing.assert_frame_equal(split[want.columns.tolist()], want)
    # without values, weekly periods counted as periods
    weekly = summary_from_transactions(frame, value=None)
    assert list(weekly.columns) == ["customer_id", "frequency", "recency", "T"]
    assert weekly.set_index("customer_id").loc["a"].tolist() == [2, 7.0, 8.0]


def test_summary_with_time_zones() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [1, 1],
            "occurred_at": pd.to_datetime(["2024-01-01 23:30", "2024-01-03 08:00"]).tz_localize(
                "Europe/Paris"
            ),
            "value": [1.0, 2.0],
        }
    )
    summary = summary_from_transactions(frame, freq="D", observation_end="2024-01-05")
    assert summary[["frequency", "recency", "T"]].iloc[0].tolist() == [1, 2.0, 4.0]


def test_summary_bad_input() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "occurred_at": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "value": [1.0, 2.0],
        }
    )
    cases = [
        ({"df": frame.drop(columns="value")}, "df"),
        ({"df": frame.assign(occurred_at=["x", "y"])}, "occurred_at"),
        ({"df": frame.assign(value=[1.0, np.nan])}, "value"),
        ({"df": frame.assign(customer_id=[1, None])}, "customer_id"),
        ({"df": frame, "freq": "nonsense"}, "freq"),
        ({"df": frame, "time_unit": "M"}, "time_unit"),
        ({"df": frame, "calibration_end": "2024-02-01"}, "calibration_end"),
        ({"df": frame, "observation_end": "not a date"}, "observation_end"),
        ({"df": "not a frame"}, "df"),
    ]
    for arguments, field in cases:
        df = arguments.pop("df")
        with pytest.raises(ValidationError) as caught:
            summary_from_transactions(df, **arguments)
        assert caught.value.field == field, arguments


# -- the shipped data -----------------------------------------------------------------------


def test_cdnow_datasets() -> None:
    full = load_cdnow_transactions()
    sample = load_cdnow_transactions(sample=True)
    summary = load_cdnow_summary()
    assert full.shape == (69_659, 4)
    assert full["customer_id"].nunique() == 23_570
    assert list(full.columns) == ["customer_id", "occurred_at", "quantity", "value"]
    assert list(sample.columns) == ["customer_id", "master_id", "occurred_at", "quantity", "value"]
    assert len(sample) == 6_919
    assert sample["customer_id"].nunique() == 2_357
    assert full["occurred_at"].min() == pd.Timestamp("1997-01-01")
    assert full["occurred_at"].max() == pd.Timestamp("1998-06-30")
    # the sample is the master file's rows of its customers
    rows = full[full["customer_id"].isin(sample["master_id"])]
    assert len(rows) == len(sample)
    assert rows["value"].sum() == pytest.approx(sample["value"].sum())
    assert summary.shape == (2_357, 5)
    assert int((summary["frequency"] > 0).sum()) == 946
