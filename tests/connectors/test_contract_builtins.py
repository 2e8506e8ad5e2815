"""Every built-in connector passes the connector contract (``cxm.testing``).

Each class below points the contract at a fake source the connector reads like a real one:
files written to ``tmp_path`` for csv, jsonl, mbox and eml; a real Dovecot server on loopback
for imap.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from cxm.connectors.files import CsvConnector, JsonlConnector
from cxm.connectors.imap import ImapConnector
from cxm.connectors.mail import EmlConnector, MboxConnector
from cxm.testing import ConnectorContract
from tests.connectors import dovecot as fixtures
from tests.connectors import mail_samples as samples
from tests.connectors.dovecot import DovecotAccount
from tests.connectors.test_files import HEADER, JSON_MAPPING, MAPPING, order_line
from tests.connectors.test_mail import write_mbox

dovecot_server = fixtures.dovecot_server
dovecot = fixtures.dovecot

MAIL = [
    samples.THUNDERBIRD,
    samples.LATIN1,
    samples.OUTLOOK_HTML,
    samples.REPLY,
    samples.FOLLOW_UP,
    samples.BROADCAST,
    samples.BAD_SENDER,
]
SHOP = {"own_domains": ["shop.example"]}


class TestCsvContract(ConnectorContract):
    connector_class = CsvConnector
    invalid_options: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"delimiter": ";;"}, "delimiter"),
        ({"encoding": "utf-16"}, "encoding"),
        ({"mapping": {**MAPPING, "channel": {"value": "pigeon"}}}, "mapping.channel"),
        ({"checkpoint_every": 0}, "checkpoint_every"),
    ]

    def options(self, tmp_path: Path) -> dict[str, Any]:
        path = tmp_path / "orders.csv"
        if not path.exists():
            lines = [order_line(n) for n in range(40)]
            lines[7] = order_line(7, nps="11")  # off the NPS scale: quarantined
            lines[19] = "A-19,not a date,c19@example.com,9,fine\n"
            path.write_text(HEADER + "".join(lines))
        return {"path": str(path), "mapping": MAPPING, "checkpoint_every": 3}


class TestJsonlContract(ConnectorContract):
    connector_class = JsonlConnector
    invalid_options: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"mapping": {**JSON_MAPPING, "source_id": ""}}, "mapping.source_id"),
    ]

    def options(self, tmp_path: Path) -> dict[str, Any]:
        path = tmp_path / "reviews.jsonl"
        if not path.exists():
            lines = [
                json.dumps(
                    {
                        "id": f"r{n}",
                        "at": f"2025-04-{1 + n % 28:02d}T10:00:00+00:00",
                        "body": f"review {n}",
                        "author": {"email": f"a{n % 9}@example.com"},
                        "stars": 1 + n % 5,
                    }
                )
                for n in range(30)
            ]
            lines[4] = "{not json"
            lines[12] = json.dumps({"id": "r12", "at": "2025-04-01T10:00:00+00:00", "stars": 9})
            path.write_text("\n".join(lines) + "\n")
        return {"path": str(path), "mapping": JSON_MAPPING, "checkpoint_every": 4}


class TestMboxContract(ConnectorContract):
    connector_class = MboxConnector
    invalid_options: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"checkpoint_every": 0}, "checkpoint_every"),
        ({"own_domains": ["not a domain"]}, "own_domains"),
    ]

    def options(self, tmp_path: Path) -> dict[str, Any]:
        path = tmp_path / "support.mbox"
        if not path.exists():
            write_mbox(path, MAIL)
        return {"path": str(path), "checkpoint_every": 2, **SHOP}


class TestEmlContract(ConnectorContract):
    connector_class = EmlConnector
    invalid_options: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"checkpoint_every": -1}, "checkpoint_every"),
    ]

    def options(self, tmp_path: Path) -> dict[str, Any]:
        folder = tmp_path / "eml"
        if not folder.exists():
            folder.mkdir()
            for number, raw in enumerate(MAIL):
                (folder / f"{number:03d}.eml").write_bytes(raw)
        return {"path": str(folder), "checkpoint_every": 2, **SHOP}


class TestImapContract(ConnectorContract):
    connector_class = ImapConnector
    invalid_options: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"security": "tls-please"}, "security"),
        ({"security": "none", "host": "mail.example.com"}, "security"),
        ({"folders": []}, "folders"),
    ]
    account: DovecotAccount

    @pytest.fixture(autouse=True)
    def _mailbox(self, dovecot: DovecotAccount) -> None:
        dovecot.create("Sent")
        for raw in MAIL[:4]:
            dovecot.append(raw)
        for raw in MAIL[4:]:
            dovecot.append(raw, "Sent")
        self.account = dovecot

    def options(self, tmp_path: Path) -> dict[str, Any]:
        return self.account.options("ssl", folders=["INBOX", "Sent"], batch=2, **SHOP)
