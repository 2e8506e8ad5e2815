"""Customer lifetime value: who is still a customer, how much they will buy, what they are worth.

Where customers can leave without saying so (a shop, an app, a help desk that is free to use),
a customer who has not bought for a while may have gone for good or may just be between
purchases. The "buy till you die" models tell the two apart from three numbers per customer --
``frequency`` (repeat purchases), ``recency`` (time from the first purchase to the last) and
``T`` (time from the first purchase to the end of the observation) -- and turn them into the
probability that each customer is still active, the purchases to expect from them, and, with a
model of spend per purchase, a discounted lifetime value. :class:`BetaGeo` (BG/NBD) and
:class:`ParetoNBD` model the purchases, :class:`GammaGamma` the spend per purchase;
:func:`summary_from_transactions` makes the three numbers (and mean spend) from a transaction
frame, and :func:`customer_lifetime_value` combines the models.

Every model is fitted by maximum likelihood on the log of its parameters (so they stay
positive) with scipy's L-BFGS-B. The BG/NBD and Gamma-Gamma log-likelihoods come with analytic
gradients and are evaluated in log space over numpy arrays, with the terms that depend on the
frequency alone computed once per distinct frequency; a BG/NBD fit on a million customers takes
seconds. The Pareto/NBD likelihood needs Gauss hypergeometric functions; it is evaluated with
the formulation of Fader & Hardie (2005), rewritten by Euler's transformation into a
hypergeometric series whose terms are all positive and bounded, so it neither overflows nor
cancels, and fitted with finite-difference gradients. Standard errors come from the inverse of
the Hessian of the negative log-likelihood in the log-parameters, computed by central finite
differences (of the analytic gradient where there is one, of the log-likelihood otherwise),
and are carried to the parameters by the delta method; confidence intervals are Wald intervals
on the log scale, so they never include zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar, Self, cast

import attrs
import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from cxm.exceptions import ValidationError

__all__ = [
    "BetaGeo",
    "GammaGamma",
    "ParetoNBD",
    "customer_lifetime_value",
    "summary_from_transactions",
]

_BOUND = 20.0
"""Bound on the log of every parameter during the fit (e^20 ~ 5e8)."""

Objective = Callable[[np.ndarray], Any]


# -- input checks ---------------------------------------------------------------------------


def _array(values: Any, name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValidationError(name, values, "must be numbers") from None
    if not np.isfinite(array).all():
        bad = array[~np.isfinite(array)].ravel()[0]
        raise ValidationError(name, float(bad), "must be finite numbers (no NaN or infinity)")
    return array


def _customers(
    frequency: Any, recency: Any, age: Any, *, one_dimensional: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return frequency, recency and T as float arrays, checked against each other."""
    x = _array(frequency, "frequency")
    tx = _array(recency, "recency")
    age = _array(age, "T")
    try:
        x, tx, age = np.broadcast_arrays(x, tx, age)
    except ValueError:
        raise ValidationError(
            "frequency", x.shape, f"recency {tx.shape} and T {age.shape} must have one shape"
        ) from None
    if one_dimensional and (x.ndim != 1 or len(x) == 0):
        raise ValidationError("frequency", x.shape, "must be a non-empty one-dimensional array")
    checks = [
        ("frequency", x, (x < 0) | (x != np.floor(x)), "must be whole numbers >= 0"),
        ("recency", tx, tx < 0, "must be >= 0"),
        ("recency", tx, tx > age, "must not exceed T (recency is measured within T)"),
        ("recency", tx, (x == 0) & (tx != 0), "must be 0 for customers without repeat purchases"),
    ]
    for name, values, wrong, reason in checks:
        if wrong.any():
            first = np.flatnonzero(wrong.ravel())[0]
            raise ValidationError(
                name, float(values.ravel()[first]), f"{reason} ({int(wrong.sum())} value(s))"
            )
    return np.array(x), np.array(tx), np.array(age)


def _weights(weights: Any, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = _array(weights, "weights")
    if w.shape != (n,) or (w < 0).any() or w.sum() <= 0:
        raise ValidationError("weights", w.shape, f"must be {n} non-negative numbers, not all zero")
    return w


def _horizon(t: Any) -> np.ndarray:
    horizon = _array(t, "t")
    if (horizon < 0).any():
        raise ValidationError("t", float(horizon.min()), "must be >= 0")
    return horizon


def _check_confidence(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValidationError("confidence", confidence, "must be between 0 and 1, e.g. 0.95")
    return float(stats.norm.ppf(0.5 + confidence / 2))


# -- fitting machinery ----------------------------------------------------------------------


def _hessian(objective: Objective, gradient: Objective | None, theta: np.ndarray) -> np.ndarray:
    """Central finite-difference Hessian of ``objective`` at ``theta``."""
    k = len(theta)
    hessian = np.empty((k, k))
    if gradient is not None:
        h = 1e-5 * np.maximum(1.0, np.abs(theta))
        for i in range(k):
            step = np.zeros(k)
            step[i] = h[i]
            hessian[:, i] = (gradient(theta + step) - gradient(theta - step)) / (2 * h[i])
    else:
        h = 1e-4 * np.maximum(1.0, np.abs(theta))
        centre = float(objective(theta))
        for i in range(k):
            for j in range(i, k):
                ei = np.zeros(k)
                ej = np.zeros(k)
                ei[i] = h[i]
                ej[j] = h[j]
                if i == j:
                    value = (
                        float(objective(theta + ei)) - 2 * centre + float(objective(theta - ei))
                    ) / h[i] ** 2
                else:
                    value = (
                        float(objective(theta + ei + ej))
                        - float(objective(theta + ei - ej))
                        - float(objective(theta - ei + ej))
                        + float(objective(theta - ei - ej))
                    ) / (4 * h[i] * h[j])
                hessian[i, j] = hessian[j, i] = value
    return (hessian + hessian.T) / 2


@attrs.frozen(eq=False)
class _Estimate:
    """What a fit found: the parameters, their covariance and how the optimiser ended."""

    values: np.ndarray
    covariance: np.ndarray
    log_likelihood: float
    n_customers: int
    converged: bool
    iterations: int
    message: str


def _maximise(
    objective: Objective,
    theta0: np.ndarray,
    *,
    total: float,
    n_customers: int,
    with_gradient: bool,
) -> _Estimate:
    """Minimise ``objective`` (the mean negative log-likelihood over log-parameters)."""
    bounds = [(-_BOUND, _BOUND)] * len(theta0)
    options = {"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10, "maxls": 50}
    if with_gradient:
        result = optimize.minimize(
            objective, theta0, jac=True, method="L-BFGS-B", bounds=bounds, options=options
        )

        def value(theta: np.ndarray) -> float:
            return float(objective(theta)[0])

        def gradient(theta: np.ndarray) -> np.ndarray:
            return np.asarray(objective(theta)[1]) * total

        hessian = _hessian(value, gradient, result.x)
        best = value(result.x)
    else:
        result = optimize.minimize(
            objective, theta0, jac="3-point", method="L-BFGS-B", bounds=bounds, options=options
        )
        # A simplex polish: finite-difference gradients stop L-BFGS-B a little early.
        polish = optimize.minimize(
            objective,
            result.x,
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 4000},
        )
        if polish.fun <= result.fun:
            result.x = polish.x
        hessian = _hessian(lambda theta: float(objective(theta)) * total, None, result.x)
        best = float(objective(result.x))
    try:
        covariance_log = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        covariance_log = np.full_like(hessian, np.nan)
    values = np.exp(result.x)
    covariance = covariance_log * np.outer(values, values)  # delta method
    at_bound = bool(np.any(np.abs(result.x) >= _BOUND - 1e-6))
    return _Estimate(
        values=values,
        covariance=covariance,
        log_likelihood=-best * total,
        n_customers=n_customers,
        converged=bool(result.success) and not at_bound,
        iterations=int(result.nit),
        message=str(result.message) + (" (a parameter reached its bound)" if at_bound else ""),
    )


# -- the common model surface ---------------------------------------------------------------


class _Model:
    """Parameters, their uncertainty and their presentation; subclasses add the model."""

    names: ClassVar[tuple[str, ...]]
    title: ClassVar[str]

    def __init__(self, *, confidence: float = 0.95) -> None:
        _check_confidence(confidence)
        self._confidence = confidence
        self._estimate: _Estimate | None = None

    def _with(self, estimate: _Estimate) -> Self:
        fitted = type(self)(confidence=self._confidence)
        fitted._estimate = estimate
        return fitted

    @classmethod
    def _from_values(cls, values: dict[str, float], confidence: float) -> Self:
        array = np.array([values[name] for name in cls.names], dtype=float)
        for name, value in zip(cls.names, array, strict=True):
            if not (np.isfinite(value) and value > 0):
                raise ValidationError(name, float(value), "must be a positive number")
        k = len(array)
        estimate = _Estimate(
            values=array,
            covariance=np.full((k, k), np.nan),
            log_likelihood=math.nan,
            n_customers=0,
            converged=True,
            iterations=0,
            message="parameters given, not fitted",
        )
        return cls(confidence=confidence)._with(estimate)

    @property
    def _fitted(self) -> _Estimate:
        if self._estimate is None:
            raise ValidationError(
                type(self).__name__, "unfitted", "fit the model (or use from_params) first"
            )
        return self._estimate

    @property
    def is_fitted(self) -> bool:
        """Whether the model has parameters (from ``fit`` or ``from_params``)."""
        return self._estimate is not None

    @property
    def params(self) -> pd.Series:
        """The parameter estimates, a float Series indexed by parameter name."""
        return pd.Series(self._fitted.values, index=list(self.names), name="estimate")

    @property
    def standard_errors(self) -> pd.Series:
        """Standard errors of the estimates (NaN for parameters given by ``from_params``)."""
        se = np.sqrt(np.clip(np.diag(self._fitted.covariance), 0, None))
        return pd.Series(se, index=list(self.names), name="se")

    @property
    def covariance(self) -> pd.DataFrame:
        """The estimates' covariance matrix (inverse Hessian, delta method)."""
        names = list(self.names)
        return pd.DataFrame(self._fitted.covariance, index=names, columns=names)

    @property
    def log_likelihood(self) -> float:
        """The maximised log-likelihood (NaN for parameters given by ``from_params``)."""
        return self._fitted.log_likelihood

    @property
    def n_customers(self) -> int:
        """How many customers the fit used (0 for ``from_params``)."""
        return self._fitted.n_customers

    @property
    def converged(self) -> bool:
        """Whether the optimiser reported success with no parameter at its bound."""
        return self._fitted.converged

    @property
    def summary(self) -> pd.DataFrame:
        """One row per parameter: ``estimate``, ``se``, ``ci_low``, ``ci_high``.

        The interval is the Wald interval of the log of the parameter, mapped back
        (``estimate * exp(+-z * se / estimate)``), so it stays positive.
        """
        z = _check_confidence(self._confidence)
        estimate = self._fitted.values
        se = self.standard_errors.to_numpy()
        with np.errstate(invalid="ignore"):
            spread = np.exp(z * se / estimate)
        table = pd.DataFrame(
            {
                "estimate": estimate,
                "se": se,
                "ci_low": estimate / spread,
                "ci_high": estimate * spread,
            },
            index=pd.Index(list(self.names), name="parameter"),
        )
        return table

    def _heading(self) -> str:
        if self._estimate is None:
            return f"{self.title}: not fitted"
        if self._estimate.n_customers == 0:
            return f"{self.title}: parameters given"
        state = "converged" if self._estimate.converged else "NOT CONVERGED"
        return (
            f"{self.title}: {self._estimate.n_customers:,} customers, "
            f"log-likelihood {self._estimate.log_likelihood:.4f}, {state}"
        )

    def __repr__(self) -> str:
        if self._estimate is None:
            return f"<{type(self).__name__}: not fitted>"
        values = ", ".join(
            f"{n}={v:.4g}" for n, v in zip(self.names, self._estimate.values, strict=True)
        )
        return f"<{type(self).__name__} {values}>"

    def __str__(self) -> str:
        if self._estimate is None:
            return self._heading()
        return f"{self._heading()}\n{self.summary.to_string(float_format='{:.4f}'.format)}"

    def _repr_html_(self) -> str:
        if self._estimate is None:
            return f"<p>{self._heading()}</p>"
        table = self.summary.to_html(float_format="{:.4f}".format)
        return f"<p><strong>{self._heading()}</strong></p>\n{table}"


# -- BG/NBD ---------------------------------------------------------------------------------


@attrs.frozen(eq=False)
class _Counts:
    """Customers' summaries with the per-frequency pieces computed once."""

    x: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    weights: np.ndarray
    distinct: np.ndarray  # the distinct frequencies
    inverse: np.ndarray  # each customer's index into ``distinct``
    distinct_weights: np.ndarray  # the total weight of each distinct frequency
    total: float

    @classmethod
    def build(cls, x: np.ndarray, recency: np.ndarray, age: np.ndarray, w: np.ndarray) -> _Counts:
        distinct, inverse = np.unique(x, return_inverse=True)
        return cls(
            x=x,
            recency=recency,
            T=age,
            weights=w,
            distinct=distinct,
            inverse=inverse.ravel(),
            distinct_weights=np.bincount(inverse.ravel(), weights=w, minlength=len(distinct)),
            total=float(w.sum()),
        )


def _bg_log_odds_dead(
    params: np.ndarray, x: np.ndarray, tx: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """Log of (a / (b + x - 1)) ((alpha + T) / (alpha + t_x))^(r + x); -inf where x = 0."""
    r, alpha, a, b = params
    repeat = x > 0
    with np.errstate(divide="ignore"):
        base = np.where(repeat, np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)), -np.inf)
    return np.asarray(base + (r + x) * (np.log(alpha + age) - np.log(alpha + tx)))


def _bg_objective(theta: np.ndarray, data: _Counts) -> tuple[float, np.ndarray]:
    """Mean negative BG/NBD log-likelihood over log-parameters, and its gradient."""
    r, alpha, a, b = np.exp(theta)
    ux, wx, inv, w = data.distinct, data.distinct_weights, data.inverse, data.weights
    total = data.total
    repeat = ux > 0
    # Terms that depend on the frequency alone, once per distinct frequency.
    per_x = special.gammaln(r + ux) + special.betaln(a, b + ux)
    log_lik = wx @ per_x + total * (r * math.log(alpha) - special.gammaln(r) - special.betaln(a, b))
    with np.errstate(divide="ignore"):
        base_x = np.where(repeat, math.log(a) - np.log(np.where(repeat, b + ux - 1, 1.0)), -np.inf)
    inv_b_x = np.where(repeat, 1 / np.where(repeat, b + ux - 1, 1.0), 0.0)
    # Per customer: log L_i = A(x) - (r+x) log(alpha+T) + log(1 + exp(d_i)).
    rx = r + data.x
    log_a_age = np.log(alpha + data.T)
    log_atx = np.log(alpha + data.recency)
    gap = log_a_age - log_atx
    d = base_x[inv] + rx * gap
    log_lik += w @ (np.logaddexp(0.0, d) - rx * log_a_age)
    dead = special.expit(d)  # the posterior weight of "dropped out after the last purchase"
    wd = w * dead
    inv_a_age = 1 / (alpha + data.T)
    inv_atx = 1 / (alpha + data.recency)
    psi_ab = special.digamma(a + b)
    psi_abx = special.digamma(a + b + ux)
    grad = np.array(
        [
            wx @ special.digamma(r + ux)
            + total * (math.log(alpha) - special.digamma(r))
            - w @ log_a_age
            + wd @ gap,
            total * r / alpha - w @ (rx * inv_a_age) + wd @ (rx * (inv_a_age - inv_atx)),
            wx @ (psi_ab - psi_abx) + wd.sum() / a,
            wx @ (psi_ab + special.digamma(b + ux) - special.digamma(b) - psi_abx)
            - wd @ inv_b_x[inv],
        ]
    )
    return -log_lik / total, -grad * np.array([r, alpha, a, b]) / total


class BetaGeo(_Model):
    """The BG/NBD model of repeat purchases (Fader, Hardie & Lee 2005).

    While active, a customer buys at a Poisson rate ``lambda``; after each repeat purchase they
    leave for good with probability ``p``. Across customers ``lambda`` is gamma distributed
    (shape ``r``, rate ``alpha``) and ``p`` beta distributed (``a``, ``b``). Time is in whatever
    unit ``recency`` and ``T`` are given in (weeks for CDNOW).

    ``BetaGeo()`` is an unfitted model; ``fit`` returns a fitted copy and
    ``BetaGeo.from_params`` builds one from known parameters. A fitted model has ``params``,
    ``standard_errors``, ``summary``, ``log_likelihood`` and the predictions below.

    Args:
        confidence: Coverage of the intervals in ``summary``.

    Examples:
        >>> from cxm.datasets import load_cdnow_summary
        >>> cdnow = load_cdnow_summary()
        >>> model = BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
        >>> model.params.round(3).tolist(), round(model.log_likelihood, 1)
        ([0.243, 4.414, 0.793, 2.426], -9582.4)
        >>> round(float(model.expected_purchases(39, 2, 30.43, 38.86)), 3)
        1.226

    References:
        Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). "Counting your customers" the easy
        way: an alternative to the Pareto/NBD model. Marketing Science, 24(2), 275-284.
        Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2007). Computing P(alive) using the
        BG/NBD model. http://www.brucehardie.com/notes/021/
    """

    names = ("r", "alpha", "a", "b")
    title = "BG/NBD"

    @classmethod
    def from_params(
        cls, r: float, alpha: float, a: float, b: float, *, confidence: float = 0.95
    ) -> BetaGeo:
        """Return a model with the given parameters (published ones, say), without fitting.

        Examples:
            >>> model = BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
            >>> round(float(model.probability_alive(2, 30.43, 38.86)), 3)
            0.727
        """
        return cls._from_values({"r": r, "alpha": alpha, "a": a, "b": b}, confidence)

    def fit(self, frequency: Any, recency: Any, T: Any, *, weights: Any = None) -> BetaGeo:  # noqa: N803
        """Fit the model by maximum likelihood; return the fitted model.

        Args:
            frequency: Repeat purchases per customer (whole numbers >= 0).
            recency: Time from each customer's first purchase to their last (0 without a
                repeat purchase).
            T: Time from each customer's first purchase to the end of the observation.
            weights: Optional count of customers each row stands for (rows of identical
                customers can be collapsed into one with their count).

        Returns:
            A fitted :class:`BetaGeo`.

        Raises:
            ValidationError: If the arrays differ in length, hold negative, fractional or
                non-finite values, or a recency exceeds its T or is non-zero without repeat
                purchases.
        """
        x, tx, age = _customers(frequency, recency, T, one_dimensional=True)
        w = _weights(weights, len(x))
        data = _Counts.build(x, tx, age, w)
        mean_x = max(float(w @ x) / data.total, 0.1)
        mean_t = max(float(w @ age) / data.total, 1e-3)
        theta0 = np.log([1.0, mean_t / mean_x, 1.0, 1.0])
        estimate = _maximise(
            lambda theta: _bg_objective(theta, data),
            theta0,
            total=data.total,
            n_customers=len(x),
            with_gradient=True,
        )
        return self._with(estimate)

    def customer_log_likelihood(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """Return each customer's log-likelihood under the model (their sum is the fit's).

        References:
            Fader, Hardie & Lee (2005), equation (6).
        """
        r, alpha, a, b = self._fitted.values
        x, tx, age = _customers(frequency, recency, T, one_dimensional=False)
        d = _bg_log_odds_dead(self._fitted.values, x, tx, age)
        return np.asarray(
            special.gammaln(r + x)
            - special.gammaln(r)
            + r * np.log(alpha)
            + special.betaln(a, b + x)
            - special.betaln(a, b)
            - (r + x) * np.log(alpha + age)
            + np.logaddexp(0.0, d)
        )

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """Return P(alive): the probability that each customer is still active at ``T``.

        ``1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))``; 1 for a
        customer without repeat purchases (the model lets customers leave only after one).

        References:
            Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2007). Computing P(alive) using the
            BG/NBD model. http://www.brucehardie.com/notes/021/
        """
        x, tx, age = _customers(frequency, recency, T, one_dimensional=False)
        return np.asarray(special.expit(-_bg_log_odds_dead(self._fitted.values, x, tx, age)))

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """Return the purchases each customer is expected to make in the next ``t`` time units.

        E[Y(t) | x, t_x, T] of Fader, Hardie & Lee (2005), equation (10), with the Gauss
        hypergeometric function written by Euler's transformation as
        ``(1 - z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)``, ``z = t / (alpha + T + t)``, which
        cannot overflow however large ``x`` is.

        Args:
            t: The horizon (scalar or array broadcasting against the customers).
            frequency: Repeat purchases per customer.
            recency: Time of the last purchase, from the first.
            T: Time since the first purchase.

        Returns:
            A float array of the broadcast shape.

        References:
            Fader, Hardie & Lee (2005), equation (10).
        """
        r, alpha, a, b = self._fitted.values
        horizon = _horizon(t)
        x, tx, age = _customers(frequency, recency, T, one_dimensional=False)
        z = horizon / (alpha + age + horizon)
        series = special.hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        bracket = 1 - np.exp((a - 1) * np.log1p(-z)) * series
        alive = special.expit(-_bg_log_odds_dead(self._fitted.values, x, tx, age))
        return np.asarray((a + b + x - 1) / (a - 1) * bracket * alive)

    predict = expected_purchases

    def expected_purchases_new(self, t: Any) -> np.ndarray:
        """Return E[X(t)]: the purchases a new customer makes in their first ``t`` time units.

        ``(a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]``; repeat
        purchases only (the first purchase at time 0 is not counted).

        References:
            Fader, Hardie & Lee (2005), equation (9).
        """
        horizon = _horizon(t)
        return self.expected_purchases(horizon, np.zeros_like(horizon), 0.0, 0.0)

    def simulate(self, T: Any, *, seed: int | None = None) -> pd.DataFrame:  # noqa: N803
        """Draw customers from the model, one per value of ``T`` (their observation length).

        Each customer gets a purchase rate and a drop-out probability from the population
        distributions; the repeat purchases they would make while alive are Poisson, and they
        leave after a geometric number of them. The time of their last observed purchase is
        the matching order statistic of uniform purchase times.

        Returns:
            Columns ``frequency`` (int64), ``recency`` and ``T`` (float64).
        """
        r, alpha, a, b = self._fitted.values
        age = _array(T, "T").ravel()
        rng = np.random.default_rng(seed)
        n = len(age)
        rate = rng.gamma(r, 1 / alpha, n)
        p = rng.beta(a, b, n)
        possible = rng.poisson(rate * age)
        survived = rng.geometric(np.clip(p, 1e-300, 1.0))  # the purchase after which they leave
        x = np.minimum(possible, survived)
        order = rng.beta(np.maximum(x, 1), possible - x + 1)
        tx = np.where(x > 0, age * order, 0.0)
        return pd.DataFrame({"frequency": x.astype(np.int64), "recency": tx, "T": age})


# -- Pareto/NBD -----------------------------------------------------------------------------


def _pnbd_log_a0(params: np.ndarray, x: np.ndarray, tx: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Log A_0 of Fader & Hardie (2005), eq. (22), in a form that neither overflows nor cancels.

    ``A_0 = F(t_x) - F(T)`` with ``F(t) = 2F1(r+s+x, c; r+s+x+1; |alpha-beta| / (m + t)) /
    (m + t)^(r+s+x)``, ``m = max(alpha, beta)``, ``c = s + 1`` if ``alpha >= beta`` else
    ``r + x``. Euler's transformation turns the 2F1 into
    ``((k + t) / (m + t))^(1 - c) 2F1(1, r+s+x+1-c; r+s+x+1; z)`` (``k = min(alpha, beta)``),
    a series of positive terms with a finite limit at ``z = 1``.
    """
    r, alpha, s, beta = params
    rsx = r + s + x
    if alpha >= beta:
        big, small, c = alpha, beta, s + 1 + np.zeros_like(x)
    else:
        big, small, c = beta, alpha, r + x

    def log_f(t: np.ndarray) -> np.ndarray:
        z = (big - small) / (big + t)
        series = special.hyp2f1(1.0, rsx + 1 - c, rsx + 1, z)
        return np.asarray(
            (1 - c) * np.log(small + t) - (rsx + 1 - c) * np.log(big + t) + np.log(series)
        )

    upper, lower = log_f(tx), log_f(age)
    with np.errstate(divide="ignore"):
        return np.asarray(upper + np.log(-np.expm1(np.minimum(lower - upper, 0.0))))


def _pnbd_log_odds_dead(
    params: np.ndarray, x: np.ndarray, tx: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """Log of the odds that a customer has left: (s/(r+s+x)) (alpha+T)^(r+x) (beta+T)^s A_0."""
    r, alpha, s, beta = params
    return np.asarray(
        math.log(s)
        - np.log(r + s + x)
        + (r + x) * np.log(alpha + age)
        + s * np.log(beta + age)
        + _pnbd_log_a0(params, x, tx, age)
    )


def _pnbd_log_lik(theta: np.ndarray, data: _Counts) -> np.ndarray:
    r, alpha, s, beta = np.exp(theta)
    x, tx, age = data.x, data.recency, data.T
    head = special.gammaln(r + x) - special.gammaln(r) + r * math.log(alpha) + s * math.log(beta)
    alive = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
    left = math.log(s) - np.log(r + s + x) + _pnbd_log_a0(np.exp(theta), x, tx, age)
    return np.asarray(head + np.logaddexp(alive, left))


def _one_minus_power_over(exponent: float, log_ratio: np.ndarray) -> np.ndarray:
    """(1 - ratio^e) / e, with its limit -log(ratio) at e = 0."""
    if abs(exponent) < 1e-12:
        return np.asarray(-log_ratio)
    return np.asarray(-np.expm1(exponent * log_ratio) / exponent)


class ParetoNBD(_Model):
    """The Pareto/NBD model of repeat purchases (Schmittlein, Morrison & Colombo 1987).

    While active, a customer buys at a Poisson rate ``lambda`` and leaves at an exponentially
    distributed time of rate ``mu``; across customers ``lambda`` is gamma (shape ``r``, rate
    ``alpha``) and ``mu`` gamma (shape ``s``, rate ``beta``). Unlike BG/NBD, a customer can
    leave before any repeat purchase.

    Args:
        confidence: Coverage of the intervals in ``summary``.

    Examples:
        >>> model = ParetoNBD.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669)
        >>> round(float(model.probability_alive(2, 30.43, 38.86)), 3)
        0.869

    References:
        Schmittlein, D. C., Morrison, D. G., & Colombo, R. (1987). Counting your customers: who
        are they and what will they do next? Management Science, 33(1), 1-24.
        Fader, P. S., & Hardie, B. G. S. (2005). A note on deriving the Pareto/NBD model and
        related expressions. http://www.brucehardie.com/notes/009/
        Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). "Counting your customers" the easy
        way. Marketing Science, 24(2), 275-284 (the CDNOW estimates).
    """

    names = ("r", "alpha", "s", "beta")
    title = "Pareto/NBD"

    @classmethod
    def from_params(
        cls, r: float, alpha: float, s: float, beta: float, *, confidence: float = 0.95
    ) -> ParetoNBD:
        """Return a model with the given parameters, without fitting."""
        return cls._from_values({"r": r, "alpha": alpha, "s": s, "beta": beta}, confidence)

    def fit(self, frequency: Any, recency: Any, T: Any, *, weights: Any = None) -> ParetoNBD:  # noqa: N803
        """Fit the model by maximum likelihood; return the fitted model.

        Args:
            frequency: Repeat purchases per customer.
            recency: Time from each customer's first purchase to their last.
            T: Time from each customer's first purchase to the end of the observation.
            weights: Optional count of customers each row stands for.

        Returns:
            A fitted :class:`ParetoNBD`.

        Raises:
            ValidationError: As :meth:`BetaGeo.fit`.
        """
        x, tx, age = _customers(frequency, recency, T, one_dimensional=True)
        w = _weights(weights, len(x))
        data = _Counts.build(x, tx, age, w)
        mean_x = max(float(w @ x) / data.total, 0.1)
        mean_t = max(float(w @ age) / data.total, 1e-3)
        theta0 = np.log([1.0, mean_t / mean_x, 1.0, mean_t])

        def objective(theta: np.ndarray) -> float:
            return -float(w @ _pnbd_log_lik(theta, data)) / data.total

        estimate = _maximise(
            objective, theta0, total=data.total, n_customers=len(x), with_gradient=False
        )
        return self._with(estimate)

    def customer_log_likelihood(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """Return each customer's log-likelihood under the model (their sum is the fit's).

        References:
            Fader & Hardie (2005), "A note on deriving the Pareto/NBD model", equation (22).
        """
        x, tx, age = _customers(frequency, recency, T, one_dimensional=False)
        data = _Counts.build(x.ravel(), tx.ravel(), age.ravel(), np.ones(x.size))
        return _pnbd_log_lik(np.log(self._fitted.values), data).reshape(x.shape)

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """Return P(alive) at ``T``: ``1 / (1 + (s/(r+s+x)) (alpha+T)^(r+x) (beta+T)^s A_0)``.

        References:
            Fader & Hardie (2005), "A note on deriving the Pareto/NBD model", equation (24).
        """
        x, tx, age = _customers(frequency, recency, T, one_dimensional=False)
        return np.asarray(special.expit(-_pnbd_log_odds_dead(self._fitted.values, x, tx, age)))

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """Return the purchases each customer is expected to make in the next ``t`` time units.

        ``(r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)] P(alive)``
        (its limit at ``s = 1``).

        References:
            Fader & Hardie (2005), "A note on deriving the Pareto/NBD model", equation (27).
        """
        r, alpha, s, beta = self._fitted.values
        horizon = _horizon(t)
        x, tx, age = _customers(frequency, recency, T, one_dimensional=False)
        alive = special.expit(-_pnbd_log_odds_dead(self._fitted.values, x, tx, age))
        log_ratio = np.log(beta + age) - np.log(beta + age + horizon)
        scale = (r + x) * (beta + age) / (alpha + age)
        return np.asarray(scale * _one_minus_power_over(s - 1, log_ratio) * alive)

    predict = expected_purchases

    def expected_purchases_new(self, t: Any) -> np.ndarray:
        """Return E[X(t)] for a new customer: ``r beta/(alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]``.

        References:
            Fader & Hardie (2005), "A note on deriving the Pareto/NBD model", equation (17).
        """
        r, alpha, s, beta = self._fitted.values
        horizon = _horizon(t)
        log_ratio = np.log(beta) - np.log(beta + horizon)
        return np.asarray(r * beta / alpha * _one_minus_power_over(s - 1, log_ratio))

    def simulate(self, T: Any, *, seed: int | None = None) -> pd.DataFrame:  # noqa: N803
        """Draw customers from the model, one per value of ``T``.

        Returns:
            Columns ``frequency`` (int64), ``recency`` and ``T`` (float64).
        """
        r, alpha, s, beta = self._fitted.values
        age = _array(T, "T").ravel()
        rng = np.random.default_rng(seed)
        n = len(age)
        rate = rng.gamma(r, 1 / alpha, n)
        lifetime = rng.exponential(1 / rng.gamma(s, 1 / beta, n))
        active = np.minimum(lifetime, age)
        x = rng.poisson(rate * active)
        tx = np.where(x > 0, active * rng.beta(np.maximum(x, 1), 1.0), 0.0)
        return pd.DataFrame({"frequency": x.astype(np.int64), "recency": tx, "T": age})


# -- Gamma-Gamma ----------------------------------------------------------------------------


def _spend(frequency: Any, monetary: Any) -> tuple[np.ndarray, np.ndarray]:
    x = _array(frequency, "frequency")
    m = _array(monetary, "monetary")
    try:
        x, m = np.broadcast_arrays(x, m)
    except ValueError:
        raise ValidationError(
            "frequency", x.shape, f"and monetary {m.shape} must have one shape"
        ) from None
    if ((x < 0) | (x != np.floor(x))).any():
        raise ValidationError("frequency", float(x[x < 0].min(initial=0)), "whole numbers >= 0")
    if ((x > 0) & (m <= 0)).any():
        bad = float(m[(x > 0) & (m <= 0)][0])
        raise ValidationError("monetary", bad, "must be > 0 for customers with repeat purchases")
    return np.array(x), np.array(m)


def _gg_objective(
    theta: np.ndarray, x: np.ndarray, m: np.ndarray, w: np.ndarray
) -> tuple[float, np.ndarray]:
    p, q, gamma = np.exp(theta)
    px = p * x
    log_m = np.log(m)
    log_x = np.log(x)
    log_gmx = np.log(gamma + m * x)
    total = float(w.sum())
    log_lik = w @ (
        special.gammaln(px + q)
        - special.gammaln(px)
        + (px - 1) * log_m
        + px * log_x
        - (px + q) * log_gmx
    ) + total * (q * math.log(gamma) - special.gammaln(q))
    psi = special.digamma(px + q)
    grad = np.array(
        [
            w @ (x * (psi - special.digamma(px) + log_m + log_x - log_gmx)),
            w @ (psi - log_gmx) + total * (math.log(gamma) - special.digamma(q)),
            total * q / gamma - w @ ((px + q) / (gamma + m * x)),
        ]
    )
    return -float(log_lik) / total, -grad * np.array([p, q, gamma]) / total


class GammaGamma(_Model):
    """The Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005; Colombo & Jiang).

    Each purchase of a customer has a gamma distributed value (shape ``p``, rate ``nu``); ``nu``
    is gamma distributed across customers (shape ``q``, rate ``gamma``). A customer's mean
    value per purchase is then ``p / nu``; the population mean is ``p gamma / (q - 1)``. The
    model assumes spend per purchase does not depend on how often a customer buys: check that
    ``frequency`` and ``monetary`` are only weakly correlated among repeat buyers first.

    Args:
        confidence: Coverage of the intervals in ``summary``.

    Examples:
        >>> model = GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> round(float(model.expected_average_value(2, 22.35)), 2)
        24.66

    References:
        Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: using iso-value
        curves for customer base analysis. Journal of Marketing Research, 42(4), 415-430.
        Fader, P. S., & Hardie, B. G. S. (2013). The Gamma-Gamma model of monetary value.
        http://www.brucehardie.com/notes/025/
        Colombo, R., & Jiang, W. (1999). A stochastic RFM model. Journal of Interactive
        Marketing, 13(3), 2-12.
    """

    names = ("p", "q", "gamma")
    title = "Gamma-Gamma"

    @classmethod
    def from_params(
        cls, p: float, q: float, gamma: float, *, confidence: float = 0.95
    ) -> GammaGamma:
        """Return a model with the given parameters, without fitting."""
        return cls._from_values({"p": p, "q": q, "gamma": gamma}, confidence)

    def fit(self, frequency: Any, monetary: Any, *, weights: Any = None) -> GammaGamma:
        """Fit the model on the customers with repeat purchases; return the fitted model.

        Customers with ``frequency == 0`` carry no information on spend per repeat purchase
        and are left out of the fit (``n_customers`` says how many were used).

        Args:
            frequency: Repeat purchases per customer.
            monetary: Each customer's mean value of their repeat purchases (> 0 where
                ``frequency > 0``; ignored where it is 0).
            weights: Optional count of customers each row stands for.

        Returns:
            A fitted :class:`GammaGamma`.

        Raises:
            ValidationError: If no customer has a repeat purchase, a frequency is negative or
                fractional, or a repeat buyer's ``monetary`` is not positive.
        """
        x, m = _spend(frequency, monetary)
        if x.ndim != 1:
            raise ValidationError("frequency", x.shape, "must be one-dimensional")
        w = _weights(weights, len(x))
        keep = (x > 0) & (w > 0)
        if not keep.any():
            raise ValidationError("frequency", 0, "no customer has a repeat purchase to fit on")
        x, m, w = x[keep], m[keep], w[keep]
        mean_m = float(w @ m / w.sum())
        theta0 = np.log([1.0, 2.0, mean_m])
        estimate = _maximise(
            lambda theta: _gg_objective(theta, x, m, w),
            theta0,
            total=float(w.sum()),
            n_customers=int(keep.sum()),
            with_gradient=True,
        )
        return self._with(estimate)

    def customer_log_likelihood(self, frequency: Any, monetary: Any) -> np.ndarray:
        """Return each repeat buyer's log-likelihood of their mean spend (NaN where x = 0).

        References:
            Fader & Hardie (2013), "The Gamma-Gamma model of monetary value", equation (1).
        """
        p, q, gamma = self._fitted.values
        x, m = _spend(frequency, monetary)
        repeat = x > 0
        xs = np.where(repeat, x, 1.0)
        ms = np.where(repeat, m, 1.0)
        value = (
            special.gammaln(p * xs + q)
            - special.gammaln(p * xs)
            - special.gammaln(q)
            + q * np.log(gamma)
            + (p * xs - 1) * np.log(ms)
            + p * xs * np.log(xs)
            - (p * xs + q) * np.log(gamma + ms * xs)
        )
        return np.asarray(np.where(repeat, value, np.nan))

    def expected_average_value(self, frequency: Any, monetary: Any) -> np.ndarray:
        """Return each customer's expected value per purchase given their spend so far.

        ``(q - 1) / (p x + q - 1) * p gamma / (q - 1) + p x / (p x + q - 1) * m``: a weighted
        mean of the population mean and the customer's own mean ``m``, leaning on ``m`` the
        more repeat purchases ``x`` there are. A customer without repeat purchases gets the
        population mean ``p gamma / (q - 1)``.

        References:
            Fader & Hardie (2013), "The Gamma-Gamma model of monetary value", equation (5).
        """
        p, q, gamma = self._fitted.values
        x, m = _spend(frequency, monetary)
        m = np.where(x > 0, m, 0.0)
        return np.asarray(p * (gamma + x * m) / (p * x + q - 1))

    def simulate(self, frequency: Any, *, seed: int | None = None) -> np.ndarray:
        """Draw each customer's mean spend over ``frequency`` purchases (0 where it is 0)."""
        p, q, gamma = self._fitted.values
        x, _ = _spend(frequency, 1.0)
        x = x.ravel()
        rng = np.random.default_rng(seed)
        rate = rng.gamma(q, 1 / gamma, len(x))
        total = rng.gamma(np.maximum(p * x, 1e-12), 1 / rate)
        return np.where(x > 0, total / np.maximum(x, 1), 0.0)


# -- lifetime value -------------------------------------------------------------------------


def customer_lifetime_value(  # noqa: PLR0917
    purchases: BetaGeo | ParetoNBD,
    spend: GammaGamma,
    frequency: Any,
    recency: Any,
    T: Any,  # noqa: N803
    monetary: Any,
    *,
    periods: int = 12,
    period_length: float = 1.0,
    discount_rate: float = 0.01,
    margin: float = 1.0,
) -> pd.DataFrame:
    """Discounted expected value of each customer's purchases over the coming periods.

    The purchases expected in period ``k`` (``E[Y(k L)] - E[Y((k-1) L)]`` for a period of
    length ``L``) times the expected value per purchase (Gamma-Gamma) times ``margin``,
    discounted by ``(1 + discount_rate)^k`` and summed over ``k = 1 .. periods``: the
    approach of Fader, Hardie & Lee (2005) and of lifetimes' ``customer_lifetime_value``.

    Args:
        purchases: A fitted :class:`BetaGeo` or :class:`ParetoNBD`.
        spend: A fitted :class:`GammaGamma`.
        frequency: Repeat purchases per customer.
        recency: Time of each customer's last purchase, from their first.
        T: Time since each customer's first purchase.
        monetary: Each customer's mean value of their repeat purchases.
        periods: How many discounting periods to add up (12 months, say).
        period_length: The length of one period in the models' time unit (4.345 for months
            with a model fitted in weeks).
        discount_rate: The discount rate per period (0.01 a month is about 12.7% a year).
        margin: The share of a purchase's value that is profit (1 for revenue).

    Returns:
        One row per customer (with ``frequency``'s index when it is a Series), columns:

        - ``expected_purchases`` (float64): purchases expected over all ``periods``;
        - ``expected_value`` (float64): the expected value of one purchase (Gamma-Gamma);
        - ``clv`` (float64): the discounted lifetime value, ``margin`` applied.

    Raises:
        ValidationError: If an option is out of range or the customers' arrays are invalid.

    Examples:
        >>> bgnbd = BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> gg = GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> value = customer_lifetime_value(bgnbd, gg, [2], [30.43], [38.86], [22.35],
        ...                                 periods=12, period_length=4.345)
        >>> round(float(value["clv"].iloc[0]), 2)
        36.29

    References:
        Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: using iso-value
        curves for customer base analysis. Journal of Marketing Research, 42(4), 415-430.
    """
    count: object = periods
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValidationError("periods", periods, "must be a whole number >= 1")
    if not (np.isfinite(period_length) and period_length > 0):
        raise ValidationError("period_length", period_length, "must be a positive number")
    if not (np.isfinite(discount_rate) and discount_rate > -1):
        raise ValidationError("discount_rate", discount_rate, "must be a number > -1")
    if not np.isfinite(margin):
        raise ValidationError("margin", margin, "must be a finite number")
    if not isinstance(purchases, (BetaGeo, ParetoNBD)):
        raise ValidationError("purchases", type(purchases).__name__, "must be BetaGeo/ParetoNBD")
    if not isinstance(spend, GammaGamma):
        raise ValidationError("spend", type(spend).__name__, "must be a GammaGamma model")
    x, tx, age = _customers(frequency, recency, T, one_dimensional=True)
    value = spend.expected_average_value(x, monetary)
    steps = np.arange(int(periods) + 1, dtype=float) * float(period_length)
    cumulative = purchases.expected_purchases(steps[:, None], x, tx, age)
    discount = (1.0 + discount_rate) ** -np.arange(1, int(periods) + 1, dtype=float)
    discounted = discount @ np.diff(cumulative, axis=0)
    index = frequency.index if isinstance(frequency, pd.Series) else None
    return pd.DataFrame(
        {
            "expected_purchases": cumulative[-1],
            "expected_value": value,
            "clv": margin * value * discounted,
        },
        index=index,
    )


# -- transactions to summaries --------------------------------------------------------------


def _naive(times: pd.Series, name: str) -> pd.Series:
    if not pd.api.types.is_datetime64_any_dtype(times):
        raise ValidationError(name, str(times.dtype), "must hold datetimes")
    if times.isna().any():
        raise ValidationError(name, "NaT", f"{int(times.isna().sum())} missing time(s)")
    if getattr(times.dt, "tz", None) is not None:
        return cast(pd.Series, times.dt.tz_localize(None))  # wall-clock time of the purchase
    return times


def _instant(value: Any, name: str, tz: Any) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValidationError(name, value, "must be a date or time") from None
    if pd.isna(stamp):
        raise ValidationError(name, value, "must be a date or time")
    if stamp.tzinfo is not None:
        stamp = (stamp.tz_convert(tz) if tz is not None else stamp).tz_localize(None)
    return stamp


def _ordinals(times: pd.Series | pd.Timestamp, freq: str) -> Any:
    try:
        if isinstance(times, pd.Timestamp):
            return times.to_period(freq).ordinal
        return times.dt.to_period(freq).array.asi8
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValidationError("freq", freq, f"is not a pandas period frequency: {exc}") from None


def _summarise(
    codes: np.ndarray, ordinals: np.ndarray, values: np.ndarray, n_customers: int
) -> dict[str, np.ndarray]:
    """Per customer code: purchase periods, first and last period, value of repeat periods."""
    order = np.lexsort((ordinals, codes))
    codes, ordinals, values = codes[order], ordinals[order], values[order]
    new = np.ones(len(codes), dtype=bool)
    new[1:] = (codes[1:] != codes[:-1]) | (ordinals[1:] != ordinals[:-1])
    starts = np.flatnonzero(new)
    period_codes = codes[starts]
    period_ordinals = ordinals[starts]
    period_values = np.add.reduceat(values, starts) if len(starts) else values[:0]
    first = np.ones(len(starts), dtype=bool)
    first[1:] = period_codes[1:] != period_codes[:-1]
    last = np.ones(len(starts), dtype=bool)
    last[:-1] = period_codes[1:] != period_codes[:-1]
    periods = np.bincount(period_codes, minlength=n_customers)
    first_ordinal = np.zeros(n_customers, dtype=np.int64)
    last_ordinal = np.zeros(n_customers, dtype=np.int64)
    first_ordinal[period_codes[first]] = period_ordinals[first]
    last_ordinal[period_codes[last]] = period_ordinals[last]
    repeat_value = np.bincount(
        period_codes, weights=np.where(first, 0.0, period_values), minlength=n_customers
    )
    all_value = np.bincount(period_codes, weights=period_values, minlength=n_customers)
    return {
        "periods": periods,
        "first": first_ordinal,
        "last": last_ordinal,
        "repeat_value": repeat_value,
        "all_value": all_value,
    }


@attrs.frozen(eq=False)
class _Transactions:
    """A transaction frame checked and reduced to arrays."""

    codes: np.ndarray  # the customer's number, 0 .. len(labels) - 1
    labels: Any  # the customers, sorted when they can be
    times: pd.Series  # naive datetimes
    amounts: np.ndarray
    tz: Any

    @classmethod
    def read(
        cls, df: pd.DataFrame, *, customer: str, time: str, value: str | None
    ) -> _Transactions:
        if not isinstance(df, pd.DataFrame):
            raise ValidationError("df", type(df).__name__, "must be a pandas DataFrame")
        needed = [customer, time] + ([value] if value is not None else [])
        missing = [str(column) for column in needed if column not in df.columns]
        if missing:
            raise ValidationError(
                "df", ", ".join(missing), f"column(s) missing; the frame has {list(df.columns)}"
            )
        times = _naive(df[time], time)
        if df[customer].isna().any():
            raise ValidationError(customer, None, "missing customer id(s)")
        amounts = np.zeros(len(df))
        if value is not None:
            try:
                amounts = df[value].to_numpy(dtype=float, na_value=np.nan)
            except (TypeError, ValueError):
                raise ValidationError(value, str(df[value].dtype), "must hold numbers") from None
            if not np.isfinite(amounts).all():
                raise ValidationError(value, "NaN", "values must be finite numbers")
        try:
            codes, labels = pd.factorize(df[customer], sort=True)
        except TypeError:  # ids of mixed types keep their order of appearance
            codes, labels = pd.factorize(df[customer], sort=False)
        return cls(
            codes=np.asarray(codes, dtype=np.int64),
            labels=labels,
            times=times,
            amounts=amounts,
            tz=df[time].dt.tz,
        )


def _time_unit(time_unit: str | None) -> pd.Timedelta | None:
    if time_unit is None:
        return None
    try:
        return pd.Timedelta(1, unit=cast(Any, time_unit))
    except (ValueError, TypeError):
        raise ValidationError(
            "time_unit", time_unit, "must be a fixed-length unit such as 'D', 'W' or 'h'"
        ) from None


def _duration(
    later: np.ndarray, earlier: np.ndarray, freq: str, unit: pd.Timedelta | None
) -> np.ndarray:
    """Time between period ordinals: in periods, or between their starts in ``unit``."""
    if unit is None:
        return np.asarray(later - earlier, dtype=float)
    periods = cast(Any, pd.PeriodIndex)  # from_ordinals is missing from pandas-stubs
    starts_late = periods.from_ordinals(later, freq=freq).start_time
    starts_early = periods.from_ordinals(earlier, freq=freq).start_time
    return np.asarray((starts_late - starts_early) / unit, dtype=float)


def summary_from_transactions(
    df: pd.DataFrame,
    *,
    customer: str = "customer_id",
    time: str = "occurred_at",
    value: str | None = "value",
    freq: str = "W",
    time_unit: str | None = None,
    observation_end: Any = None,
    calibration_end: Any = None,
) -> pd.DataFrame:
    """Turn a transaction frame into one row per customer: frequency, recency, T, monetary.

    Purchases are first grouped into periods of ``freq`` (all purchases of a customer in one
    day, for ``"D"``, are one purchase occasion whose value is their sum), as lifetimes'
    ``summary_data_from_transaction_data`` does. Then, per customer:

    - ``frequency``: purchase periods after the first (repeat purchases);
    - ``recency``: from the first purchase period to the last;
    - ``T``: from the first purchase period to the period of ``observation_end``;
    - ``monetary``: the mean value of the repeat purchase periods (0 without one).

    Durations count periods of ``freq`` (``"W"``: whole weeks), or, with ``time_unit``, the
    time between the periods' starts in that unit: ``freq="D", time_unit="W"`` gives days in
    weeks (``272 / 7 = 38.86``), as in Fader, Hardie & Lee's CDNOW summary.

    Args:
        df: One row per transaction.
        customer: The customer column.
        time: The transaction time column (datetimes; time-zone-aware times are taken at
            their wall-clock time).
        value: The transaction value column, or ``None`` for no ``monetary`` column.
        freq: The pandas period frequency purchases are grouped by (``"D"``, ``"W"``, ``"M"``).
        time_unit: A fixed-length unit for durations (``"D"``, ``"W"``, ``"h"``); ``None``
            counts periods of ``freq``.
        observation_end: The end of the observation; transactions after it are dropped.
            Defaults to the latest transaction.
        calibration_end: If given, the summary covers transactions up to this time
            (customers whose first purchase is after it are left out) and holdout columns
            describe each customer's purchases after it, up to ``observation_end``.

    Returns:
        One row per customer, sorted by customer, columns:

        - ``customer`` (named as the ``customer`` argument);
        - ``frequency`` (int64), ``recency`` (float64), ``T`` (float64);
        - ``monetary`` (float64), unless ``value`` is ``None``;
        - with ``calibration_end``: ``frequency_holdout`` (int64, purchase periods after
            ``calibration_end``), ``monetary_holdout`` (float64, their mean value, 0 without
            any; unless ``value`` is ``None``) and ``duration_holdout`` (float64, the holdout's
            length in the same unit).

    Raises:
        ValidationError: If a column is missing, times are not datetimes or missing, values
            are not finite numbers, ``freq`` or ``time_unit`` is not understood, or
            ``calibration_end`` is not before ``observation_end``.

    Examples:
        >>> import pandas as pd
        >>> purchases = pd.DataFrame({
        ...     "customer_id": ["a", "a", "a", "b"],
        ...     "occurred_at": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-15",
        ...                                    "2024-01-08"]),
        ...     "value": [10.0, 5.0, 20.0, 7.0],
        ... })
        >>> summary_from_transactions(purchases, freq="D", time_unit="W",
        ...                           observation_end="2024-01-29")
          customer_id  frequency  recency    T  monetary
        0           a          1      2.0  4.0      20.0
        1           b          0      0.0  3.0       0.0

    References:
        Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). "Counting your customers" the easy
        way: an alternative to the Pareto/NBD model. Marketing Science, 24(2), 275-284.
    """
    frame = _Transactions.read(df, customer=customer, time=time, value=value)
    unit = _time_unit(time_unit)
    if observation_end is None:
        if len(frame.times) == 0:
            raise ValidationError("df", 0, "no transactions and no observation_end")
        end = frame.times.max()
    else:
        end = _instant(observation_end, "observation_end", frame.tz)
    cut = (
        None if calibration_end is None else _instant(calibration_end, "calibration_end", frame.tz)
    )
    if cut is not None and cut >= end:
        raise ValidationError("calibration_end", calibration_end, "must be before observation_end")
    ordinals = np.asarray(_ordinals(frame.times, freq), dtype=np.int64)
    times = frame.times.to_numpy()
    within = times <= end.to_datetime64()
    in_calibration = within if cut is None else within & (times <= cut.to_datetime64())
    calibration = _summarise(
        frame.codes[in_calibration],
        ordinals[in_calibration],
        frame.amounts[in_calibration],
        len(frame.labels),
    )
    present = calibration["periods"] > 0
    frequency = calibration["periods"] - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, calibration["repeat_value"] / frequency, 0.0)
    first = calibration["first"][present]
    end_ordinal = np.full(len(first), int(_ordinals(end if cut is None else cut, freq)))
    result = pd.DataFrame({customer: frame.labels[present]})
    result["frequency"] = frequency[present].astype(np.int64)
    result["recency"] = _duration(calibration["last"][present], first, freq, unit)
    result["T"] = _duration(end_ordinal, first, freq, unit)
    if value is not None:
        result["monetary"] = monetary[present]
    if cut is not None:
        holdout = within & (times > cut.to_datetime64())
        later = _summarise(
            frame.codes[holdout], ordinals[holdout], frame.amounts[holdout], len(frame.labels)
        )
        count = later["periods"]
        result["frequency_holdout"] = count[present].astype(np.int64)
        if value is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(count > 0, later["all_value"] / count, 0.0)
            result["monetary_holdout"] = mean[present]
        result["duration_holdout"] = _duration(
            np.full(len(result), int(_ordinals(end, freq))), end_ordinal, freq, unit
        )
    return result.reset_index(drop=True)
