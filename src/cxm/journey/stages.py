"""Journey stages: an ordered list of stages and the rules that place each interaction in one.

A stage is where in the lifecycle an interaction sits: the default lifecycle is awareness <
evaluation < purchase < post_purchase < advocacy, and a project may define its own ordered list.
Which stage an interaction belongs to is decided at analysis time, not at ingestion: a
:class:`Stages` holds ordered :class:`StageRule` s that look at the interaction's touchpoint,
kind, channel, direction and attributes (the first rule that matches wins), then falls back to
the touchpoint's catalog stage, then to an optional default. Redefining the stages is therefore
a new ``Stages`` object applied to the same frame: nothing is re-ingested. Rows that nothing
places keep a missing stage; they are never dropped, and :meth:`Stages.explain` counts them.
Every rule is one vectorised boolean mask over the frame (categoricals are matched on their
few categories, then broadcast through the codes), so assigning stages to millions of rows
costs a handful of array operations per rule.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from cxm.exceptions import ValidationError
from cxm.model import JourneyStage

__all__ = ["LIFECYCLE", "StageRule", "Stages", "as_stages", "assign_stages"]

LIFECYCLE: tuple[str, ...] = tuple(stage.value for stage in JourneyStage)
"""The default lifecycle, in order: awareness, evaluation, purchase, post_purchase, advocacy."""

_CONDITIONS = ("touchpoint", "kind", "channel", "direction")
_RULE_KEYS = ("stage", *_CONDITIONS, "attributes")
_STAGES_KEYS = ("order", "rules", "catalog", "default")


def _plain(value: Any) -> Any:
    """A string enum member as its plain value (so configs and reprs stay plain)."""
    return value.value if isinstance(value, enum.Enum) else value


def _stage_name(field: str, value: Any) -> str:
    value = _plain(value)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, value, "must be a non-empty stage name")
    return value


def _values(field: str, value: Any) -> tuple[Any, ...] | None:
    """One value or a collection of values as a tuple; ``None`` means no condition."""
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Collection):
        items: tuple[Any, ...] = (_plain(value),)
    elif isinstance(value, Mapping):
        raise ValidationError(field, value, "must be a value or a list of values, not a mapping")
    else:
        items = tuple(_plain(v) for v in value)
    if not items:
        raise ValidationError(field, value, "an empty list would never match; leave it out")
    for item in items:
        if item is None or not isinstance(item, Hashable):
            raise ValidationError(field, item, "values must be hashable and not None")
    return items


def _attribute_values(value: Any) -> dict[str, tuple[Any, ...]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(
            "StageRule.attributes", value, "must be a mapping of attribute name to value(s)"
        )
    out: dict[str, tuple[Any, ...]] = {}
    for key, wanted in value.items():
        if not isinstance(key, str) or not key:
            raise ValidationError("StageRule.attributes", key, "names must be non-empty strings")
        values = _values(f"StageRule.attributes[{key!r}]", wanted)
        if values is None:
            raise ValidationError(f"StageRule.attributes[{key!r}]", None, "needs a value")
        out[key] = values
    return out


def _rule_stage(value: Any) -> str:
    return _stage_name("StageRule.stage", value)


def _touchpoint_values(value: Any) -> tuple[Any, ...] | None:
    return _values("StageRule.touchpoint", value)


def _kind_values(value: Any) -> tuple[Any, ...] | None:
    return _values("StageRule.kind", value)


def _channel_values(value: Any) -> tuple[Any, ...] | None:
    return _values("StageRule.channel", value)


def _direction_values(value: Any) -> tuple[Any, ...] | None:
    return _values("StageRule.direction", value)


def _attributes_none(value: Any) -> dict[str, tuple[Any, ...]]:
    if value is None:
        return {}
    return _attribute_values(value)


@attrs.frozen
class StageRule:
    """Place the interactions that meet every condition in ``stage``.

    Each condition takes one value or a collection of values (any of which matches); a
    condition left ``None`` matches everything, so a rule with no condition is a catch-all.
    Conditions combine with AND. ``attributes`` maps an attribute name to its wanted value(s)
    and is matched against an ``attr_<name>`` column when the frame has one (as
    ``ws.interactions(attributes=["name"])`` returns), else against the dicts of an
    ``attributes`` column (``ws.interactions(attributes=True)``). Values compare by equality,
    so ``5`` matches ``5.0``; a missing value never matches.

    Attributes:
        stage: The stage to assign; it must be one of the :class:`Stages`' order.
        touchpoint: Touchpoint name(s).
        kind: Interaction kind(s) (``"purchase"``, ``"review"``...).
        channel: Channel(s) (``"web"``, ``cxm.Channel.EMAIL``...).
        direction: ``"inbound"`` or ``"outbound"``.
        attributes: Attribute name -> wanted value(s).

    Raises:
        ValidationError: A stage name is empty, or a condition is empty or unhashable.

    Examples:
        >>> StageRule("advocacy", kind="review", attributes={"stars": [4, 5]})
        StageRule(stage='advocacy', touchpoint=None, kind=('review',), channel=None, direction=None, attributes={'stars': (4, 5)})
    """  # noqa: E501

    stage: str = attrs.field(converter=_rule_stage)
    touchpoint: tuple[Any, ...] | None = attrs.field(
        default=None, kw_only=True, converter=_touchpoint_values
    )
    kind: tuple[Any, ...] | None = attrs.field(default=None, kw_only=True, converter=_kind_values)
    channel: tuple[Any, ...] | None = attrs.field(
        default=None, kw_only=True, converter=_channel_values
    )
    direction: tuple[Any, ...] | None = attrs.field(
        default=None, kw_only=True, converter=_direction_values
    )
    attributes: dict[str, tuple[Any, ...]] = attrs.field(
        factory=dict, kw_only=True, converter=_attributes_none, hash=False
    )

    def to_dict(self) -> dict[str, Any]:
        """Return the rule as plain data (lists for several values), for TOML or JSON."""
        out: dict[str, Any] = {"stage": self.stage}
        for name in _CONDITIONS:
            values = getattr(self, name)
            if values is not None:
                out[name] = values[0] if len(values) == 1 else list(values)
        if self.attributes:
            out["attributes"] = {
                key: values[0] if len(values) == 1 else list(values)
                for key, values in self.attributes.items()
            }
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, field: str = "rule") -> StageRule:
        """Build a rule from plain data as :meth:`to_dict` writes it.

        Raises:
            ValidationError: A key is unknown or ``stage`` is missing (the field names it).
        """
        if not isinstance(data, Mapping):
            raise ValidationError(field, data, "must be a table (mapping) with a 'stage' key")
        unknown = sorted(str(key) for key in data if key not in _RULE_KEYS)
        if unknown:
            raise ValidationError(
                f"{field}.{unknown[0]}", data[unknown[0]], f"unknown key; known: {_RULE_KEYS}"
            )
        if "stage" not in data:
            raise ValidationError(f"{field}.stage", None, "every rule needs a stage")
        conditions = {key: data[key] for key in _RULE_KEYS[1:] if key in data}
        return cls(data["stage"], **conditions)


def _mask(values: pd.Series, wanted: tuple[Any, ...]) -> np.ndarray:
    """Rows of ``values`` equal to one of ``wanted``; missing values never match."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        # Match the few categories, then broadcast through the codes (code -1: missing).
        hit = np.append(pd.Index(values.cat.categories).isin(wanted), False)
        return np.asarray(hit[values.cat.codes.to_numpy()], dtype=bool)
    try:
        matched = values.isin(wanted).to_numpy(dtype=bool)
    except TypeError:  # unhashable cells (lists in attributes) can equal no wanted value
        plain = values.map(lambda v: v if isinstance(v, Hashable) else None)
        matched = plain.isin(wanted).to_numpy(dtype=bool)
    return np.asarray(matched & values.notna().to_numpy(), dtype=bool)


def _catalog_map(catalog: Any) -> dict[str, str | None]:
    if catalog is None:
        return {}
    if isinstance(catalog, pd.DataFrame):
        missing = [c for c in ("name", "stage") if c not in catalog.columns]
        if missing:
            raise ValidationError(
                "catalog",
                list(catalog.columns),
                "a catalog frame needs 'name' and 'stage' columns (as ws.touchpoints() has)",
            )
        names = catalog["name"].tolist()
        stages = [None if pd.isna(s) else s for s in catalog["stage"].tolist()]
        if len(set(names)) != len(names):
            raise ValidationError("catalog", "name", "the catalog names a touchpoint twice")
        return dict(zip(names, stages, strict=True))
    if isinstance(catalog, Mapping):
        return {name: None if stage is None else _plain(stage) for name, stage in catalog.items()}
    raise ValidationError(
        "catalog", type(catalog).__name__, "must be a mapping touchpoint -> stage or a frame"
    )


def _optional_catalog(value: Any) -> dict[str, str | None] | None:
    return None if value is None else _catalog_map(value)


def _order(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("order", value, "must be a list of stage names")
    names = tuple(_stage_name("order", v) for v in value)
    if not names:
        raise ValidationError("order", value, "must name at least one stage")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValidationError("order", name, "names a stage twice")
        seen.add(name)
    return names


def _rules(value: Any) -> tuple[StageRule, ...]:
    if value is None:
        return ()
    if isinstance(value, StageRule | Mapping) or not isinstance(value, Iterable):
        raise ValidationError("rules", value, "must be a list of StageRule (or dicts)")
    rules = []
    for i, item in enumerate(value):
        rule = StageRule.from_dict(item, field=f"rules[{i}]") if isinstance(item, Mapping) else item
        if not isinstance(rule, StageRule):
            raise ValidationError(f"rules[{i}]", rule, "must be a StageRule or a dict")
        rules.append(rule)
    return tuple(rules)


def _optional_stage(value: Any) -> str | None:
    return None if value is None else _stage_name("default", value)


@attrs.frozen
class Stages:
    """An ordered list of stages and the rules that place interactions in them.

    A row's stage is, in this order of precedence:

    1. the stage of the first rule in ``rules`` that the row matches;
    2. else the catalog stage of its touchpoint: from ``catalog`` when one is given, otherwise
        from the frame's own ``stage`` column (the catalog stage ``ws.interactions()``
        attaches when it reads the store). A stage there that is not in ``order`` is an
        error when there is no ``default`` (a typo or a stage the order forgot); with a
        ``default`` such rows go to the default, as for custom stages that replace the
        lifecycle;
    3. else ``default``;
    4. else missing (the row is kept; :meth:`explain` counts it as ``"unassigned"``).

    Attributes:
        order: The stage names, first to last; default :data:`LIFECYCLE`.
        rules: :class:`StageRule` s (or their dicts), tried in order.
        catalog: Touchpoint -> default stage: a mapping, or a frame with ``name`` and
            ``stage`` columns such as ``ws.touchpoints()``. ``None`` reads the frame's
            ``stage`` column instead.
        default: The stage of rows that neither a rule nor the catalog places.

    Raises:
        ValidationError: The order is empty or repeats a name, or a rule, the catalog or the
            default names a stage not in ``order`` (the field says which).

    Examples:
        >>> import pandas as pd
        >>> stages = Stages(
        ...     rules=[StageRule("advocacy", kind="review", attributes={"stars": [4, 5]})],
        ...     catalog={"Shop": "purchase", "Blog": "awareness"},
        ... )
        >>> frame = pd.DataFrame({
        ...     "touchpoint": ["Blog", "Shop", "Shop", "Help"],
        ...     "kind": ["page_view", "purchase", "review", "ticket"],
        ...     "attr_stars": [None, None, 5, None],
        ... })
        >>> stages.assign(frame).tolist()
        ['awareness', 'purchase', 'advocacy', nan]
    """

    order: tuple[str, ...] = attrs.field(default=LIFECYCLE, converter=_order)
    rules: tuple[StageRule, ...] = attrs.field(default=(), converter=_rules)
    catalog: dict[str, str | None] | None = attrs.field(
        default=None, converter=_optional_catalog, hash=False
    )
    default: str | None = attrs.field(default=None, converter=_optional_stage)

    def __attrs_post_init__(self) -> None:
        known = set(self.order)
        for i, rule in enumerate(self.rules):
            if rule.stage not in known:
                raise ValidationError(
                    f"rules[{i}].stage", rule.stage, f"is not one of the stages {self.order}"
                )
        for name, stage in (self.catalog or {}).items():
            if stage is not None and stage not in known:
                raise ValidationError(
                    f"catalog[{name!r}]", stage, f"is not one of the stages {self.order}"
                )
        if self.default is not None and self.default not in known:
            raise ValidationError("default", self.default, f"is not one of the stages {self.order}")

    @property
    def dtype(self) -> pd.CategoricalDtype:
        """The ordered categorical dtype of assigned stages."""
        return pd.CategoricalDtype(list(self.order), ordered=True)

    def _sources(
        self,
        df: pd.DataFrame,
        *,
        stage: Hashable,
        touchpoint: Hashable,
        kind: Hashable,
        channel: Hashable,
        direction: Hashable,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stage code (-1: none) and source (rule index, -1 catalog, -2 default, -3 none)."""
        if not isinstance(df, pd.DataFrame):
            raise ValidationError("df", type(df).__name__, "must be a pandas DataFrame")
        columns = {
            "touchpoint": touchpoint,
            "kind": kind,
            "channel": channel,
            "direction": direction,
        }
        rank = {name: i for i, name in enumerate(self.order)}
        n = len(df)
        codes = np.full(n, -1, dtype=np.int64)
        source = np.full(n, -3, dtype=np.int64)
        open_rows = np.ones(n, dtype=bool)
        for i, rule in enumerate(self.rules):
            hit = open_rows.copy()
            for condition in _CONDITIONS:
                wanted = getattr(rule, condition)
                if wanted is not None:
                    hit &= _mask(_frame_column(df, columns[condition], condition), wanted)
            for key, wanted in rule.attributes.items():
                hit &= _mask(_attribute_column(df, key, i), wanted)
            codes[hit] = rank[rule.stage]
            source[hit] = i
            open_rows &= ~hit
        if open_rows.any():
            fallback = self._catalog_codes(df, stage=stage, touchpoint=touchpoint, rank=rank)
            placed = open_rows & (fallback >= 0)
            codes[placed] = fallback[placed]
            source[placed] = -1
            open_rows &= ~placed
        if self.default is not None:
            codes[open_rows] = rank[self.default]
            source[open_rows] = -2
        return codes, source

    def _catalog_codes(
        self, df: pd.DataFrame, *, stage: Hashable, touchpoint: Hashable, rank: dict[str, int]
    ) -> np.ndarray:
        if self.catalog is None:
            if stage not in df.columns:
                return np.full(len(df), -1, dtype=np.int64)
            return _stage_codes(df[stage], rank, stage, self.order, strict=self.default is None)
        if touchpoint not in df.columns:
            raise ValidationError(
                "touchpoint", touchpoint, "is not a column of the frame; the catalog needs it"
            )
        values = df[touchpoint]
        lookup = {name: rank[s] for name, s in self.catalog.items() if s is not None}
        if isinstance(values.dtype, pd.CategoricalDtype):
            per_category = np.append(
                pd.Index(values.cat.categories).map(lambda c: lookup.get(c, -1)).to_numpy(),
                -1,
            ).astype(np.int64)
            return np.asarray(per_category[values.cat.codes.to_numpy()], dtype=np.int64)
        codes, uniques = pd.factorize(values)
        per_unique = np.append(np.asarray([lookup.get(u, -1) for u in uniques], dtype=np.int64), -1)
        return np.asarray(per_unique[codes], dtype=np.int64)

    def assign(
        self,
        df: pd.DataFrame,
        *,
        stage: Hashable = "stage",
        touchpoint: Hashable = "touchpoint",
        kind: Hashable = "kind",
        channel: Hashable = "channel",
        direction: Hashable = "direction",
    ) -> pd.Series:
        """Return every row's stage (see the class docstring for the precedence).

        Args:
            df: One row per interaction, e.g. ``ws.interactions(attributes=True)``.
            stage: The frame's catalog-stage column, read when no ``catalog`` was given.
            touchpoint: The touchpoint column (for rules and the catalog).
            kind: The kind column (for rules that test it).
            channel: The channel column (for rules that test it).
            direction: The direction column (for rules that test it).

        Returns:
            A Series aligned with ``df`` (same index), named ``stage``, of the ordered
            categorical :attr:`dtype`; missing where nothing placed the row.

        Raises:
            ValidationError: A column a rule tests is missing, or (without ``catalog`` and
                ``default``) the frame's stage column holds a stage not in ``order``.
        """
        codes, _ = self._sources(
            df, stage=stage, touchpoint=touchpoint, kind=kind, channel=channel, direction=direction
        )
        values = pd.Categorical.from_codes(codes, dtype=self.dtype)
        return pd.Series(values, index=df.index, name=stage)

    def explain(
        self,
        df: pd.DataFrame,
        *,
        stage: Hashable = "stage",
        touchpoint: Hashable = "touchpoint",
        kind: Hashable = "kind",
        channel: Hashable = "channel",
        direction: Hashable = "direction",
    ) -> pd.DataFrame:
        """Count how the rows were placed: by which rule, the catalog, the default, or not.

        Args:
            df: The frame :meth:`assign` would take.
            stage: As for :meth:`assign`.
            touchpoint: As for :meth:`assign`.
            kind: As for :meth:`assign`.
            channel: As for :meth:`assign`.
            direction: As for :meth:`assign`.

        Returns:
            One row per way of placing a row that placed at least one, in the order rules,
            catalog, default, unassigned; columns ``source`` (str: ``"rule 0"``, ``"rule 1"``
            ..., ``"catalog"``, ``"default"``, ``"unassigned"``), ``stage`` (object, NaN
            for unassigned), ``rows`` (int64).

        Examples:
            >>> import pandas as pd
            >>> stages = Stages(rules=[StageRule("purchase", kind="purchase")])
            >>> frame = pd.DataFrame({"kind": ["purchase", "review", "purchase"]})
            >>> stages.explain(frame)
                   source     stage  rows
            0      rule 0  purchase     2
            1  unassigned       NaN     1
        """
        codes, source = self._sources(
            df, stage=stage, touchpoint=touchpoint, kind=kind, channel=channel, direction=direction
        )
        # Rank sources rules first (0..), then catalog, default, unassigned.
        n_rules = len(self.rules)
        slot = np.where(source >= 0, source, n_rules - 1 - source)
        key = slot * (len(self.order) + 1) + (codes + 1)
        present, counts = np.unique(key, return_counts=True)
        slots, stage_codes = np.divmod(present, len(self.order) + 1)
        names = [f"rule {s}" for s in range(n_rules)] + ["catalog", "default", "unassigned"]
        return pd.DataFrame(
            {
                "source": [names[s] for s in slots],
                "stage": [self.order[c - 1] if c > 0 else None for c in stage_codes],
                "rows": counts.astype(np.int64),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the definition as plain data for a TOML or JSON config file."""
        out: dict[str, Any] = {
            "order": list(self.order),
            "rules": [rule.to_dict() for rule in self.rules],
        }
        if self.catalog is not None:
            out["catalog"] = dict(self.catalog)
        if self.default is not None:
            out["default"] = self.default
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Stages:
        """Build stages from plain data (a TOML table or JSON object) as :meth:`to_dict` writes.

        Keys: ``order`` (list, default the lifecycle), ``rules`` (list of tables with
        ``stage`` and conditions), ``catalog`` (table touchpoint -> stage), ``default``.

        Raises:
            ValidationError: A key is unknown or a value invalid; the field names it, e.g.
                ``rules[2].stage``.

        Examples:
            >>> stages = Stages.from_dict({
            ...     "order": ["discover", "buy", "use"],
            ...     "rules": [{"stage": "buy", "kind": "purchase"}],
            ...     "default": "discover",
            ... })
            >>> stages.rules[0].kind, stages.default
            (('purchase',), 'discover')
        """
        if not isinstance(data, Mapping):
            raise ValidationError("stages", data, "must be a table (mapping)")
        unknown = sorted(str(key) for key in data if key not in _STAGES_KEYS)
        if unknown:
            raise ValidationError(
                unknown[0], data[unknown[0]], f"unknown key; known: {_STAGES_KEYS}"
            )
        return cls(
            order=data.get("order", LIFECYCLE),
            rules=data.get("rules", ()),
            catalog=data.get("catalog"),
            default=data.get("default"),
        )


def _frame_column(df: pd.DataFrame, name: Hashable, condition: str) -> pd.Series:
    if name not in df.columns:
        raise ValidationError(
            condition,
            name,
            f"a stage rule tests the {condition} but the frame has no such column "
            f"(columns: {list(df.columns)[:20]})",
        )
    return df[name]


def _attribute_column(df: pd.DataFrame, key: str, rule: int) -> pd.Series:
    column = f"attr_{key}"
    if column in df.columns:
        return df[column]
    if "attributes" in df.columns:
        # One dict per row: extracting a key is per row by nature; ask for attr_<key>
        # columns (ws.interactions(attributes=[...])) to keep it vectorised.
        return df["attributes"].map(lambda d: d.get(key) if isinstance(d, Mapping) else None)
    raise ValidationError(
        f"rules[{rule}].attributes",
        key,
        f"the frame has neither an {column!r} column nor an 'attributes' column; read it "
        f"with ws.interactions(attributes=[{key!r}])",
    )


def _stage_codes(
    values: pd.Series, rank: dict[str, int], field: Hashable, order: Sequence[str], *, strict: bool
) -> np.ndarray:
    """Codes into ``order`` of a column of stage names (-1: none or, unless strict, unknown)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = pd.Index(values.cat.categories)
        raw = values.cat.codes.to_numpy()
    else:
        raw, categories = pd.factorize(values)
        categories = pd.Index(categories)
    per_category = np.asarray([rank.get(_plain(c), -1) for c in categories], dtype=np.int64)
    used = np.bincount(raw[raw >= 0], minlength=len(categories)) > 0
    strangers = used & (per_category < 0)
    if strict and strangers.any():
        name = categories[int(np.flatnonzero(strangers)[0])]
        rows = int(np.isin(raw, np.flatnonzero(strangers)).sum())
        raise ValidationError(
            str(field),
            name,
            f"{rows} row(s) have a stage that is not one of {tuple(order)}; add it to the "
            "order, place those rows with a rule, pass catalog= or give a default",
        )
    return np.asarray(np.append(per_category, -1)[raw], dtype=np.int64)


def assign_stages(
    df: pd.DataFrame,
    stages: Stages | Mapping[str, Any] | None = None,
    *,
    stage: Hashable = "stage",
    touchpoint: Hashable = "touchpoint",
    kind: Hashable = "kind",
    channel: Hashable = "channel",
    direction: Hashable = "direction",
) -> pd.DataFrame:
    """Return a copy of ``df`` whose ``stage`` column holds the stages ``stages`` assigns.

    Args:
        df: One row per interaction, e.g. ``ws.interactions()``.
        stages: A :class:`Stages`, its plain-data form (see :meth:`Stages.from_dict`), or
            ``None`` for the lifecycle read from the frame's own catalog stages.
        stage: The stage column to replace (and, without a catalog, to read).
        touchpoint: The touchpoint column.
        kind: The kind column.
        channel: The channel column.
        direction: The direction column.

    Returns:
        A copy of ``df`` with ``stage`` (ordered categorical of the stages' order; missing
        where nothing placed the row); every other column unchanged, rows in the same order.

    Raises:
        ValidationError: See :meth:`Stages.assign` and :class:`Stages`.

    Examples:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"touchpoint": ["Ad", "Shop"], "kind": ["view", "purchase"],
        ...                       "stage": ["awareness", None]})
        >>> rules = {"rules": [{"stage": "purchase", "kind": "purchase"}]}
        >>> assign_stages(frame, rules)["stage"].tolist()
        ['awareness', 'purchase']
    """
    resolved = as_stages(stages)
    out = df.copy()
    out[stage] = resolved.assign(
        df, stage=stage, touchpoint=touchpoint, kind=kind, channel=channel, direction=direction
    )
    return out


def as_stages(stages: Stages | Mapping[str, Any] | None) -> Stages:
    """Return ``stages`` as a :class:`Stages` (a dict is read with :meth:`Stages.from_dict`)."""
    if stages is None:
        return Stages()
    if isinstance(stages, Stages):
        return stages
    if isinstance(stages, Mapping):
        return Stages.from_dict(stages)
    raise ValidationError("stages", type(stages).__name__, "must be a Stages, a dict or None")
