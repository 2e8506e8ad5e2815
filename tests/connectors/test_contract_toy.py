"""The contract suite run against the toy connector, and shown to catch broken connectors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

import cxm
from cxm.connectors import Checkpoint, Stream
from cxm.testing import ConnectorContract
from tests.connectors.toy import ToyConnector


class TestToyContract(ConnectorContract):
    connector_class = ToyConnector
    invalid_options: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"orders": -1}, "orders"),
        ({"token": ""}, "token"),
    ]

    def options(self, tmp_path: Path) -> dict[str, Any]:
        return {"orders": 30, "contacts": 8, "bad_every": 7, "checkpoint_every": 4}


class _ForgetfulToy(ToyConnector):
    """Checkpoints a cursor past records it has not yielded yet: loses them on resume."""

    name = "forgetful-toy"

    def read_orders(self, cursor: Any) -> Iterator[Any]:
        start = 0 if cursor is None else int(cursor["next"])
        for i in range(start, self.config.orders):
            yield Checkpoint({"next": i + 2})
            yield self.order(i)


class _ShiftingToy(ToyConnector):
    """Gives records new ids on every read: each sync duplicates them."""

    name = "shifting-toy"
    reads = 0

    def order(self, i: int) -> cxm.Interaction:
        type(self).reads += 1
        record = super().order(i)
        return cxm.Interaction(
            **{**_fields(record), "source_id": f"o{i}-{type(self).reads}"},
        )

    def streams(self) -> list[Stream]:
        return [Stream(name="orders", read=self.read_orders)]


def _fields(record: cxm.Interaction) -> dict[str, Any]:
    import attrs

    return attrs.asdict(record, recurse=False)


def _run_contract_test(contract: ConnectorContract, name: str, tmp_path: Path) -> None:
    workspace = cxm.Workspace.open(tmp_path / "contract.db")
    try:
        getattr(contract, name)(tmp_path, workspace)
    finally:
        workspace.close()


def test_contract_catches_a_cursor_that_runs_ahead_of_the_records(tmp_path: Path) -> None:
    class Contract(TestToyContract):
        connector_class = _ForgetfulToy

    with pytest.raises(AssertionError, match="interrupted after"):
        _run_contract_test(Contract(), "test_interrupted_sync_resumes_to_the_same_result", tmp_path)


def test_contract_catches_unstable_record_ids(tmp_path: Path) -> None:
    class Contract(TestToyContract):
        connector_class = _ShiftingToy

    with pytest.raises(AssertionError, match=r"orders: 26 new"):
        _run_contract_test(Contract(), "test_full_refresh_does_not_duplicate", tmp_path)


def test_contract_catches_io_while_configuring(tmp_path: Path) -> None:
    class Eager(ToyConnector):
        name = "eager-toy"

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            Path(tmp_path / "touched").open("w").close()

    class Contract(TestToyContract):
        connector_class = Eager

    with pytest.raises(AssertionError, match="I/O attempted while building the connector"):
        Contract().test_options_are_validated_before_any_io(tmp_path)
