"""The connector contract: a test suite any connector runs in its own CI.

Subclass :class:`ConnectorContract` in a test module, say which connector it tests and how to
build one against a fake source (files in ``tmp_path``, an ``httpx.MockTransport``), and pytest
collects a dozen tests that every cxm connector must pass: options validated before any I/O,
``check()`` passes, what the streams yield is valid, a second sync adds nothing, a sync
interrupted anywhere resumes to exactly the uninterrupted result, a full refresh does not
duplicate, secrets never reach a repr, a log line or an error, and HTTP failures map to cxm's
errors. Every built-in connector passes it.

```python
from cxm.testing import ConnectorContract

class TestHelpdeskContract(ConnectorContract):
    connector_class = HelpdeskConnector

    def options(self, tmp_path):
        return {"base_url": "https://helpdesk.test", "token": "t0k3n",
                "transport": httpx.MockTransport(fake_helpdesk)}

    def failing_options(self, tmp_path, status):
        return {"base_url": "https://helpdesk.test", "token": "t0k3n",
                "transport": httpx.MockTransport(lambda request: httpx.Response(status))}
```

This module needs pytest, which a test suite has anyway.
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import io
import json
import logging
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pandas as pd
import pytest

from cxm.connectors.base import Checkpoint, Connector, Rejected, Stream
from cxm.exceptions import (
    AuthError,
    ConnectorError,
    RateLimitedError,
    UpstreamError,
    ValidationError,
)
from cxm.model import CustomerRecord, Interaction
from cxm.workspace import Workspace

__all__ = ["ConnectorContract", "Interrupted", "interrupted", "no_io", "store_snapshot"]

_HTTP_ERRORS: dict[int, type[ConnectorError]] = {
    401: AuthError,
    403: AuthError,
    429: RateLimitedError,
    500: UpstreamError,
    503: UpstreamError,
}


class _IOAttempted(AssertionError):
    """The connector touched a file or the network while it was being configured."""


@contextmanager
def no_io() -> Iterator[None]:
    """Fail the enclosed code if it opens a file or a network connection.

    Used to prove that a connector validates its options before any I/O.
    """

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise _IOAttempted(f"I/O attempted while building the connector: {args[:1]!r}")

    saved = (builtins.open, io.open, socket.socket.connect, socket.create_connection)
    builtins.open = refuse
    io.open = refuse
    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse
    try:
        yield
    finally:
        builtins.open, io.open, socket.socket.connect, socket.create_connection = saved  # type: ignore[method-assign]


class Interrupted(BaseException):
    """Raised out of a stream to simulate a sync killed half-way.

    A ``BaseException``, like ``KeyboardInterrupt``, so the engine does not treat it as a
    failed stream: nothing more is written, exactly as when the process dies.
    """


def interrupted(connector: Connector, after: int) -> Connector:
    """Return a copy of ``connector`` with every stream cut off after ``after`` items.

    The stream raises :class:`Interrupted` once it has yielded that many items; the sync stops
    there and leaves the database as a process killed at that instant would.
    """
    connector = copy.copy(connector)  # the caller's connector stays as it was
    original = connector.streams

    def cut(stream: Stream) -> Stream:
        def read(cursor: Any) -> Iterator[Any]:
            for count, item in enumerate(stream.read(cursor)):
                if count >= after:
                    raise Interrupted(f"interrupted after {after} items")
                yield item

        return attrs.evolve(stream, read=read)

    def streams() -> list[Stream]:
        return [cut(stream) for stream in original()]

    connector.streams = streams  # type: ignore[method-assign]
    return connector


def store_snapshot(workspace: Workspace) -> dict[str, Any]:
    """Return what a workspace holds, comparable across databases (ids are per database).

    Returns:
        ``interactions``, ``feedback`` and ``quarantined`` frames without database ids, sorted;
        ``customers``: the sorted identity sets of the customers.
    """
    interactions = workspace.interactions(attributes=True).drop(
        columns=["interaction_id", "customer_id"]
    )
    feedback = workspace.feedback().drop(columns=["interaction_id", "customer_id"])
    quarantined = workspace.quarantined()[["source", "stream", "reason", "raw"]]
    customers = workspace.customers()
    identity_columns = [c for c in ("email", "phone") if c in customers.columns]
    people = sorted(
        tuple(str(row[c]) for c in identity_columns)
        for _, row in customers[identity_columns].iterrows()
    )

    def ordered(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.astype(str)
        return frame.sort_values(list(frame.columns)).reset_index(drop=True)

    return {
        "interactions": ordered(interactions),
        "feedback": ordered(feedback),
        "quarantined": ordered(quarantined),
        "customers": people,
    }


class ConnectorContract:
    """Tests every connector must pass; subclass it in your test suite.

    Attributes:
        connector_class: The connector under test.
        invalid_options: ``(options to merge into the valid ones, field named in the error)``
            pairs, e.g. ``({"base_url": "ftp://x"}, "base_url")``.
        incremental: Whether the connector saves a cursor for each stream (default). Set
            ``False`` for a connector that always reads everything.
        interruptions: After how many items of each stream the resume test cuts a sync off.
    """

    connector_class: ClassVar[type[Connector]]
    invalid_options: ClassVar[list[tuple[dict[str, Any], str]]] = []
    incremental: ClassVar[bool] = True
    interruptions: ClassVar[tuple[int, ...]] = (1, 2, 5, 11)

    # -- what a subclass provides ---------------------------------------------------------

    def options(self, tmp_path: Path) -> dict[str, Any]:
        """Return options of a working connector against a fake source holding some records.

        The fake source must be deterministic: every call returns the same records.
        """
        raise NotImplementedError("ConnectorContract.options() must be overridden")

    def failing_options(self, tmp_path: Path, status: int) -> dict[str, Any] | None:
        """Return options whose fake HTTP source answers every request with ``status``.

        Return ``None`` (the default) for a connector that does not speak HTTP; the HTTP tests
        are then skipped. Configure retries not to wait (tests must not sleep).
        """
        return None

    # -- helpers --------------------------------------------------------------------------

    def make(self, tmp_path: Path, **overrides: Any) -> Connector:
        """Build the connector from :meth:`options` with ``overrides`` merged in."""
        return self.connector_class(**{**self.options(tmp_path), **overrides})

    @pytest.fixture
    def workspace(self, tmp_path: Path) -> Iterator[Workspace]:
        """A fresh SQLite workspace."""
        ws = Workspace.open(tmp_path / "contract.db")
        try:
            yield ws
        finally:
            ws.close()

    def _secrets(self, tmp_path: Path) -> list[str]:
        return [s for s in self.make(tmp_path).secrets() if len(s) >= 4]

    # -- the contract ---------------------------------------------------------------------

    def test_connector_is_named_and_documented(self) -> None:
        """The class has a kebab-case name, a summary and an attrs Config."""
        connector_class = self.connector_class
        assert connector_class.name, "set Connector.name"
        assert connector_class.summary or connector_class.__doc__, "give a summary or docstring"
        assert attrs.has(connector_class.Config), "Config must be an attrs class"

    def test_options_are_validated_before_any_io(self, tmp_path: Path) -> None:
        """Building the connector opens no file and no connection."""
        options = self.options(tmp_path)
        with no_io():
            connector = self.connector_class(**options)
        assert isinstance(connector, self.connector_class)

    def test_unknown_and_missing_options_are_refused_by_name(self, tmp_path: Path) -> None:
        """An unknown option and each missing required one raise ValidationError naming it."""
        options = self.options(tmp_path)
        name = self.connector_class.name
        with pytest.raises(ValidationError) as raised:
            self.connector_class(**options, no_such_option_xyz=1)
        assert raised.value.field == f"{name}.no_such_option_xyz"
        for option, required, _kind in self.connector_class.options():
            if not required or option not in options:
                continue
            partial = {k: v for k, v in options.items() if k != option}
            with pytest.raises(ValidationError) as raised:
                self.connector_class(**partial)
            assert raised.value.field == f"{name}.{option}"

    def test_invalid_options_name_the_option(self, tmp_path: Path) -> None:
        """Each of :attr:`invalid_options` raises ValidationError naming its field."""
        if not self.invalid_options:
            pytest.skip("no invalid_options given")
        name = self.connector_class.name
        for bad, field in self.invalid_options:
            with pytest.raises(ValidationError) as raised:
                self.connector_class(**{**self.options(tmp_path), **bad})
            assert raised.value.field == f"{name}.{field}", (bad, raised.value)

    def test_check_passes_against_the_fake_source(self, tmp_path: Path) -> None:
        """``check()`` succeeds (returns None) with working options."""
        self.make(tmp_path).check()  # raises if the source cannot be reached

    def test_streams_yield_valid_records(self, tmp_path: Path) -> None:
        """Streams have unique names and yield records, checkpoints and rejections only."""
        connector = self.make(tmp_path)
        streams = connector.streams()
        assert streams, "a connector has at least one stream"
        assert len({s.name for s in streams}) == len(streams), "stream names must be unique"
        records = 0
        for stream in streams:
            for item in stream.read(None):
                if isinstance(item, Checkpoint):
                    json.dumps(item.cursor, allow_nan=False)  # must be JSON
                elif isinstance(item, Rejected):
                    assert item.reason, "a rejection says why"
                elif isinstance(item, (Interaction, CustomerRecord)):
                    records += 1
                else:
                    assert stream.parse is not None or isinstance(item, Mapping), (
                        f"stream {stream.name} yielded {type(item).__name__}"
                    )
                    records += 1
        assert records > 0, "the fake source should hold at least one record"

    def test_first_sync_stores_records_and_second_adds_nothing(
        self, tmp_path: Path, workspace: Workspace
    ) -> None:
        """A second sync of an unchanged source adds, updates and quarantines nothing new."""
        first = workspace.sync(self.make(tmp_path))
        assert first.ok, str(first)
        assert first.new > 0
        stored = store_snapshot(workspace)
        second = workspace.sync(self.make(tmp_path))
        assert second.ok, str(second)
        assert (second.new, second.updated) == (0, 0), str(second)
        _assert_same(store_snapshot(workspace), stored, "after a second sync")
        if self.incremental:
            state = workspace.sync_state(self.make(tmp_path))
            assert set(state["stream"]) == {s.stream for s in first.streams}, (
                "an incremental connector saves a cursor for every stream"
            )

    def test_interrupted_sync_resumes_to_the_same_result(
        self, tmp_path: Path, workspace: Workspace
    ) -> None:
        """A sync cut off after n items, then run again, stores what one full sync stores."""
        reference = Workspace.open(tmp_path / "reference.db")
        try:
            assert reference.sync(self.make(tmp_path)).ok
            expected = store_snapshot(reference)
        finally:
            reference.close()
        for after in self.interruptions:
            run = Workspace.open(tmp_path / f"interrupted-{after}.db")
            try:
                with contextlib.suppress(Interrupted):
                    run.sync(interrupted(self.make(tmp_path), after), batch_size=3)
                finished = run.sync(self.make(tmp_path), batch_size=3)
                assert finished.ok, str(finished)
                _assert_same(store_snapshot(run), expected, f"interrupted after {after} items")
            finally:
                run.close()

    def test_full_refresh_does_not_duplicate(self, tmp_path: Path, workspace: Workspace) -> None:
        """A full refresh re-reads everything and stores nothing twice."""
        assert workspace.sync(self.make(tmp_path)).ok
        stored = store_snapshot(workspace)
        refreshed = workspace.sync(self.make(tmp_path), full_refresh=True)
        assert refreshed.ok, str(refreshed)
        assert refreshed.new == 0, str(refreshed)
        _assert_same(store_snapshot(workspace), stored, "after a full refresh")

    def test_secrets_never_appear_in_reprs_logs_or_reports(
        self, tmp_path: Path, workspace: Workspace, caplog: pytest.LogCaptureFixture
    ) -> None:
        """No credential in the connector's repr, its config's, the logs or the report."""
        secrets = self._secrets(tmp_path)
        if not secrets:
            pytest.skip("the connector has no Secret options")
        caplog.set_level(logging.DEBUG)
        connector = self.make(tmp_path)
        report = workspace.sync(connector)
        shown = [repr(connector), repr(connector.config), str(report), report._repr_html_()]
        shown.append(caplog.text)
        for secret in secrets:
            for text in shown:
                assert secret not in text

    @pytest.mark.parametrize("status", sorted(_HTTP_ERRORS))
    def test_http_errors_map_to_cxm_errors(
        self,
        tmp_path: Path,
        workspace: Workspace,
        caplog: pytest.LogCaptureFixture,
        status: int,
    ) -> None:
        """401/403 become AuthError, 429 RateLimitedError, 5xx UpstreamError; no secret shown."""
        options = self.failing_options(tmp_path, status)
        if options is None:
            pytest.skip("not an HTTP connector (failing_options returns None)")
        caplog.set_level(logging.DEBUG)
        expected = _HTTP_ERRORS[status]
        connector = self.connector_class(**options)
        with pytest.raises(expected) as raised:
            connector.check()
        errors: list[BaseException] = [raised.value]
        report = workspace.sync(self.connector_class(**options))
        assert not report.ok, "a source failing every request cannot sync"
        for stream in report.failed:
            assert isinstance(stream.exception, expected), stream.exception
            errors.append(stream.exception)
        secrets = [s for s in self.connector_class(**options).secrets() if len(s) >= 4]
        for error in errors:
            assert isinstance(error, ConnectorError)
            assert error.connector == self.connector_class.name
            for secret in secrets:
                assert secret not in str(error)
                assert secret not in repr(error)
                assert secret not in (error.request or "")
        for secret in secrets:
            assert secret not in caplog.text


def _assert_same(got: dict[str, Any], expected: dict[str, Any], when: str) -> None:
    for name in ("interactions", "feedback", "quarantined"):
        pd.testing.assert_frame_equal(got[name], expected[name], obj=f"{name} {when}")
    assert got["customers"] == expected["customers"], f"customers {when}"
