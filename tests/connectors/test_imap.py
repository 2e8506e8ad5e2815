"""The imap connector, against a real Dovecot server on loopback (see ``dovecot.py``)."""

from __future__ import annotations

import logging
import socket
import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import cxm
from cxm.connectors import Checkpoint, Rejected
from cxm.connectors.imap import (
    ImapConnector,
    _decode_folder,
    _encode_folder,
    _fetched,
    _internaldate,
    _uid_set,
    stream_name,
)
from cxm.connectors.mail import MboxConnector, interaction_from_message
from cxm.exceptions import AuthError, ConnectorError, UpstreamError
from tests.connectors import dovecot as fixtures
from tests.connectors import mail_samples as samples
from tests.connectors.dovecot import UNICODE_USER, DovecotAccount

# The real-Dovecot fixtures (they skip, with the reason, where Dovecot is not installed).
dovecot_server = fixtures.dovecot_server
dovecot = fixtures.dovecot

SHOP = {"own_domains": ["shop.example"]}
INBOX_MAIL = [samples.THUNDERBIRD, samples.LATIN1, samples.OUTLOOK_HTML]


def records(items: list[Any]) -> list[cxm.Interaction]:
    return [item for item in items if isinstance(item, cxm.Interaction)]


def checkpoints(items: list[Any]) -> list[Any]:
    return [item.cursor for item in items if isinstance(item, Checkpoint)]


def ids(items: list[Any]) -> list[str]:
    return [record.source_id for record in records(items)]


def message_id(raw: bytes) -> str:
    return interaction_from_message(raw, received_at=datetime.now(UTC)).source_id


def account_validity(items: list[Any]) -> int:
    return int(checkpoints(items)[0]["uidvalidity"])


def connector(account: DovecotAccount, security: str = "ssl", **options: Any) -> ImapConnector:
    return ImapConnector(**account.options(security, **{**SHOP, **options}))


# -- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["ssl", "starttls", "none"])
def test_reads_a_folder_without_marking_anything_read(
    dovecot: DovecotAccount, security: str
) -> None:
    for raw in INBOX_MAIL:
        dovecot.append(raw)
    imap = connector(dovecot, security)
    imap.check()
    items = list(imap.stream("inbox").read(None))
    mails = records(items)
    assert [m.source_id for m in mails] == [message_id(raw) for raw in INBOX_MAIL]
    assert [m.attributes["subject"] for m in mails] == [
        "Reklamation \u2013 Bestellung #4417 beschädigt",
        "Problème de livraison à Besançon",
        "Terugbetaling 49,95",
    ]
    assert mails[0].attributes["attachment_names"] == ["Rechnung 4417.pdf"]
    assert mails[2].text.startswith("Goedemorgen,\n\nIk wacht nog op de terugbetaling van €49,95")
    assert {m.attributes["folder"] for m in mails} == {"INBOX"}
    assert checkpoints(items)[-1] == {"uidvalidity": dovecot.uidvalidity(), "last_uid": 3}
    # EXAMINE and BODY.PEEK[]: the customer's mail still shows as unread in the support inbox.
    flags = dovecot.flags()
    assert len(flags) == 3
    assert not [item for item in flags if b"\\Seen" in item]


def test_the_same_message_as_in_an_mbox_export_is_the_same_record(
    dovecot: DovecotAccount, tmp_path: Path
) -> None:
    dovecot.append(samples.LATIN1)
    [over_imap] = records(list(connector(dovecot).stream("inbox").read(None)))
    export = tmp_path / "export.mbox"
    export.write_bytes(
        b"From - Wed May 08 18:03:11 2024\n" + samples.LATIN1.replace(b"\r\n", b"\n") + b"\n"
    )
    [from_mbox] = records(
        list(MboxConnector(path=str(export), **SHOP).stream("messages").read(None))
    )
    assert (over_imap.source, over_imap.source_id) == (from_mbox.source, from_mbox.source_id)
    assert over_imap.text == from_mbox.text
    assert over_imap.identities == from_mbox.identities


def test_reads_only_new_messages_and_resumes_from_any_checkpoint(dovecot: DovecotAccount) -> None:
    for raw in INBOX_MAIL:
        dovecot.append(raw)
    stream = connector(dovecot, batch=2).stream("inbox")
    first = list(stream.read(None))
    validity = dovecot.uidvalidity()
    assert checkpoints(first) == [
        {"uidvalidity": validity, "last_uid": 2},
        {"uidvalidity": validity, "last_uid": 3},
    ]
    # The server answers "UID 4:*" with UID 3 (the highest, RFC 3501): it must not be re-read.
    again = list(stream.read(checkpoints(first)[-1]))
    assert records(again) == []
    assert checkpoints(again) == [{"uidvalidity": validity, "last_uid": 3}]
    for raw in (samples.FOLLOW_UP, samples.BARE, samples.BROADCAST):
        dovecot.append(raw)
    more = list(stream.read(checkpoints(first)[-1]))
    assert ids(more) == [
        message_id(raw) for raw in (samples.FOLLOW_UP, samples.BARE, samples.BROADCAST)
    ]
    assert checkpoints(more)[-1] == {"uidvalidity": validity, "last_uid": 6}
    everything = list(stream.read(None))
    for position, item in enumerate(everything):
        if isinstance(item, Checkpoint):
            assert ids(list(stream.read(item.cursor))) == ids(everything[position + 1 :])


def test_internaldate_is_the_fallback_for_a_message_without_a_date(
    dovecot: DovecotAccount,
) -> None:
    arrived = datetime(2024, 5, 11, 9, 58, 7, tzinfo=UTC)
    dovecot.append(samples.BARE, internaldate=arrived)
    [mail] = records(list(connector(dovecot).stream("inbox").read(None)))
    assert mail.occurred_at == arrived
    assert mail.attributes["date_source"] == "imap_internaldate"
    assert mail.source_id == message_id(samples.BARE)


def test_a_message_that_is_not_mail_is_quarantined_with_its_place(
    dovecot: DovecotAccount,
) -> None:
    dovecot.append(samples.LATIN1)
    dovecot.append(b"\x00\x01\x02 scanner output, not a message\r\n")
    items = list(connector(dovecot).stream("inbox").read(None))
    [rejected] = [item for item in items if isinstance(item, Rejected)]
    assert rejected.raw["position"] == "INBOX UID 2"
    assert rejected.raw["message"].endswith("scanner output, not a message\r\n")
    assert "is not an e-mail message" in rejected.reason
    assert ids(items) == [message_id(samples.LATIN1)]


def test_each_folder_is_a_stream(dovecot: DovecotAccount) -> None:
    dovecot.create("Sent")
    dovecot.create(_encode_folder("Envoyés"))
    dovecot.append(samples.THUNDERBIRD)
    dovecot.append(samples.REPLY, "Sent")
    dovecot.append(samples.LATIN1, _encode_folder("Envoyés"))
    imap = connector(dovecot, folders=["INBOX", "Sent", "Envoyés"])
    imap.check()
    streams = {stream.name: stream for stream in imap.streams()}
    assert list(streams) == ["inbox", "sent", "envoyes"]
    [reply] = records(list(streams["sent"].read(None)))
    assert reply.direction is cxm.Direction.OUTBOUND
    assert reply.attributes["folder"] == "Sent"
    [french] = records(list(streams["envoyes"].read(None)))
    assert french.attributes["folder"] == "Envoyés"
    assert french.source_id == message_id(samples.LATIN1)


def test_a_new_uidvalidity_rereads_the_folder_without_duplicates(
    dovecot: DovecotAccount, workspace: cxm.Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    dovecot.create("Support")
    for raw in INBOX_MAIL:
        dovecot.append(raw, "Support")
    imap = connector(dovecot, folders=["Support"])
    ws = workspace
    first = ws.sync(imap)
    first.raise_for_errors()
    assert first.new == 3
    old = first.stream("support").cursor_after
    assert old == {"uidvalidity": dovecot.uidvalidity("Support"), "last_uid": 3}
    # The folder is deleted and re-created (as a server migration does): UIDs start over.
    dovecot.delete("Support")
    dovecot.create("Support")
    for raw in [*INBOX_MAIL, samples.FOLLOW_UP]:
        dovecot.append(raw, "Support")
    assert dovecot.uidvalidity("Support") != old["uidvalidity"]
    with caplog.at_level(logging.WARNING, logger="cxm.connectors.imap"):
        second = ws.sync(imap)
    second.raise_for_errors()
    assert (second.new, second.updated + second.unchanged) == (1, 3)
    assert second.stream("support").cursor_after == {
        "uidvalidity": dovecot.uidvalidity("Support"),
        "last_uid": 4,
        "uidvalidity_changed_from": old["uidvalidity"],
    }
    assert "has a new UIDVALIDITY" in caplog.text
    stored = ws.interactions()
    assert sorted(stored["source_id"]) == sorted(
        message_id(raw) for raw in [*INBOX_MAIL, samples.FOLLOW_UP]
    )
    assert ws.sync(imap).new == 0


def test_a_non_ascii_password_logs_in_with_sasl_plain(dovecot: DovecotAccount) -> None:
    account = DovecotAccount(dovecot.server, *UNICODE_USER)
    # imaplib's LOGIN sends ASCII only; the connector switches to AUTHENTICATE PLAIN (UTF-8).
    items = list(connector(account).stream("inbox").read(None))
    assert checkpoints(items) == [{"uidvalidity": account_validity(items), "last_uid": 0}]
    with pytest.raises(AuthError):
        ImapConnector(**account.options(password="grüße-Ø-43")).check()


# -- errors -------------------------------------------------------------------------------------


def test_a_wrong_password_is_an_auth_error_that_never_shows_it(dovecot: DovecotAccount) -> None:
    imap = ImapConnector(**dovecot.options(password="wrong-Pa55word"))
    with pytest.raises(AuthError) as caught:
        imap.check()
    message = str(caught.value)
    assert caught.value.connector == "imap"
    assert dovecot.username in message
    assert "AUTHENTICATIONFAILED" in message
    assert "wrong-Pa55word" not in message
    assert "wrong-Pa55word" not in repr(imap)


def test_a_wrong_password_fails_each_stream_in_a_sync(
    dovecot: DovecotAccount, tmp_path: Path
) -> None:
    imap = ImapConnector(**dovecot.options(password="wrong-Pa55word", folders=["INBOX"]))
    with cxm.Workspace.open(tmp_path / "cxm.db") as ws:
        report = ws.sync(imap)
    stream = report.stream("inbox")
    assert stream.error is not None
    assert stream.error.startswith("AuthError: imap/inbox: ")
    assert "wrong-Pa55word" not in stream.error
    assert isinstance(stream.exception, AuthError)


def test_a_missing_folder_is_named_with_those_that_exist(dovecot: DovecotAccount) -> None:
    dovecot.create("Sent")
    with pytest.raises(ConnectorError) as caught:
        connector(dovecot, folders=["INBOX", "Archive"]).check()
    assert not isinstance(caught.value, (AuthError, UpstreamError))
    assert "folder 'Archive' does not exist" in str(caught.value)
    assert "'INBOX', 'Sent'" in str(caught.value)
    with pytest.raises(ConnectorError, match="folder 'Archive' does not exist"):
        list(connector(dovecot, folders=["Archive"]).stream("archive").read(None))


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_an_untrusted_certificate_is_refused(dovecot: DovecotAccount, security: str) -> None:
    options = dovecot.options(security)
    del options["ca_file"]  # the system's CAs do not know the test CA
    with pytest.raises(UpstreamError, match="is not trusted") as caught:
        ImapConnector(**options).check()
    assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)


def test_a_given_ssl_context_or_verify_false_is_used(
    dovecot: DovecotAccount, caplog: pytest.LogCaptureFixture
) -> None:
    dovecot.append(samples.LATIN1)
    options = dovecot.options()
    del options["ca_file"]
    context = ssl.create_default_context(cafile=str(dovecot.server.ca_file))
    trusted = ImapConnector(**options, ssl_context=context)
    assert ids(list(trusted.stream("inbox").read(None))) == [message_id(samples.LATIN1)]
    with caplog.at_level(logging.WARNING, logger="cxm.connectors.imap"):
        unchecked = ImapConnector(**options, verify=False)
        assert ids(list(unchecked.stream("inbox").read(None))) == [message_id(samples.LATIN1)]
    assert "certificate checks are off" in caplog.text


def test_an_unreachable_server_is_an_upstream_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        imap = ImapConnector(
            host="127.0.0.1", port=port, username="u", password="secret-pw", timeout=5
        )
        with pytest.raises(UpstreamError, match=f"cannot talk to 127.0.0.1:{port}") as caught:
            imap.check()
    assert "secret-pw" not in str(caught.value)


# -- settings -----------------------------------------------------------------------------------


def test_settings_and_state_key() -> None:
    imap = ImapConnector(
        host="imap.example.com",
        username="support@example.com",
        password="app-password",
        security="starttls",
        folders=["INBOX", "[Gmail]/Sent Mail"],
    )
    assert imap.config.resolved_port == 143
    assert imap.state_key == "imap:support@example.com@imap.example.com:143"
    assert [stream.name for stream in imap.streams()] == ["inbox", "gmail-sent-mail"]
    assert "app-password" not in repr(imap)
    assert imap.secrets() == ["app-password"]


@pytest.mark.parametrize(
    ("options", "field", "reason"),
    [
        ({"security": "none"}, "imap.security", "only to a loopback host"),
        ({"security": "tls"}, "imap.security", "must be 'ssl', 'starttls' or 'none'"),
        ({"port": 70000}, "imap.port", "must be a TCP port"),
        ({"folders": []}, "imap.folders", "at least one folder"),
        ({"folders": ["Sent", "sent"]}, "imap.folders", "would both be the stream 'sent'"),
        ({"ca_file": "/nonexistent/ca.pem"}, "imap.ca_file", "PEM file"),
        ({"batch": 0}, "imap.batch", "from 1 to 10000"),
        ({"timeout": 0}, "imap.timeout", "above 0"),
        ({"verify": "no"}, "imap.verify", "True or False"),
        ({"password": ""}, "imap.password", "non-empty string"),
        (
            {"ssl_context": ssl.create_default_context(), "verify": False},
            "imap.ssl_context",
            "not both",
        ),
    ],
)
def test_bad_settings_are_refused_by_name(options: dict[str, Any], field: str, reason: str) -> None:
    base = {"host": "mail.example.com", "username": "u", "password": "pw"}
    with pytest.raises(cxm.ValidationError) as caught:
        ImapConnector(**{**base, **options})
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_plain_text_is_allowed_to_loopback_hosts_only() -> None:
    for host in ("localhost", "127.0.0.1", "::1", "[::1]"):
        config = ImapConnector(host=host, username="u", password="p", security="none").config
        assert (config.security, config.resolved_port) == ("none", 143)
    with pytest.raises(cxm.ValidationError, match=r"not '10\.0\.0\.5'"):
        ImapConnector(host="10.0.0.5", username="u", password="p", security="none")


# -- protocol details ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("INBOX", "INBOX"),
        ("Envoyés", "Envoy&AOk-s"),
        ("Q&A", "Q&-A"),
        ("日本語", "&ZeVnLIqe-"),
        ("Sent Items/2024", "Sent Items/2024"),
    ],
)
def test_folder_names_in_modified_utf7(name: str, wire: str) -> None:
    assert _encode_folder(name) == wire
    assert _decode_folder(wire) == name


def test_uid_sets_are_compressed() -> None:
    assert _uid_set([1, 2, 3, 7, 9, 10]) == "1:3,7,9:10"
    assert _uid_set([5]) == "5"


def test_fetch_answers_are_read_whatever_the_item_order() -> None:
    data = [
        (b'1 (UID 11 INTERNALDATE "07-May-2024 09:14:52 +0200" RFC822.SIZE 5 BODY[] {5}', b"first"),
        b")",
        b"2 (FLAGS (\\Seen))",  # unsolicited: another client marked a message read
        (b"3 (BODY[] {6}", b"second"),
        b' UID 13 INTERNALDATE " 8-May-2024 18:03:11 -0000")',
        (b"4 (UID 99 BODY[] {5}", b"other"),  # not asked for
        b")",
    ]
    assert _fetched(data, {11, 13}) == [
        (11, datetime(2024, 5, 7, 7, 14, 52, tzinfo=UTC), b"first"),
        (13, datetime(2024, 5, 8, 18, 3, 11, tzinfo=UTC), b"second"),
    ]
    assert _internaldate(b'INTERNALDATE "31-Feb-2024 00:00:00 +0000"') is None


def test_stream_names() -> None:
    assert stream_name("INBOX.Support.Escalations") == "inbox-support-escalations"
    assert stream_name("Gelöschte Elemente") == "geloschte-elemente"
    assert stream_name("***") == stream_name("***")
    assert stream_name("***").startswith("folder-")
