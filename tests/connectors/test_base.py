"""The connector API: Secret, config validation before any I/O, streams."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import attrs
import pytest

import cxm
from cxm.connectors import Connector, Secret, Stream, secret
from cxm.exceptions import ValidationError
from tests.connectors.toy import ToyConnector

KEY = "sk_live_5f2b1c"


def test_secret_never_prints(caplog: pytest.LogCaptureFixture) -> None:
    token = Secret(KEY)
    logging.getLogger("test").warning("token %s %r", token, token)
    shown = [repr(token), str(token), f"{token}", f"{token!r}", f"{token:>40}", caplog.text]
    assert all(KEY not in text for text in shown)
    assert repr(token) == "Secret('**********')"
    assert token.reveal() == KEY


def test_secret_compares_by_value_and_refuses_pickling() -> None:
    assert Secret(KEY) == Secret(KEY)
    assert Secret(KEY) != Secret(KEY + "x")
    assert Secret(Secret(KEY)).reveal() == KEY
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Secret(KEY))


@pytest.mark.parametrize("value", ["", None, 12345, b"bytes"])
def test_secret_refuses_non_strings_without_echoing_them(value: object) -> None:
    with pytest.raises(ValidationError) as raised:
        Secret(value)  # type: ignore[arg-type]
    assert raised.value.value == type(value).__name__


@attrs.frozen(kw_only=True)
class _FileConfig:
    path: Path = attrs.field(converter=Path)
    password: Secret = attrs.field(converter=secret)
    retries: int = 3
    mode: str = attrs.field(default="fast")

    @mode.validator
    def _mode(self, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in ("fast", "safe"):
            raise ValueError(f"mode must be 'fast' or 'safe', not {value!r}")


class _FileConnector(Connector):
    name = "file-thing"
    Config = _FileConfig

    def streams(self) -> list[Stream]:
        return [Stream(name="rows", read=lambda cursor: iter(()))]


def test_options_are_validated_into_the_config() -> None:
    connector = _FileConnector(path="exports/x.csv", password=KEY)
    assert connector.config.path == Path("exports/x.csv")
    assert connector.config.password.reveal() == KEY
    assert KEY not in repr(connector)
    assert connector.secrets() == [KEY]
    assert connector.state_key == "file-thing"


@pytest.mark.parametrize(
    ("options", "field", "reason"),
    [
        ({"password": KEY}, "file-thing.path", "is required"),
        ({"path": "x", "password": KEY, "retry": 2}, "file-thing.retry", "unknown option"),
        ({"path": "x", "password": ""}, "file-thing.password", "non-empty string"),
        ({"path": "x", "password": KEY, "retries": "3"}, "file-thing.retries", "must be int"),
        ({"path": "x", "password": KEY, "mode": "slow"}, "file-thing.mode", "'fast' or 'safe'"),
    ],
)
def test_config_errors_name_the_option(options: dict[str, object], field: str, reason: str) -> None:
    with pytest.raises(ValidationError) as raised:
        _FileConnector(**options)
    assert raised.value.field == field
    assert reason in str(raised.value)
    assert KEY not in str(raised.value)


def test_a_config_instance_can_be_passed_instead_of_options() -> None:
    config = _FileConfig(path=Path("a.csv"), password=Secret(KEY))
    assert _FileConnector(config).config is config
    with pytest.raises(ValidationError, match="must be a _FileConfig"):
        _FileConnector(ToyConnector.Config())
    with pytest.raises(TypeError, match="not both"):
        _FileConnector(config, retries=2)


def test_stream_lookup_and_names() -> None:
    connector = ToyConnector()
    assert connector.stream("orders").description == "Orders, one per number"
    with pytest.raises(ValidationError, match="no such stream; streams: orders, contacts"):
        connector.stream("refunds")
    with pytest.raises(ValidationError, match=r"Stream\.name"):
        Stream(name="Bad Name", read=lambda cursor: iter(()))


def test_options_lists_every_setting_with_whether_it_is_required() -> None:
    options = {name: (required, kind) for name, required, kind in _FileConnector.options()}
    assert options["path"] == (True, "Path")
    assert options["retries"] == (False, "int")
    assert options["password"][0] is True


def test_connector_without_attrs_config_is_a_programming_error() -> None:
    class _NoConfig(Connector):
        name = "no-config"
        Config = dict

    with pytest.raises(TypeError, match="must be an attrs class"):
        _NoConfig()


def test_check_is_where_credentials_are_tried() -> None:
    with pytest.raises(cxm.AuthError, match="toy: the token was refused"):
        ToyConnector(token="wrong").check()
