"""Typeform: each completed form response as a survey response with its NPS, CSAT or CES score.

The Responses API (``GET /forms/{form_id}/responses``) is read one configured form after the
other with one personal access token, by *time keyset* paging that combines only parameters
Typeform documents together: every request asks ``sort=submitted_at,asc``, ``page_size``,
``response_type=completed`` (partial responses have no submission time) and ``since``. Typeform's
token cursors ``after``/``before`` are not used: the reference says they cannot be combined with
``sort``, it does not say in which order ``after`` pages come (the default order is
``submitted_at,desc``), and integrators report the ``after`` cursor unreliable on forms with
more than 1000 responses. After each page the next request asks ``since = the newest
submitted_at on the page``; ``since`` is inclusive and counts whole seconds, so the responses of
that boundary second come back and are skipped by their ``token``, which the cursor remembers for
that second. No response is lost at a page boundary, however many share a second, as long as
one second holds fewer than ``page_size`` of them; a full page of responses already read in one
second cannot move the window, and stops the stream with an error asking for a larger
``page_size`` instead of looping. A page shorter than ``page_size`` is the last.

Responses come oldest first, so a checkpoint after every page is safe: everything submitted
before the page's newest second has been read, and the tokens read in that second are listed.
The cursor keeps that per form, in one JSON object (``{"forms": {"u6nXL7": {"mark":
"2026-03-01T10:15:00Z", "seen": ["<token>"]}}}``; form ids are case-sensitive). While a pass is
under way the forms it has paged carry ``"paging": true`` as well: a sync cut off there resumes
from the mark itself, skipping the listed tokens, so it loses nothing and reads again at most
the page it was on; the checkpoint after the last page of the last form drops the flags. The
next sync asks ``since = mark - overlap`` (ten minutes by default): Typeform can store a response
a little after its submission time, so a response that was not there when the mark was taken
but was submitted just before it is still found. The responses read again in that window are
stored under the same ``source_id`` (form id and response token) and counted unchanged.

Each response becomes an inbound ``survey_response`` interaction on the ``survey`` channel. A
small per-form mapping says which fields are NPS, CSAT, CES or rating questions (fields of
Typeform's own ``nps`` type are NPS without being named), which hidden fields carry identities
(``email``, ``customer_id`` -> ``shop:customer``), and which free-text field is the comment on
the scores; answers of the ``email`` type become ``email`` identities. A score outside its scale
quarantines the response with a reason naming the field.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import httpx

from cxm.connectors.base import Checkpoint, Connector, Secret, Stream, secret
from cxm.connectors.http import BearerAuth, HttpClient, KeysetWindow, RateLimiter, RetryPolicy
from cxm.connectors.options import check_rate_limit, check_source, http_url, int_between
from cxm.connectors.payload import pick
from cxm.exceptions import UpstreamError, ValidationError
from cxm.model import DEFAULT_SCALES, Feedback, Identity, Interaction, Metric

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_OVERLAP",
    "MAX_PAGE_SIZE",
    "FormSettings",
    "ScoreField",
    "TypeformConfig",
    "TypeformConnector",
    "response_interaction",
]

NAME = "typeform"
DEFAULT_BASE_URL = "https://api.typeform.com"
"""The API's root; accounts in Typeform's EU data center use ``https://api.eu.typeform.com``."""
MAX_PAGE_SIZE = 1000
"""The most responses the Responses API returns in one page."""
DEFAULT_OVERLAP = timedelta(minutes=10)
"""How far before the last mark an incremental sync asks again, for responses stored late."""

_FORM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_IDENTITY_KIND = re.compile(r"^(email|phone|[a-z0-9][a-z0-9_.-]{0,30}:[a-z0-9][a-z0-9_.-]{0,30})$")
_FREE_TEXT = frozenset({"short_text", "long_text"})
_FORM_KEYS = ("feedback", "hidden", "email_answers", "comment", "touchpoint")
_METADATA = ("platform", "browser", "referer")
_NUMBER: Any = (int, float)  # pick's overloads take one type; a score may be either


# -- the per-form mapping -----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ScoreField:
    """A form field whose numeric answer is a score.

    Attributes:
        field: The field's ``ref`` (as set in the form builder) or its ``id``.
        metric: ``nps``, ``csat``, ``ces``, ``rating`` or ``custom``.
        scale: ``(min, max)`` of the answer: NPS is always 0-10; CSAT defaults to 1-5, CES to
            1-7, rating to 1-5; a ``custom`` metric needs one.
    """

    field: str
    metric: Metric
    scale: tuple[float, float]


@attrs.frozen(kw_only=True)
class FormSettings:
    """One form to read and how its answers map to cxm.

    Build it from the plain options with :meth:`from_options`.

    Attributes:
        form_id: The form's id, as in its URL (``https://x.typeform.com/to/u6nXL7``); case
            matters.
        feedback: The fields read as scores.
        hidden: ``(hidden field name, identity kind)`` pairs: the hidden field's value is an
            identity of that kind (``email``, ``phone`` or ``<source>:<id-type>``).
        email_answers: Whether answers to e-mail questions are ``email`` identities.
        comment: The ``ref`` or ``id`` of the free-text field whose answer is the comment on
            every score of the response.
        touchpoint: The interactions' touchpoint.
    """

    form_id: str
    feedback: tuple[ScoreField, ...] = ()
    hidden: tuple[tuple[str, str], ...] = ()
    email_answers: bool = True
    comment: str | None = None
    touchpoint: str | None = None

    @classmethod
    def from_options(cls, form_id: Any, options: Any = None) -> FormSettings:
        """Validate one form's mapping, given as plain values (a TOML table, a dict).

        Args:
            form_id: The form's id.
            options: ``None`` or a mapping with the optional keys ``feedback`` (``{field:
                metric}`` or ``{field: {"metric": ..., "scale": [min, max]}}``), ``hidden``
                (``{hidden field: identity kind}``), ``email_answers`` (bool), ``comment``
                (a field) and ``touchpoint``.

        Returns:
            The settings.

        Raises:
            ValidationError: Naming the option, ``forms.<form id>.<key>...``.

        Examples:
            >>> form = FormSettings.from_options(
            ...     "u6nXL7",
            ...     {"feedback": {"recommend": "nps", "stars": {"metric": "rating",
            ...                                                 "scale": [1, 10]}},
            ...      "hidden": {"customer_id": "shop:customer"}})
            >>> [(f.field, str(f.metric), f.scale) for f in form.feedback]
            [('recommend', 'nps', (0, 10)), ('stars', 'rating', (1, 10))]
            >>> FormSettings.from_options("u6nXL7", {"feedback": {"stars": "stars"}})
            Traceback (most recent call last):
            ...
            cxm.exceptions.ValidationError: forms.u6nXL7.feedback.stars='stars': ...
        """
        if not isinstance(form_id, str) or not _FORM_ID.fullmatch(form_id):
            raise ValidationError(
                "forms", form_id, "each form id must be letters, digits, '_' or '-' (as in its URL)"
            )
        where = f"forms.{form_id}"
        if options is None:
            options = {}
        if not isinstance(options, Mapping):
            raise ValidationError(where, options, "must be a table of the form's mapping")
        unknown = sorted(str(key) for key in options if key not in _FORM_KEYS)
        if unknown:
            raise ValidationError(
                f"{where}.{unknown[0]}",
                options[unknown[0]],
                f"unknown key; keys are: {', '.join(_FORM_KEYS)}",
            )
        email_answers = options.get("email_answers", True)
        if not isinstance(email_answers, bool):
            raise ValidationError(f"{where}.email_answers", email_answers, "must be true or false")
        return cls(
            form_id=form_id,
            feedback=_score_fields(where, options.get("feedback")),
            hidden=_hidden(where, options.get("hidden")),
            email_answers=email_answers,
            comment=_optional_name(f"{where}.comment", options.get("comment")),
            touchpoint=_optional_name(f"{where}.touchpoint", options.get("touchpoint")),
        )


def _score_fields(where: str, value: Any) -> tuple[ScoreField, ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ValidationError(f"{where}.feedback", value, "must be a table {field: metric}")
    found = []
    for field, spec in value.items():
        name = f"{where}.feedback.{field}"
        if not isinstance(field, str) or not field.strip():
            raise ValidationError(name, field, "a field is named by its ref or id")
        scale_given: Any = None
        if isinstance(spec, Mapping):
            extra = sorted(str(key) for key in spec if key not in ("metric", "scale"))
            if extra:
                raise ValidationError(name, dict(spec), f"unknown key {extra[0]!r}")
            metric_given, scale_given = spec.get("metric"), spec.get("scale")
        else:
            metric_given = spec
        if metric_given not in {m.value for m in Metric}:
            known = ", ".join(m.value for m in Metric)
            raise ValidationError(name, metric_given, f"the metric must be one of {known}")
        metric = Metric(str(metric_given))
        scale = _scale(name, metric, scale_given)
        found.append(ScoreField(field=field, metric=metric, scale=scale))
    return tuple(found)


def _scale(name: str, metric: Metric, value: Any) -> tuple[float, float]:
    if value is None:
        if metric is Metric.CUSTOM:
            raise ValidationError(name, None, "a custom metric needs a scale [min, max]")
        return DEFAULT_SCALES[metric]
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        or not value[0] < value[1]
    ):
        raise ValidationError(name, value, "the scale must be [min, max] numbers with min < max")
    if metric is Metric.NPS and tuple(value) != (0, 10):
        raise ValidationError(name, value, "NPS is always asked on 0..10")
    return (value[0], value[1])


def _hidden(where: str, value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ValidationError(f"{where}.hidden", value, "must be a table {hidden field: kind}")
    pairs = []
    for name, kind in value.items():
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"{where}.hidden", name, "a hidden field needs a name")
        if not isinstance(kind, str) or not _IDENTITY_KIND.fullmatch(kind):
            raise ValidationError(
                f"{where}.hidden.{name}",
                kind,
                "the identity kind must be 'email', 'phone' or '<source>:<id-type>' such as "
                "'shop:customer'",
            )
        pairs.append((name, kind))
    return tuple(pairs)


def _optional_name(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(name, value, "must be a non-empty string")
    return value


# -- the config ---------------------------------------------------------------------------------


def _forms(value: Any) -> tuple[FormSettings, ...]:
    if isinstance(value, (str, FormSettings)):
        value = [value]
    if isinstance(value, Mapping):
        entries = list(value.items())
    elif isinstance(value, (list, tuple)):
        entries = [(item, None) for item in value]
    else:
        raise ValidationError("forms", value, "must be a list of form ids or a table of forms")
    if not entries:
        raise ValidationError("forms", value, "name at least one form")
    found: dict[str, FormSettings] = {}
    for form_id, options in entries:
        form = (
            form_id
            if isinstance(form_id, FormSettings)
            else options
            if isinstance(options, FormSettings)
            else FormSettings.from_options(form_id, options)
        )
        if form.form_id in found and found[form.form_id] != form:
            raise ValidationError("forms", form.form_id, "the form is listed twice")
        found[form.form_id] = form
    return tuple(found.values())


def _start(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError("start", value, "must be an ISO 8601 time") from None
    if not isinstance(value, datetime):
        raise ValidationError("start", value, "must be an ISO 8601 time")
    if value.tzinfo is None:
        raise ValidationError("start", value.isoformat(), "must carry a time zone (e.g. 'Z')")
    return value.astimezone(UTC)


def _overlap(value: Any) -> timedelta:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = timedelta(seconds=value)
    if not isinstance(value, timedelta) or not timedelta(0) <= value <= timedelta(days=7):
        raise ValidationError(
            "overlap", value, "must be seconds (or a timedelta) between 0 and 7 days"
        )
    return value


@attrs.frozen(kw_only=True)
class TypeformConfig:
    """Settings of the ``typeform`` connector.

    Attributes:
        token: A personal access token with the ``responses:read`` scope (never printed).
        forms: The forms to read: a list of form ids, or a table ``{form id: mapping}`` where
            the mapping (see :meth:`FormSettings.from_options`) names the score fields, the
            hidden fields holding identities and the comment field.
        account_id: The Typeform account, used to key the sync state. Without it the state is
            keyed on a fingerprint of the token, so a new token starts over.
        source: The interactions' ``source``. Response tokens are Typeform's and the source id
            carries the form id, so one source serves every form of an account.
        base_url: The API's root (``https://api.eu.typeform.com`` for the EU data center).
        start: On the first sync (and a full refresh), read responses submitted at or after
            this ISO time; default: all.
        overlap: Seconds (or a ``timedelta``) before the last mark an incremental sync asks
            again, for responses Typeform stored after later ones; default ten minutes.
        page_size: Responses per page, 1 to 1000. It also bounds how many responses one
            second may hold: a form with more in one second stops with an error asking
            for a larger page.
        rate_limit: Requests per second (Typeform allows two per second per account), or a
            shared :class:`~cxm.connectors.http.RateLimiter`.
        transport: An ``httpx`` transport, for tests (``httpx.MockTransport``).
        retry: How failed requests are retried.
    """

    token: Secret = attrs.field(converter=secret, repr=False)
    forms: tuple[FormSettings, ...] = attrs.field(converter=_forms)
    account_id: str | None = None
    source: str = attrs.field(default=NAME, validator=check_source)
    base_url: str = attrs.field(default=DEFAULT_BASE_URL, converter=http_url)
    start: datetime | None = attrs.field(default=None, converter=_start)
    overlap: timedelta = attrs.field(default=DEFAULT_OVERLAP, converter=_overlap)
    page_size: int = attrs.field(default=MAX_PAGE_SIZE, validator=int_between(1, MAX_PAGE_SIZE))
    rate_limit: float | RateLimiter = attrs.field(default=2.0, validator=check_rate_limit)
    transport: httpx.BaseTransport | None = attrs.field(default=None, repr=False)
    retry: RetryPolicy | None = None


# -- the connector ------------------------------------------------------------------------------


class TypeformConnector(Connector):
    """Completed responses of Typeform forms, with their scores as feedback."""

    name = NAME
    summary = "Typeform form responses with NPS, CSAT and CES scores (personal access token)"
    Config = TypeformConfig
    config: TypeformConfig

    def __init__(self, config: Any = None, /, **options: Any) -> None:
        super().__init__(config, **options)
        rate = self.config.rate_limit
        # One limiter for every form: Typeform counts requests per account.
        self._limiter = rate if isinstance(rate, RateLimiter) else RateLimiter(float(rate))
        self._forms = {form.form_id: form for form in self.config.forms}

    @property
    def state_key(self) -> str:
        """``typeform:<account id>``, or ``typeform:token-<fingerprint>`` without one.

        Marks are kept per form inside the cursor, so adding a form keeps the others' marks
        and reads the new one from ``start``.
        """
        if self.config.account_id:
            return f"{NAME}:{self.config.account_id}"[:128]
        token = self.config.token.reveal().encode()
        return f"{NAME}:token-{hashlib.sha256(token).hexdigest()[:16]}"

    def _client(self) -> HttpClient:
        return HttpClient(
            self.config.base_url,
            auth=BearerAuth(self.config.token),
            transport=self.config.transport,
            retry=self.config.retry,
            rate_limit=self._limiter,
            connector=self.name,
            secrets=self.secrets(),
        )

    def check(self) -> None:
        """Read one response of the first form.

        This needs exactly what a sync needs (a valid token with ``responses:read`` and access
        to the form), where ``GET /me`` would also demand ``accounts:read``.
        """
        with self._client() as client:
            client.get_json(
                f"/forms/{self.config.forms[0].form_id}/responses", params={"page_size": 1}
            )

    def streams(self) -> list[Stream]:
        """Return the one stream, ``responses``."""
        return [
            Stream(
                name="responses",
                read=self.read_responses,
                parse=self.parse_response,
                description="completed responses of each form, oldest first, with their scores",
            )
        ]

    # -- reading ----------------------------------------------------------------------------

    def _start_window(self, entry: Any) -> KeysetWindow[datetime]:
        """Where a form's pass starts, from its entry in the cursor.

        A form paged by a pass that was cut off (``"paging": true``) continues exactly where
        the last checkpoint left it. Otherwise the pass asks from ``mark - overlap`` (never
        before ``start``), or from ``start`` when the form has no mark yet.
        """
        mark: datetime | None = None
        seen: set[str] = set()
        paging = False
        if isinstance(entry, str):  # a mark saved before the cursor kept the boundary tokens
            mark = _mark(entry)
        elif isinstance(entry, Mapping) and isinstance(entry.get("mark"), str):
            mark = _mark(entry["mark"])
            tokens = entry.get("seen")
            seen = {t for t in tokens if isinstance(t, str)} if isinstance(tokens, list) else set()
            paging = entry.get("paging") is True
        start = self.config.start
        if mark is None:
            return _window(None if start is None else _second(start), set())
        if paging:
            return _window(mark, seen)
        since = mark - self.config.overlap
        if start is not None:
            since = max(since, start)
        since = _second(since)
        # With no overlap the pass starts at the mark itself, whose tokens are known read.
        return _window(since, seen if since == mark else set())

    def read_responses(self, cursor: Any) -> Iterator[Any]:
        """Yield each form's responses submitted since its mark, checkpointing every page.

        The cursor is ``{"forms": {"<form id>": {"mark": "<second>", "seen": [tokens]}}}``:
        every response submitted before the mark has been read, and so have the listed ones
        submitted in the mark's second. While a pass is under way the forms it has paged also
        carry ``"paging": true``, so that a sync cut off there resumes from the mark itself
        rather than from ``mark - overlap``; the checkpoint after the last page of the last
        form drops those flags. Entries of forms no longer configured are kept, so removing
        and re-adding a form does not read it again.

        Raises:
            UpstreamError: When a full page brings nothing past the second asked from (more
                responses were submitted in that one second than ``page_size`` holds).
        """
        forms: dict[str, Any] = {}
        if isinstance(cursor, Mapping) and isinstance(cursor.get("forms"), Mapping):
            forms = {str(key): value for key, value in cursor["forms"].items()}
        paged: set[str] = set()
        size = self.config.page_size
        last = self.config.forms[-1].form_id
        with self._client() as client:
            for form in self.config.forms:
                window = self._start_window(forms.get(form.form_id))
                while True:
                    # Only documented parameters, combinable with each other: no after/before,
                    # which Typeform refuses together with sort.
                    params: dict[str, Any] = {
                        "page_size": size,
                        "response_type": "completed",
                        "sort": "submitted_at,asc",
                    }
                    if window.since is not None:
                        params["since"] = window.since.strftime("%Y-%m-%dT%H:%M:%S")
                    body = client.get_json(
                        f"/forms/{form.form_id}/responses", params=params, stream="responses"
                    )
                    items = pick(body, "items", list, vendor=NAME)
                    for item in window.unread(items):
                        # The form travels with the response: parse needs its mapping.
                        yield {"form_id": form.form_id, "response": item}
                    asked_from = window.since
                    moved = window.move(items)
                    entry = _entry(window)
                    if entry is not None:
                        forms[form.form_id] = entry
                        paged.add(form.form_id)
                    done = len(items) < size
                    yield Checkpoint(_cursor(forms, paged, final=done and form.form_id == last))
                    if done:
                        break
                    if not moved:
                        second = "the start" if asked_from is None else _format_time(asked_from)
                        raise UpstreamError(
                            f"form {form.form_id}: a full page of {size} responses brought "
                            f"nothing past {second}: more responses were submitted in that one "
                            "second than a page holds (or they carry no submitted_at or token); "
                            + (
                                f"raise page_size (at most {MAX_PAGE_SIZE}) and sync again"
                                if size < MAX_PAGE_SIZE
                                else "page_size is already the most Typeform allows, "
                                f"{MAX_PAGE_SIZE}, so that second cannot be paged by time"
                            ),
                            connector=self.name,
                            stream="responses",
                        )

    # -- parsing ----------------------------------------------------------------------------

    def parse_response(self, item: Mapping[str, Any]) -> Interaction:
        """Turn one response (with its form id) into a survey-response interaction."""
        form = self._forms.get(item["form_id"]) or FormSettings(form_id=item["form_id"])
        return response_interaction(item["response"], form, source=self.source)


def response_interaction(response: Any, form: FormSettings, *, source: str = NAME) -> Interaction:
    """Turn one response of the Responses API into an interaction.

    Args:
        response: One of the answer's ``items``.
        form: The form it answers, with its mapping.
        source: The interaction's ``source``.

    Returns:
        An inbound ``survey_response`` on the ``survey`` channel, ``source_id``
        ``<form id>:<token>``, submitted at ``submitted_at``; one :class:`~cxm.Feedback` per
        answered score field; free-text answers as ``text``; identities from the mapped
        hidden fields and the e-mail answers; every answer in ``attributes["answers"]`` by
        field ref (or id), and the hidden fields, calculated score, variables and landing
        metadata as further attributes.

    Raises:
        ValidationError: Naming the field, when one is missing or malformed, or when a score
            lies outside its scale (``typeform.answers[recommend].number``).

    Examples:
        >>> form = FormSettings.from_options(
        ...     "u6nXL7", {"feedback": {"ease": "ces"}, "hidden": {"customer_id": "shop:customer"},
        ...                "comment": "why"})
        >>> response = {
        ...     "landing_id": "a1", "token": "a1", "landed_at": "2026-03-01T10:00:00Z",
        ...     "submitted_at": "2026-03-01T10:02:00Z", "hidden": {"customer_id": "C-42"},
        ...     "answers": [
        ...         {"field": {"id": "f1", "type": "nps", "ref": "recommend"},
        ...          "type": "number", "number": 9},
        ...         {"field": {"id": "f2", "type": "opinion_scale", "ref": "ease"},
        ...          "type": "number", "number": 6},
        ...         {"field": {"id": "f3", "type": "long_text", "ref": "why"},
        ...          "type": "text", "text": "Quick checkout"}]}
        >>> found = response_interaction(response, form)
        >>> [(str(f.metric), f.score, f.comment) for f in found.feedback]
        [('nps', 9, 'Quick checkout'), ('ces', 6, 'Quick checkout')]
        >>> found.source_id, [i.key for i in found.identities]
        ('u6nXL7:a1', [('shop:customer', 'C-42')])
    """
    token = pick(response, "token", str, vendor=NAME)
    submitted = _time(pick(response, "submitted_at", str, vendor=NAME), "submitted_at")
    answers = pick(response, "answers", list, vendor=NAME, default=[])
    hidden = pick(response, "hidden", dict, vendor=NAME, default={})
    scores = {score.field: score for score in form.feedback}
    values: dict[str, Any] = {}
    texts: list[str] = []
    emails: list[str] = []
    comment: str | None = None
    found_scores: list[tuple[str, ScoreField, Any]] = []
    for index, answer in enumerate(answers):
        field_id = pick(answer, "field.id", str, vendor=f"{NAME}.answers.{index}")
        ref = pick(answer, "field.ref", str, vendor=f"{NAME}.answers.{index}", default=None)
        field_type = pick(answer, "field.type", str, vendor=f"{NAME}.answers.{index}", default="")
        key = ref or field_id
        vendor = f"{NAME}.answers[{key}]"
        answer_type = pick(answer, "type", str, vendor=vendor)
        value = _answer_value(answer, answer_type, vendor)
        values[key] = value
        score = scores.get(ref or "") or scores.get(field_id)
        if score is None and field_type == "nps":
            # Typeform's own NPS question: 0-10 by construction, no mapping needed.
            score = ScoreField(field=key, metric=Metric.NPS, scale=DEFAULT_SCALES[Metric.NPS])
        if score is not None:
            found_scores.append((key, score, pick(answer, "number", _NUMBER, vendor=vendor)))
        if field_type in _FREE_TEXT and isinstance(value, str) and value.strip():
            texts.append(value.strip())
            if form.comment is not None and form.comment in (ref, field_id):
                comment = value.strip()
        if answer_type == "email" and form.email_answers and isinstance(value, str):
            emails.append(value)
    feedback = [_feedback(key, score, number, comment) for key, score, number in found_scores]
    identities, unresolved = _identities(form, hidden, emails)
    attributes: dict[str, Any] = {
        "form_id": form.form_id,
        "landing_id": pick(response, "landing_id", str, vendor=NAME, default=None),
        "response_id": pick(response, "response_id", str, vendor=NAME, default=None),
        "landed_at": pick(response, "landed_at", str, vendor=NAME, default=None),
        "answers": values,
        "hidden": hidden or None,
        "score": pick(response, "calculated.score", _NUMBER, vendor=NAME, default=None),
        "variables": _variables(pick(response, "variables", list, vendor=NAME, default=[])),
        "unresolved_identities": unresolved or None,
    }
    metadata = pick(response, "metadata", dict, vendor=NAME, default={})
    for name in _METADATA:
        attributes[name] = pick(metadata, name, str, vendor=f"{NAME}.metadata", default=None)
    return Interaction(
        source=source,
        source_id=f"{form.form_id}:{token}",
        occurred_at=submitted,
        updated_at=submitted,
        channel="survey",
        kind="survey_response",
        touchpoint=form.touchpoint,
        text="\n\n".join(texts) or None,
        identities=identities,
        feedback=feedback,
        attributes={k: v for k, v in attributes.items() if v not in (None, "", [], {})},
    )


def _answer_value(answer: Any, answer_type: str, vendor: str) -> Any:
    """The answer's value: the key named by its ``type``; labels for choices."""
    if answer_type == "choice":
        choice = pick(answer, "choice", dict, vendor=vendor, default={})
        return choice.get("label") or choice.get("other")
    if answer_type == "choices":
        choices = pick(answer, "choices", dict, vendor=vendor, default={})
        labels = list(choices.get("labels") or [])
        if choices.get("other"):
            labels.append(choices["other"])
        return labels
    return pick(answer, answer_type, vendor=vendor, default=None)


def _feedback(key: str, score: ScoreField, number: float, comment: str | None) -> Feedback:
    low, high = score.scale
    if not low <= number <= high:
        raise ValidationError(
            f"{NAME}.answers[{key}].number",
            number,
            f"outside the {score.metric.value} scale {low:g}..{high:g}",
        )
    if score.metric is Metric.NPS and number != int(number):
        raise ValidationError(f"{NAME}.answers[{key}].number", number, "NPS takes whole numbers")
    return Feedback(
        metric=score.metric,
        score=int(number) if float(number).is_integer() else number,
        scale=score.scale,
        question=key,
        comment=comment,
    )


def _identities(
    form: FormSettings, hidden: Mapping[str, Any], emails: list[str]
) -> tuple[list[Identity], list[str]]:
    """The identities the response asserts, and the sources of values that are not one."""
    found: list[Identity] = []
    unresolved: list[str] = []
    candidates = [(f"hidden.{name}", kind, hidden.get(name)) for name, kind in form.hidden]
    candidates += [("answers.email", "email", email) for email in emails]
    for where, kind, value in candidates:
        if not isinstance(value, str) or not value.strip():
            continue  # a hidden field left empty in the link
        try:
            identity = Identity(kind, value)
        except ValidationError:
            # A placeholder such as "xxxxx" left in the link: the answers still count.
            unresolved.append(where)
            continue
        if identity not in found:
            found.append(identity)
    return found, unresolved


def _variables(items: list[Any]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get("key"), str):
            kind = item.get("type")
            out[item["key"]] = item.get(kind) if isinstance(kind, str) else None
    return out or None


def _window(since: datetime | None, seen: set[str]) -> KeysetWindow[datetime]:
    """Where the keyset paging of one form stands: the second asked from, the tokens read at it."""
    return KeysetWindow(since, seen, time=_submitted, key=_token)


def _entry(window: KeysetWindow[datetime]) -> dict[str, Any] | None:
    """The form's entry in the cursor, once the window has a second."""
    if window.since is None:
        return None
    return {"mark": _format_time(window.since), "seen": sorted(window.seen)}


def _cursor(forms: Mapping[str, Any], paged: set[str], *, final: bool) -> dict[str, Any]:
    """The checkpoint's cursor: forms paged in this pass flagged, unless the pass is over."""
    out: dict[str, Any] = {}
    for form_id, entry in forms.items():
        if not isinstance(entry, Mapping):
            out[form_id] = entry  # kept as it was (a form no longer configured)
            continue
        flagged = not final and (form_id in paged or entry.get("paging") is True)
        out[form_id] = {key: value for key, value in entry.items() if key != "paging"}
        if flagged:
            out[form_id]["paging"] = True
    return {"forms": out}


def _token(item: Any) -> str | None:
    token = item.get("token") if isinstance(item, Mapping) else None
    return token if isinstance(token, str) and token else None


def _submitted(item: Any) -> datetime | None:
    """The second a response was submitted, or ``None`` when unreadable (parse quarantines it)."""
    value = item.get("submitted_at") if isinstance(item, Mapping) else None
    try:
        return _second(_parse_time(value)) if isinstance(value, str) else None
    except ValueError:
        return None


def _second(value: datetime) -> datetime:
    """The UTC second holding ``value``: Typeform's ``since`` counts whole seconds."""
    return value.astimezone(UTC).replace(microsecond=0)


def _mark(value: str) -> datetime | None:
    try:
        return _second(_parse_time(value))
    except ValueError:
        return None  # an unreadable mark: read the form again from start


def _parse_time(value: str) -> datetime:
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return parsed.astimezone(UTC)


def _format_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _time(value: str, field: str) -> datetime:
    try:
        return _parse_time(value)
    except ValueError:
        raise ValidationError(f"{NAME}.{field}", value, "not an ISO 8601 time") from None
