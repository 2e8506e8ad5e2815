"""SurveyMonkey: the responses to chosen surveys, with mapped questions as NPS, CSAT or CES scores.

The connector reads SurveyMonkey's API v3 with an access token. For each configured survey it
first fetches the survey's design once per sync (``GET /surveys/{id}/details``): the bulk
responses carry only question, row and choice *ids*, and the design turns a chosen choice id
into its text and a score (NPS questions by the choice's place on the 0-10 scale, rating
questions by the choice's ``weight`` or place). Then it reads the responses
(``GET /surveys/{id}/responses/bulk``) sorted by ``date_modified`` ascending and filtered with
``start_modified_at``, keeping one high-water mark per survey in a single JSON cursor.

The reference says ``start_modified_at`` selects responses modified *after* a date and does not
say whether the bound is inclusive, and its dates have whole seconds. So every query asks from
one second before the mark: responses sharing the mark's second are read again (and stored
unchanged) rather than lost. The same filter is the paging: after each page the stream moves its
mark to the newest ``date_modified`` it has seen, yields a checkpoint, and asks again from there
(``page=1``), so a response edited during the pass (which jumps to the end of the order) cannot
shift an unread one past a page boundary. Only when a whole page shares the mark's second does
it step to ``page=2``, ``3``, ... of the same query. Because the order is ascending, a checkpoint
after every page is safe: everything before the mark has been yielded.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import httpx

from cxm.connectors.base import Checkpoint, Connector, Secret, Stream, secret
from cxm.connectors.http import BearerAuth, HttpClient, RateLimiter, RetryPolicy
from cxm.connectors.options import (
    check_rate_limit,
    check_source,
    http_url,
    id_list,
    int_between,
    iso_time,
)
from cxm.connectors.payload import pick
from cxm.exceptions import UpstreamError, ValidationError
from cxm.model import Feedback, Identity, Interaction

__all__ = [
    "DEFAULT_BASE_URL",
    "METRICS",
    "STATUSES",
    "QuestionMapping",
    "SurveyMonkeyConfig",
    "SurveyMonkeyConnector",
    "response_interaction",
]

NAME = "surveymonkey"
DEFAULT_BASE_URL = "https://api.surveymonkey.com/v3"
METRICS = ("nps", "csat", "ces", "rating", "custom")
"""The metrics a question can be mapped to (those of :class:`~cxm.Feedback`)."""
STATUSES = ("completed", "partial", "overquota", "disqualified")
"""The ``response_status`` values the bulk endpoint filters on."""

_ID: Any = (str, int)  # ids are documented as strings; some answers carry them as numbers
_SURVEY_ID = re.compile(r"^[0-9]{1,20}$")
_KIND = re.compile(r"^(email|phone|[a-z0-9][a-z0-9_.-]{0,30}:[a-z0-9][a-z0-9_.-]{0,30})$")
_SCORED_FAMILIES = ("single_choice", "multiple_choice", "matrix", "open_ended")
# Answers to these families are contact details or dates, not opinions: they feed identities
# (demographic e-mail and phone rows) and are kept out of the text and the attributes.
_PRIVATE_FAMILIES = ("demographic", "datetime", "presentation")
_NOT_TEXT_DISPLAYS = ("slider", "file_upload")
_QUERY_TIME = "%Y-%m-%dT%H:%M:%S"


# -- options ----------------------------------------------------------------------------------


@attrs.frozen
class QuestionMapping:
    """How one question's answer becomes feedback.

    Attributes:
        metric: ``nps``, ``csat``, ``ces``, ``rating`` or ``custom``.
        scale: ``(min, max)`` of the answers, or ``None`` for the metric's default (NPS is
            always 0-10; a ``rating`` question without a scale takes its choices' range).
    """

    metric: str
    scale: tuple[float, float] | None = None


def _surveys(value: Any) -> tuple[str, ...]:
    return id_list(
        value,
        "surveys",
        _SURVEY_ID,
        expected="survey ids",
        each="a numeric survey id",
        numbers=True,
    )


def _scale(value: Any, field: str) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValidationError(field, value, "must be a [min, max] pair")
    low, high = value
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, (int, float)):
            raise ValidationError(field, value, "bounds must be numbers")
        if not math.isfinite(bound):
            raise ValidationError(field, value, "bounds must be finite")
    if not low < high:
        raise ValidationError(field, value, "min must be below max")
    return (low, high)


def _mapping(value: Any, field: str) -> QuestionMapping:
    if isinstance(value, QuestionMapping):
        return value
    scale: tuple[float, float] | None = None
    if isinstance(value, Mapping):
        unknown = set(value) - {"metric", "scale"}
        if unknown:
            raise ValidationError(field, value, f"unknown keys {sorted(unknown)}")
        metric = value.get("metric")
        if value.get("scale") is not None:
            scale = _scale(value["scale"], f"{field}.scale")
    else:
        metric = value
    if metric not in METRICS:
        raise ValidationError(field, value, f"the metric must be one of {', '.join(METRICS)}")
    if metric == "nps" and scale is not None and scale != (0, 10):
        raise ValidationError(field, value, "NPS is always asked on 0-10")
    if metric == "custom" and scale is None:
        raise ValidationError(field, value, "a custom metric needs a scale")
    return QuestionMapping(metric=metric, scale=scale)


def _questions(value: Any) -> dict[str, dict[str, QuestionMapping]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(
            "questions", value, "must map survey ids to {question id: metric} tables"
        )
    out: dict[str, dict[str, QuestionMapping]] = {}
    for survey, table in value.items():
        survey_id = str(survey).strip()
        if not _SURVEY_ID.fullmatch(survey_id):
            raise ValidationError(f"questions.{survey}", survey, "must be a numeric survey id")
        if not isinstance(table, Mapping) or not table:
            raise ValidationError(
                f"questions.{survey_id}", table, "must map question ids to metrics"
            )
        mapped: dict[str, QuestionMapping] = {}
        for question, spec in table.items():
            question_id = str(question).strip()
            if not _SURVEY_ID.fullmatch(question_id):
                raise ValidationError(
                    f"questions.{survey_id}", question, "question ids are numeric"
                )
            mapped[question_id] = _mapping(spec, f"questions.{survey_id}.{question_id}")
        out[survey_id] = mapped
    return out


def _identity_variables(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(
            "identity_variables", value, "must map custom variable names to identity kinds"
        )
    out: dict[str, str] = {}
    for name, kind in value.items():
        if not isinstance(name, str) or not name:
            raise ValidationError("identity_variables", name, "names must be non-empty strings")
        if not isinstance(kind, str) or not _KIND.fullmatch(kind):
            raise ValidationError(
                f"identity_variables.{name}",
                kind,
                "must be 'email', 'phone' or a lower-case '<source>:<id-type>'",
            )
        out[name] = kind
    return out


def _rate_limit(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None:  # None: no pacing
        check_rate_limit(instance, attribute, value)


@attrs.frozen(kw_only=True)
class SurveyMonkeyConfig:
    """Settings of the ``surveymonkey`` connector.

    Attributes:
        token: An access token (a private app's, or one from the OAuth flow) with the
            ``surveys_read`` and ``responses_read_detail`` scopes; never printed.
        surveys: The ids of the surveys to read; one id or a list.
        questions: Which questions are scores: ``{survey id: {question id: metric}}``, the
            metric ``"nps"``, ``"csat"``, ``"ces"``, ``"rating"``, or ``{"metric": ...,
            "scale": [min, max]}`` (``custom`` needs a scale).
        identity_variables: Custom variables that identify the respondent:
            ``{"custvar_email": "email", "customer_id": "shop:customer"}``.
        status: Read only responses with this ``response_status`` (``None``: all).
        start: On the first sync (and a full refresh), read responses modified at or after
            this ISO time; ``None`` reads them all.
        account: The SurveyMonkey account (user or team id), to key the sync state. Without
            it the state is keyed on a fingerprint of the token, so a new token starts over.
        source: The interactions' ``source``. Response ids are SurveyMonkey's, unique across
            accounts, so one source serves every survey; never change it afterwards.
        base_url: The API's root; ``https://api.eu.surveymonkey.com/v3`` for EU accounts,
            ``https://api.surveymonkey.ca/v3`` for Canadian ones.
        per_page: Responses per page (the bulk endpoint allows at most 100).
        rate_limit: Requests per second (SurveyMonkey allows 120 a minute), a shared
            :class:`~cxm.connectors.http.RateLimiter`, or ``None`` for no pacing.
        transport: An ``httpx`` transport, for tests (``httpx.MockTransport``).
        retry: How failed requests are retried.
    """

    token: Secret = attrs.field(converter=secret, repr=False)
    surveys: tuple[str, ...] = attrs.field(converter=_surveys)
    questions: dict[str, dict[str, QuestionMapping]] = attrs.field(
        factory=dict, converter=_questions, hash=False
    )
    identity_variables: dict[str, str] = attrs.field(
        factory=dict, converter=_identity_variables, hash=False
    )
    status: str | None = attrs.field(default="completed")
    start: str | None = attrs.field(default=None, converter=attrs.converters.optional(iso_time))
    account: str | None = None
    source: str = attrs.field(default=NAME, validator=check_source)
    base_url: str = attrs.field(default=DEFAULT_BASE_URL, converter=http_url)
    per_page: int = attrs.field(default=100, validator=int_between(1, 100))
    rate_limit: float | RateLimiter | None = attrs.field(default=2.0, validator=_rate_limit)
    transport: httpx.BaseTransport | None = attrs.field(default=None, repr=False)
    retry: RetryPolicy | None = None

    @questions.validator
    def _known_surveys(self, attribute: Any, value: dict[str, Any]) -> None:
        unknown = sorted(set(value) - set(self.surveys))
        if unknown:
            raise ValidationError("questions", unknown, "maps surveys not listed in 'surveys'")

    @status.validator
    def _status(self, attribute: Any, value: Any) -> None:
        if value is not None and value not in STATUSES:
            raise ValidationError("status", value, f"must be one of {', '.join(STATUSES)}")


# -- the survey's design ------------------------------------------------------------------------


@attrs.frozen
class _Choice:
    id: str
    text: str
    index: int  # place among the choices that score, from 0; -1 for an N/A choice
    weight: float | None
    is_na: bool


@attrs.frozen
class _Question:
    id: str
    heading: str
    family: str
    display_type: str | None
    choices: dict[str, _Choice]
    scored: int  # how many choices score (N/A ones do not)
    rows: dict[str, tuple[str, str | None]]  # row id -> (text, demographic type)
    others: dict[str, str]  # "other" option id -> its label


@attrs.frozen
class _Survey:
    id: str
    title: str
    questions: dict[str, _Question]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


def _question(raw: Any) -> _Question:
    vendor = f"{NAME}.details.pages.questions"
    question_id = str(pick(raw, "id", _ID, vendor=vendor))
    answers = pick(raw, "answers", dict, vendor=vendor, default={})
    listed = [c for c in answers.get("choices") or [] if isinstance(c, dict)]
    # Choices come in display order; ``position`` (1-based) says so explicitly when present.
    ordered = sorted(
        enumerate(listed),
        key=lambda pair: (
            pair[1]["position"] if _number(pair[1].get("position")) is not None else pair[0] + 1
        ),
    )
    choices: dict[str, _Choice] = {}
    scored = 0
    for _, choice in ordered:
        is_na = bool(choice.get("is_na", False))
        choice_id = str(pick(choice, "id", _ID, vendor=f"{vendor}.answers.choices"))
        choices[choice_id] = _Choice(
            id=choice_id,
            text=str(choice.get("text") or ""),
            index=-1 if is_na else scored,
            weight=_number(choice.get("weight")),
            is_na=is_na,
        )
        scored += 0 if is_na else 1
    rows = {
        str(row["id"]): (str(row.get("text") or ""), row.get("type"))
        for row in answers.get("rows") or []
        if isinstance(row, dict) and row.get("id") is not None
    }
    other = answers.get("other")
    others = {
        str(item["id"]): str(item.get("text") or "")
        for item in (other if isinstance(other, list) else [other])
        if isinstance(item, dict) and item.get("id") is not None
    }
    return _Question(
        id=question_id,
        heading=pick(raw, "headings.0.heading", str, vendor=vendor, default=""),
        family=pick(raw, "family", str, vendor=vendor),
        display_type=pick(raw, "display_options.display_type", str, vendor=vendor, default=None),
        choices=choices,
        scored=scored,
        rows=rows,
        others=others,
    )


def _survey(details: Any, mapping: Mapping[str, QuestionMapping]) -> _Survey:
    """Index a ``/surveys/{id}/details`` answer by question id; check the mapping against it."""
    vendor = f"{NAME}.details"
    survey_id = str(pick(details, "id", _ID, vendor=vendor))
    questions: dict[str, _Question] = {}
    for page in pick(details, "pages", list, vendor=vendor):
        for raw in pick(page, "questions", list, vendor=f"{vendor}.pages", default=[]):
            question = _question(raw)
            questions[question.id] = question
    for question_id, spec in mapping.items():
        field = f"{NAME}.questions.{survey_id}.{question_id}"
        found = questions.get(question_id)
        if found is None:
            raise ValidationError(field, question_id, "no such question in the survey's details")
        if found.family not in _SCORED_FAMILIES:
            raise ValidationError(field, found.family, "a question of this family has no score")
        if spec.metric == "nps" and found.choices and found.scored != 11:
            raise ValidationError(field, found.scored, "an NPS question needs 11 choices (0 to 10)")
    return _Survey(
        id=survey_id,
        title=pick(details, "title", str, vendor=vendor, default="") or f"Survey {survey_id}",
        questions=questions,
    )


# -- the connector ------------------------------------------------------------------------------


def _quota_wait(headers: Any) -> float | None:
    """The wait SurveyMonkey's own headers announce, for a 429 without ``Retry-After``.

    SurveyMonkey reports its quota in ``X-Ratelimit-App-Global-{Minute,Day}-{Remaining,Reset}``
    (reset in seconds). A spent daily quota waits for the day's reset, which is longer than the
    retry policy's ``max_retry_after``, so the sync stops with a RateLimitedError saying when to
    come back instead of hammering the API.
    """

    def number(name: str) -> int | None:
        value = headers.get(f"x-ratelimit-app-global-{name}", "").strip()
        return int(value) if value.isdigit() else None

    if number("day-remaining") == 0 and number("day-reset") is not None:
        return number("day-reset")
    return number("minute-reset")


class SurveyMonkeyConnector(Connector):
    """Responses to SurveyMonkey surveys, with mapped questions as NPS, CSAT, CES or ratings."""

    name = NAME
    summary = "SurveyMonkey survey responses, with NPS/CSAT/CES questions as feedback"
    Config = SurveyMonkeyConfig
    config: SurveyMonkeyConfig

    def __init__(self, config: Any = None, /, **options: Any) -> None:
        super().__init__(config, **options)
        rate = self.config.rate_limit
        # One limiter for every request of this instance: SurveyMonkey counts per app.
        self._limiter = rate if isinstance(rate, RateLimiter) or rate is None else RateLimiter(rate)
        self._surveys: dict[str, _Survey] = {}

    @property
    def state_key(self) -> str:
        """``surveymonkey:<account>``, or ``surveymonkey:token-<fingerprint>`` without one.

        The marks are kept per survey inside the stream's cursor, so adding a survey keeps the
        others' marks and reads the new one from ``start``.
        """
        if self.config.account:
            return f"{NAME}:{self.config.account}"[:128]
        token = self.config.token.reveal().encode()
        return f"{NAME}:token-{hashlib.sha256(token).hexdigest()[:16]}"

    def _client(self) -> HttpClient:
        config = self.config
        policy = config.retry if config.retry is not None else RetryPolicy()
        return HttpClient(
            config.base_url,
            auth=BearerAuth(config.token),
            transport=config.transport,
            retry=attrs.evolve(policy, wait_hint=_quota_wait),
            rate_limit=self._limiter,
            connector=self.name,
            secrets=self.secrets(),
        )

    def check(self) -> None:
        """Read the first survey's summary (``GET /surveys/{id}``): one cheap request."""
        with self._client() as client:
            client.get_json(f"/surveys/{self.config.surveys[0]}")

    def streams(self) -> list[Stream]:
        """Return the one stream, ``responses``."""
        return [
            Stream(
                name="responses",
                read=self.read_responses,
                parse=self.parse_response,
                description="survey responses, oldest change first, with mapped scores",
            )
        ]

    # -- reading ------------------------------------------------------------------------------

    def read_responses(self, cursor: Any) -> Iterator[Any]:
        """Yield each survey's responses modified since its mark, with checkpoints.

        The cursor is ``{"surveys": {"<survey id>": "<date_modified>", ...}}``. Each survey's
        design is fetched first and kept for :meth:`parse_response`.
        """
        marks: dict[str, str] = dict((cursor or {}).get("surveys") or {})
        with self._client() as client:
            for survey_id in self.config.surveys:
                details = client.get_json(f"/surveys/{survey_id}/details", stream="responses")
                self._surveys[survey_id] = _survey(
                    details, self.config.questions.get(survey_id, {})
                )
                yield from self._survey_responses(client, survey_id, marks)
                yield Checkpoint({"surveys": dict(marks)})

    def _survey_responses(
        self, client: HttpClient, survey_id: str, marks: dict[str, str]
    ) -> Iterator[Any]:
        mark = marks.get(survey_id) or self.config.start
        since = _time(mark, "cursor") if mark else None
        page = 1
        previous: list[Any] = []
        while True:
            params: dict[str, Any] = {
                "per_page": self.config.per_page,
                "page": page,
                "sort_by": "date_modified",
                "sort_order": "ASC",
            }
            if self.config.status is not None:
                params["status"] = self.config.status
            if since is not None:
                # One second early: the bound may be exclusive, and dates have whole seconds.
                earlier = (since - timedelta(seconds=1)).astimezone(UTC)
                params["start_modified_at"] = earlier.strftime(_QUERY_TIME)
            body = client.get_json(
                f"/surveys/{survey_id}/responses/bulk", params=params, stream="responses"
            )
            found = pick(body, "data", list, vendor=NAME)
            if page > 1 and found == previous:
                raise UpstreamError(
                    f"page {page} of survey {survey_id}'s responses is the same as page "
                    f"{page - 1}; the API is not paging, stopping instead of looping",
                    connector=self.name,
                    stream="responses",
                )
            previous = found
            newest, newest_text = since, None
            for response in found:
                yield {"survey_id": survey_id, "response": response}
                modified = _modified(response)
                if modified is not None and (newest is None or modified[0] > newest):
                    newest, newest_text = modified
            if newest_text is not None:
                marks[survey_id] = newest_text
                yield Checkpoint({"surveys": dict(marks)})
            following = pick(body, "links.next", str, vendor=NAME, default=None)
            if not found or not following:
                return
            if newest_text is not None:
                since, page = newest, 1  # ask again from the new mark
            else:
                page += 1  # a whole page within the mark's second: step past it

    # -- parsing ------------------------------------------------------------------------------

    def parse_response(self, item: Mapping[str, Any]) -> Interaction:
        """Turn one response (with its survey id) into a ``survey_response`` interaction."""
        survey_id = item["survey_id"]
        return _interaction(
            item["response"],
            self._surveys[survey_id],
            questions=self.config.questions.get(survey_id, {}),
            identity_variables=self.config.identity_variables,
            source=self.source,
        )


def response_interaction(
    response: Any,
    details: Any,
    *,
    questions: Mapping[str, Any] | None = None,
    identity_variables: Mapping[str, str] | None = None,
    source: str = NAME,
) -> Interaction:
    """Turn one bulk response into an interaction, reading its answers through the survey design.

    Args:
        response: One item of ``GET /surveys/{id}/responses/bulk``'s ``data``.
        details: The survey's ``GET /surveys/{id}/details`` answer.
        questions: ``{question id: metric}`` for the questions that are scores (see
            :class:`SurveyMonkeyConfig`).
        identity_variables: ``{custom variable: identity kind}``.
        source: The interaction's ``source``.

    Returns:
        An inbound ``survey_response`` on the ``survey`` channel, touchpoint the survey's
        title, with one :class:`~cxm.Feedback` per answered row of each mapped question.

    Raises:
        ValidationError: Naming the field, when one is missing or malformed, or when an answer
            names a choice the design does not have.

    Examples:
        >>> details = {"id": "405", "title": "After your order", "pages": [{"id": "7",
        ...     "questions": [
        ...         {"id": "81", "family": "matrix", "subtype": "rating",
        ...          "headings": [{"heading": "How likely are you to recommend us?"}],
        ...          "answers": {"rows": [{"id": "90", "text": ""}], "choices": [
        ...              {"id": str(300 + n), "position": n + 1, "text": str(n)}
        ...              for n in range(11)]}},
        ...         {"id": "82", "family": "open_ended", "subtype": "essay",
        ...          "headings": [{"heading": "Why?"}]}]}]}
        >>> response = {"id": "1001", "survey_id": "405", "collector_id": "55",
        ...     "date_created": "2026-03-01T09:00:00+00:00",
        ...     "date_modified": "2026-03-01T09:05:00+00:00", "response_status": "completed",
        ...     "custom_variables": {}, "email_address": "ann@example.com",
        ...     "pages": [{"id": "7", "questions": [
        ...         {"id": "81", "answers": [{"choice_id": "309", "row_id": "90"}]},
        ...         {"id": "82", "answers": [{"text": "Fast delivery"}]}]}]}
        >>> found = response_interaction(response, details, questions={"81": "nps"})
        >>> found.feedback[0].metric, found.feedback[0].score, found.feedback[0].comment
        (<Metric.NPS: 'nps'>, 9, 'Fast delivery')
        >>> found.touchpoint, found.identities[0].value
        ('After your order', 'ann@example.com')
    """
    mapping = {
        str(key): _mapping(value, f"questions.{key}") for key, value in (questions or {}).items()
    }
    return _interaction(
        response,
        _survey(details, mapping),
        questions=mapping,
        identity_variables=_identity_variables(identity_variables),
        source=source,
    )


def _interaction(
    response: Any,
    survey: _Survey,
    *,
    questions: Mapping[str, QuestionMapping],
    identity_variables: Mapping[str, str],
    source: str,
) -> Interaction:
    response_id = str(pick(response, "id", _ID, vendor=NAME))
    created = _time(pick(response, "date_created", str, vendor=NAME), "date_created")
    modified = _time(pick(response, "date_modified", str, vendor=NAME), "date_modified")
    custom_variables = pick(response, "custom_variables", dict, vendor=NAME, default={})
    reading = _Reading(survey, questions)
    for page in pick(response, "pages", list, vendor=NAME, default=[]):
        for raw in pick(page, "questions", list, vendor=f"{NAME}.pages", default=[]):
            vendor = f"{NAME}.pages.questions"
            question_id = str(pick(raw, "id", _ID, vendor=vendor))
            for answer in pick(raw, "answers", list, vendor=vendor, default=[]):
                if not isinstance(answer, dict):
                    raise ValidationError(f"{vendor}.answers", answer, "expected an object")
                reading.add(question_id, answer)
    comment = "\n".join(reading.texts) or None
    feedback = [
        Feedback(
            metric=score.metric,
            score=score.score,
            scale=score.scale,
            question=score.question or None,
            comment=comment,
        )
        for score in reading.scores
    ]
    identities = _identities(response, custom_variables, identity_variables, reading.contacts)
    recipient = pick(response, "recipient_id", _ID, vendor=NAME, default="")
    return Interaction(
        source=source,
        source_id=response_id,
        occurred_at=created,
        updated_at=modified,
        channel="survey",
        touchpoint=survey.title[:255],
        kind="survey_response",
        text=comment,
        identities=identities,
        feedback=feedback,
        attributes={
            "survey_id": survey.id,
            "survey_title": survey.title,
            "collector_id": _text(pick(response, "collector_id", _ID, vendor=NAME, default="")),
            "recipient_id": None if str(recipient) in ("", "0") else str(recipient),
            "response_status": pick(response, "response_status", str, vendor=NAME),
            "collection_mode": pick(response, "collection_mode", str, vendor=NAME, default=None),
            "total_time": pick(response, "total_time", int, vendor=NAME, default=None),
            "custom_value": _text(pick(response, "custom_value", str, vendor=NAME, default="")),
            "custom_variables": custom_variables,
            "answers": reading.answered,
        },
    )


@attrs.frozen
class _Score:
    metric: str
    score: float
    scale: tuple[float, float] | None
    question: str


@attrs.define
class _Reading:
    """What the answers of one response add up to, gathered question by question."""

    survey: _Survey
    mapping: Mapping[str, QuestionMapping]
    texts: list[str] = attrs.Factory(list)
    answered: list[dict[str, Any]] = attrs.Factory(list)
    scores: list[_Score] = attrs.Factory(list)
    contacts: list[tuple[str, str]] = attrs.Factory(list)

    def add(self, question_id: str, answer: dict[str, Any]) -> None:
        """Read one answer to question ``question_id``."""
        vendor = f"{NAME}.pages.questions.answers"
        question = self.survey.questions.get(question_id)
        choice_id = pick(answer, "choice_id", _ID, vendor=vendor, default=None)
        row_id = pick(answer, "row_id", _ID, vendor=vendor, default=None)
        text = pick(answer, "text", str, vendor=vendor, default=None)
        row_text, row_type = ("", None)
        if question is not None and row_id is not None:
            row_text, row_type = question.rows.get(str(row_id), ("", None))
        if question is not None and question.family in _PRIVATE_FAMILIES:
            # Contact details: an e-mail or phone row identifies the respondent, nothing more.
            if text and row_type in ("email", "phone"):
                self.contacts.append((row_type, text))
            return
        choice = _choice(question, question_id, choice_id)
        entry: dict[str, Any] = {"question_id": question_id}
        if question is not None:
            entry["question"] = question.heading
        if row_text:
            entry["row"] = row_text
        if choice is not None:
            entry["choice"] = choice.text
        elif choice_id is not None:
            entry["choice_id"] = str(choice_id)
        spec = self.mapping.get(question_id)
        # The text of an open-ended question mapped to a score is the score, not a comment.
        is_score = spec is not None and choice_id is None and answer.get("other_id") is None
        if text:
            entry["text"] = text
            shown = question is None or question.display_type not in _NOT_TEXT_DISPLAYS
            if not is_score and choice_id is None and shown:
                self.texts.append(text)  # an open answer, or an "other" comment
        self.answered.append(entry)
        if spec is None or question is None:
            return
        label = f"{question.heading}: {row_text}" if row_text else question.heading
        if choice is not None and not choice.is_na:
            value = _choice_score(spec, choice)
            self.scores.append(_Score(spec.metric, value, _scale_of(spec, question), label))
        elif is_score and text:
            value = _text_score(text, question_id)
            self.scores.append(_Score(spec.metric, value, spec.scale, label))


def _choice(question: _Question | None, question_id: str, choice_id: Any) -> _Choice | None:
    if choice_id is None or question is None:
        return None
    choice = question.choices.get(str(choice_id))
    if choice is None:
        raise ValidationError(
            f"{NAME}.pages.questions.answers.choice_id",
            choice_id,
            f"not a choice of question {question_id} in the survey's details",
        )
    return choice


def _choice_score(spec: QuestionMapping, choice: _Choice) -> float:
    if spec.metric == "nps":
        return choice.index  # the 11 choices are 0..10 in order
    if choice.weight is not None:
        return choice.weight
    return choice.index + 1


def _text_score(text: str, question_id: str) -> float:
    try:
        number = float(text.strip())
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ValidationError(
            f"{NAME}.pages.questions.answers.text",
            text,
            f"question {question_id} is mapped to a score but the answer is not a number",
        )
    return int(number) if number.is_integer() else number


def _scale_of(spec: QuestionMapping, question: _Question) -> tuple[float, float] | None:
    """The mapping's scale; for a rating without one, the range its choices span."""
    if spec.scale is not None or spec.metric != "rating":
        return spec.scale
    values = [
        c.weight if c.weight is not None else c.index + 1
        for c in question.choices.values()
        if not c.is_na
    ]
    if len(values) >= 2 and min(values) < max(values):
        return (min(values), max(values))
    return None


def _identities(
    response: Any,
    custom_variables: Mapping[str, Any],
    identity_variables: Mapping[str, str],
    contacts: list[tuple[str, str]],
) -> list[Identity]:
    candidates: list[tuple[str, Any]] = [
        ("email", pick(response, "email_address", str, vendor=NAME, default="")),
        ("email", pick(response, "metadata.contact.email.value", vendor=NAME, default="")),
        *contacts,
        *((kind, custom_variables.get(name)) for name, kind in identity_variables.items()),
    ]
    found: list[Identity] = []
    for kind, given in candidates:
        value = str(given) if isinstance(given, int) and not isinstance(given, bool) else given
        if not isinstance(value, str) or not value.strip():
            continue
        try:
            found.append(Identity(kind, value.strip()))
        except ValidationError:
            continue  # a mistyped address or a national phone number identifies nobody
    return found


def _text(value: Any) -> str | None:
    text = str(value) if value is not None else ""
    return text or None


def _moment(value: str) -> datetime:
    """Parse a SurveyMonkey date string; one without an offset is UTC (the API's convention)."""
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _time(value: str, field: str) -> datetime:
    try:
        return _moment(value)
    except ValueError:
        raise ValidationError(f"{NAME}.{field}", value, "not an ISO 8601 date string") from None


def _modified(response: Any) -> tuple[datetime, str] | None:
    """The response's ``date_modified``, parsed and as written, or ``None`` when unreadable."""
    value = response.get("date_modified") if isinstance(response, dict) else None
    if not isinstance(value, str):
        return None  # parse quarantines the response; the mark just does not move for it
    try:
        return _moment(value), value
    except ValueError:
        return None
