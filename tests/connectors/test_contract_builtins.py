"""Every built-in connector passes the connector contract (``cxm.testing``).

Each class below points the contract at a fake source the connector reads like a real one:
files written to ``tmp_path`` for csv, jsonl, mbox and eml; a real Dovecot server on loopback
for imap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from cxm.connectors.imap import ImapConnector
from cxm.connectors.mail import EmlConnector, MboxConnector
from cxm.testing import ConnectorContract
from tests.connectors import dovecot as fixtures
from tests.connectors import mail_samples as samples
from tests.connectors.dovecot import DovecotAccount
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
