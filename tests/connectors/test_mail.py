"""The mail conversion (one message -> one interaction) and the mbox and eml connectors."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

import cxm
from cxm.connectors import Checkpoint, Rejected
from cxm.connectors.mail import (
    EmlConnector,
    MboxConnector,
    _eml_files,
    html_to_text,
    interaction_from_message,
)
from cxm.exceptions import ConnectorError
from tests.connectors import mail_samples as samples

SHOP = {"own_domains": ["shop.example"]}
RECEIVED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
THUNDERBIRD_ID = "5b0a6f3e-91c2-4d0e-8c1a-2f3b4c5d6e7f@kunde.example.de"


def read(raw: bytes, **options: Any) -> cxm.Interaction:
    return interaction_from_message(
        raw, received_at=RECEIVED, received_from="test", **{**SHOP, **options}
    )


def records(items: list[Any]) -> list[cxm.Interaction]:
    return [item for item in items if isinstance(item, cxm.Interaction)]


def checkpoints(items: list[Any]) -> list[Any]:
    return [item.cursor for item in items if isinstance(item, Checkpoint)]


def ids(items: list[Any]) -> list[str]:
    return [record.source_id for record in records(items)]


# -- HTML to text -------------------------------------------------------------------------------


def test_html_to_text_keeps_only_what_a_reader_sees() -> None:
    document = (
        "<html><head><title>Newsletter</title><style>p { color: red }</style></head>"
        "<body><script>track('open')</script><p>Price:&nbsp;&#8364;12 &lt;incl. VAT&gt;</p>"
        "<table><tr><td>Size</td><td>M</td></tr><tr><td>Colour</td><td>blue</td></tr></table>"
        "<p>Visit <a href='https://shop.example/x'>our shop</a>.</p></body></html>"
    )
    assert html_to_text(document) == (
        "Price: €12 <incl. VAT>\n\nSize M\nColour blue\n\nVisit our shop."
    )


def test_html_to_text_collapses_layout_white_space_but_not_line_breaks() -> None:
    document = "<div>\n   Dear   Ann,\n</div><div><br></div><div>line one<br/>line two</div>"
    assert html_to_text(document) == "Dear Ann,\n\nline one\nline two"


# -- one message --------------------------------------------------------------------------------


def test_thunderbird_multipart_with_a_pdf() -> None:
    mail = read(samples.THUNDERBIRD)
    assert mail.source == "email"
    assert mail.source_id == THUNDERBIRD_ID
    assert mail.channel is cxm.Channel.EMAIL
    assert mail.kind == "email"
    assert mail.direction is cxm.Direction.INBOUND
    assert mail.occurred_at == datetime(2024, 5, 7, 7, 14, 52, tzinfo=UTC)
    assert mail.identities == (cxm.Identity("email", "joerg.mueller@kunde.example.de"),)
    # The text/plain alternative wins; its format=flowed soft break is joined.
    assert mail.text == (
        "Guten Tag,\n\ndie Lieferung zu Bestellung #4417 kam beschädigt an. Die Rechnung liegt "
        "bei.\n\nMit freundlichen Grüßen\nJörg Müller"
    )
    attributes = mail.attributes
    assert attributes["subject"] == "Reklamation \u2013 Bestellung #4417 beschädigt"
    assert attributes["from_name"] == "Jörg Müller"
    assert attributes["to"] == ["support@shop.example"]
    assert attributes["body_type"] == "text/plain"
    assert attributes["attachments"] == 1
    assert attributes["attachment_names"] == ["Rechnung 4417.pdf"]
    assert "charset_problems" not in attributes


def test_latin1_quoted_printable_and_an_undeclared_8bit_header() -> None:
    mail = read(samples.LATIN1)
    assert mail.attributes["subject"] == "Problème de livraison à Besançon"
    assert mail.text == (
        "Bonjour,\n\nLe colis n'est pas arrivé à Besançon. Où en est la livraison ?\n\nRenée"
    )
    assert mail.attributes["from_name"] == "Renée Lefèvre"
    assert mail.identities == (cxm.Identity("email", "renee.lefevre@exemple.fr"),)
    # The Cc colleague is recorded, not made an identity of the customer.
    assert mail.attributes["cc"] == ["paul@exemple.fr"]
    assert mail.attributes["other_participants"] == ["paul@exemple.fr"]
    assert mail.attributes["charset_problems"] == ["header Cc: undeclared 8-bit bytes"]


def test_outlook_html_only_windows_1252() -> None:
    mail = read(samples.OUTLOOK_HTML)
    assert mail.attributes["body_type"] == "text/html"
    assert mail.text == (
        "Goedemorgen,\n\nIk wacht nog op de terugbetaling van €49,95 voor order 4417. Het is al "
        "3 weken & ik heb niets gehoord \u2013 kunt u\u2019t nakijken?\n\n"
        "Met vriendelijke groet,\nSanne"
    )
    # A Message-ID folded onto its own line is still the id.
    assert mail.source_id.startswith("AM0PR07MB6249D3A1")
    assert mail.source_id.endswith("@AM0PR07MB6249.eurprd07.prod.outlook.com")
    assert "charset_problems" not in mail.attributes


def test_a_reply_chain_shares_one_thread_and_one_customer() -> None:
    first, reply, follow_up = (
        read(raw) for raw in (samples.THUNDERBIRD, samples.REPLY, samples.FOLLOW_UP)
    )
    assert {m.attributes["thread_id"] for m in (first, reply, follow_up)} == {THUNDERBIRD_ID}
    assert reply.direction is cxm.Direction.OUTBOUND
    assert reply.attributes["in_reply_to"] == THUNDERBIRD_ID
    assert follow_up.attributes["in_reply_to"] == reply.source_id
    assert follow_up.attributes["references"] == [THUNDERBIRD_ID, reply.source_id]
    # Outbound: the customer is the first external recipient; the own Cc never is, and the
    # second external address is kept aside rather than merged into the customer.
    customer = cxm.Identity("email", "joerg.mueller@kunde.example.de")
    assert first.identities == reply.identities == follow_up.identities == (customer,)
    assert reply.attributes["other_participants"] == ["anna.mueller@kunde.example.de"]


@pytest.mark.parametrize(
    "own",
    [
        {"own_domains": ["shop.example"]},
        {"own_addresses": ["Lena@Shop.example", "support@shop.example"], "own_domains": []},
    ],
)
def test_own_addresses_decide_direction_and_never_become_identities(own: dict[str, Any]) -> None:
    mail = read(samples.BROADCAST, **own)
    assert mail.direction is cxm.Direction.OUTBOUND
    assert mail.identities == (cxm.Identity("email", "ann@example.org"),)
    assert mail.attributes["other_participants"] == ["bob@example.net", "carol@example.com"]
    assert mail.attributes["bcc"] == ["carol@example.com"]


def test_an_own_domain_covers_its_subdomains_but_not_lookalikes() -> None:
    template = samples.FOLLOW_UP.replace(b"Joerg.Mueller@kunde.example.de", b"{sender}")
    agent = read(template.replace(b"{sender}", b"agent@eu.shop.example"))
    lookalike = read(template.replace(b"{sender}", b"agent@evilshop.example"))
    assert agent.direction is cxm.Direction.OUTBOUND
    assert lookalike.direction is cxm.Direction.INBOUND
    assert lookalike.identities == (cxm.Identity("email", "agent@evilshop.example"),)


def test_without_own_addresses_every_message_is_inbound_from_its_sender() -> None:
    mail = interaction_from_message(samples.REPLY)
    assert mail.direction is cxm.Direction.INBOUND
    assert mail.identities == (cxm.Identity("email", "lena@shop.example"),)


def test_a_message_without_message_id_or_date() -> None:
    mail = read(samples.BARE)
    assert mail.occurred_at == RECEIVED
    assert mail.attributes["date_source"] == "test"
    assert mail.attributes["date_problem"] == "no Date header"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", mail.source_id)
    assert mail.attributes["thread_id"] == mail.source_id
    # The same message with other line ends, or with an mbox From_ line, has the same id ...
    unix = samples.BARE.replace(b"\r\n", b"\n")
    assert read(unix).source_id == mail.source_id
    assert read(b"From forms@shop.example Sat May 11 10:00:00 2024\n" + unix).source_id == (
        mail.source_id
    )
    # ... and another message another one.
    assert read(samples.BARE.replace(b"Ann", b"Bob")).source_id != mail.source_id


def test_no_date_and_nothing_to_fall_back_on_is_refused() -> None:
    with pytest.raises(cxm.ValidationError) as caught:
        interaction_from_message(samples.BARE)
    assert caught.value.field == "email.Date"
    assert "no Date header" in caught.value.reason


@pytest.mark.parametrize(
    ("date", "expected", "note"),
    [
        (b"Mon, 13 May 2024 08:30:00 -0700", datetime(2024, 5, 13, 15, 30, tzinfo=UTC), None),
        (b"13 May 2024 08:30 GMT", datetime(2024, 5, 13, 8, 30, tzinfo=UTC), None),
        (b"Mon, 13 May 2024 08:30:00", datetime(2024, 5, 13, 8, 30, tzinfo=UTC), "utc"),
        (b"yesterday at noon", RECEIVED, "fallback"),
    ],
)
def test_dates_are_aware_utc(date: bytes, expected: datetime, note: str | None) -> None:
    raw = samples.FOLLOW_UP.replace(b"Wed, 8 May 2024 08:00:00 +0200", date)
    mail = read(raw)
    assert mail.occurred_at == expected
    assert mail.occurred_at.tzinfo is UTC
    assert mail.attributes.get("date_assumed_utc", False) is (note == "utc")
    if note == "fallback":
        assert mail.attributes["date_problem"] == "unreadable Date header 'yesterday at noon'"
    else:
        assert "date_problem" not in mail.attributes


def test_an_unknown_charset_is_read_as_utf8_and_noted() -> None:
    mail = read(samples.MISLABELLED)
    assert mail.text == "café ok"
    assert mail.attributes["charset_problems"] == [
        "text/plain: unknown charset 'x-mac-unknown'; read as UTF-8"
    ]


def test_ascii_declared_but_utf8_sent() -> None:
    raw = samples.FOLLOW_UP.replace(b"charset=utf-8", b"charset=us-ascii").replace(
        b"Danke, angekommen.", b"Gr\xc3\xbc\xc3\x9fe"
    )
    mail = read(raw)
    assert mail.text == "Grüße"
    assert mail.attributes["charset_problems"] == [
        "text/plain: declares 'us-ascii' but holds 8-bit bytes; read as UTF-8"
    ]


def test_a_malformed_sender_keeps_the_message_without_an_identity() -> None:
    mail = read(samples.BAD_SENDER)
    assert mail.identities == ()
    assert mail.direction is cxm.Direction.INBOUND
    assert mail.attributes["from"] == []
    assert mail.attributes["identity_problems"] == [
        "From: 'Customer Service Team': holds a malformed address"
    ]
    assert mail.text == "na\ufffdve text"
    assert mail.attributes["charset_problems"] == [
        "text/plain: bytes not valid in utf-8; replaced by U+FFFD"
    ]


def test_an_address_the_identity_rules_refuse_is_skipped_and_noted() -> None:
    raw = samples.FOLLOW_UP.replace(b"From: Joerg.Mueller@kunde.example.de", b"From: ann@localhost")
    mail = read(raw)
    assert mail.identities == ()
    assert mail.attributes["from"] == ["ann@localhost"]
    [problem] = mail.attributes["identity_problems"]
    assert problem.startswith("From: 'ann@localhost': not a valid e-mail address")


def test_an_undeclared_latin1_subject_is_decoded() -> None:
    raw = samples.FOLLOW_UP.replace(
        b"Subject: Re: Re: Reklamation - Bestellung #4417", b"Subject: Caf\xe9 cr\xe8me"
    )
    assert read(raw).attributes["subject"] == "Café crème"


def test_what_counts_as_an_attachment() -> None:
    forwarded = EmailMessage()
    forwarded["Subject"] = "Original complaint"
    forwarded.set_content("the original")
    message = EmailMessage()
    message["From"] = "ann@example.org"
    message["To"] = "support@shop.example"
    message["Subject"] = "Fwd: complaint"
    message["Date"] = "Mon, 13 May 2024 08:30:00 +0000"
    message.set_content("see below")
    message.add_alternative(
        '<p>see below <img src="cid:logo@x"></p>', subtype="html"
    )  # becomes multipart/alternative
    html = message.get_payload()[1]
    html.add_related(b"\x89PNG...", maintype="image", subtype="png", cid="<logo@x>")
    message.add_attachment(forwarded)
    message.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="order.csv")
    mail = read(message.as_bytes())
    assert mail.text == "see below"
    # The inline logo and the HTML alternative are not attachments; the forward and CSV are.
    assert mail.attributes["attachments"] == 2
    assert mail.attributes["attachment_names"] == ["Original complaint.eml", "order.csv"]


def test_a_message_id_too_long_for_a_source_id_is_hashed() -> None:
    long_id = "x" * 300 + "@example.org"
    raw = samples.FOLLOW_UP.replace(
        b"<c3d4e5f6-0000-4000-8000-000000000003@kunde.example.de>", f"<{long_id}>".encode()
    )
    mail = read(raw)
    assert re.fullmatch(r"message-id-sha256:[0-9a-f]{64}", mail.source_id)
    assert mail.attributes["message_id"] == long_id


@pytest.mark.parametrize(
    "raw",
    [b"", b"  \r\n", b"just some prose\nwith no header at all\n", bytes(range(256)) * 4],
)
def test_bytes_that_are_not_a_message_are_refused(raw: bytes) -> None:
    with pytest.raises(cxm.ValidationError) as caught:
        read(raw)
    assert caught.value.field == "email.message"


def test_source_and_touchpoint_and_extra_attributes() -> None:
    mail = read(samples.LATIN1, source="mail-fr", touchpoint="Support inbox")
    assert (mail.source, mail.touchpoint) == ("mail-fr", "Support inbox")
    tagged = interaction_from_message(samples.LATIN1, attributes={"folder": "INBOX"})
    assert tagged.attributes["folder"] == "INBOX"


# -- mbox ---------------------------------------------------------------------------------------


def mbox_entry(raw: bytes, from_line: bytes = b"From - Tue May 07 09:14:52 2024") -> bytes:
    """One message as an mboxrd writer stores it: From_ line, escaped body, blank line."""
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    escaped = [b">" + line if re.match(rb"^>*From ", line) else line for line in lines]
    body = b"\n".join(escaped).rstrip(b"\n")
    return from_line + b"\n" + body + b"\n\n"


ESCAPED = (
    samples.FOLLOW_UP.replace(
        b"Danke, angekommen.", b"Danke.\r\nFrom now on I order here.\r\n>From a quote"
    )
    .replace(b"<c3d4e5f6-0000-4000-8000-000000000003@", b"<escaped-0003@")
    .replace(b"Wed, 8 May 2024 08:00:00", b"Wed, 8 May 2024 07:00:00")
)
MBOX = [samples.THUNDERBIRD, samples.REPLY, ESCAPED, samples.LATIN1, samples.OUTLOOK_HTML]


def write_mbox(path: Path, messages: list[bytes], *, mode: str = "wb") -> None:
    with path.open(mode) as handle:
        for raw in messages:
            handle.write(mbox_entry(raw))


def test_mbox_reads_every_message(tmp_path: Path) -> None:
    path = tmp_path / "support.mbox"
    write_mbox(path, MBOX)
    items = list(MboxConnector(path=str(path), **SHOP).stream("messages").read(None))
    mails = records(items)
    assert [m.attributes["subject"] for m in mails] == [
        read(raw).attributes["subject"] for raw in MBOX
    ]
    assert [m.text for m in mails] == [read(raw).text for raw in MBOX[:2]] + [
        "Danke.\nFrom now on I order here.\n>From a quote"
    ] + [read(raw).text for raw in MBOX[3:]]
    assert mails[1].direction is cxm.Direction.OUTBOUND
    assert mails[0].attributes["attachments"] == 1
    assert checkpoints(items)[-1] == {
        "files": {
            str(path.resolve()): {
                "offset": path.stat().st_size,
                "size": path.stat().st_size,
                "mtime_ns": path.stat().st_mtime_ns,
                "head": checkpoints(items)[-1]["files"][str(path.resolve())]["head"],
                "head_length": 4096,
            }
        }
    }


def test_mbox_from_line_date_is_the_fallback(tmp_path: Path) -> None:
    path = tmp_path / "forms.mbox"
    path.write_bytes(mbox_entry(samples.BARE, b"From MAILER-DAEMON Sat May 11 10:00:00 2024"))
    [mail] = records(list(MboxConnector(path=str(path)).stream("messages").read(None)))
    assert mail.occurred_at == datetime(2024, 5, 11, 10, 0, tzinfo=UTC)
    assert mail.attributes["date_source"] == "mbox_from_line"


def test_mbox_reads_only_what_was_appended(tmp_path: Path) -> None:
    path = tmp_path / "support.mbox"
    write_mbox(path, MBOX[:3])
    stream = MboxConnector(path=str(path), **SHOP).stream("messages")
    first = list(stream.read(None))
    cursor = checkpoints(first)[-1]
    again = list(stream.read(cursor))
    assert records(again) == []
    assert checkpoints(again)[-1] == cursor
    write_mbox(path, MBOX[3:], mode="ab")
    more = list(stream.read(cursor))
    assert ids(more) == [read(raw).source_id for raw in MBOX[3:]]
    assert records(list(stream.read(checkpoints(more)[-1]))) == []


def test_mbox_resumes_from_any_checkpoint_with_exactly_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "support.mbox"
    write_mbox(path, [*MBOX, samples.FOLLOW_UP, samples.BROADCAST])
    stream = MboxConnector(path=str(path), checkpoint_every=2, **SHOP).stream("messages")
    items = list(stream.read(None))
    assert len(checkpoints(items)) >= 4
    for position, item in enumerate(items):
        if isinstance(item, Checkpoint):
            remaining = ids(items[position + 1 :])
            assert ids(list(stream.read(item.cursor))) == remaining


def test_a_rewritten_mbox_is_read_again_from_the_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "support.mbox"
    write_mbox(path, MBOX)
    stream = MboxConnector(path=str(path)).stream("messages")
    cursor = checkpoints(list(stream.read(None)))[-1]
    # A client compacting the folder rewrites it without the deleted first message.
    write_mbox(path, [*MBOX[1:], samples.FOLLOW_UP])
    with caplog.at_level(logging.WARNING, logger="cxm.connectors.mail"):
        again = list(stream.read(cursor))
    assert ids(again) == [read(raw).source_id for raw in [*MBOX[1:], samples.FOLLOW_UP]]
    assert "was rewritten since the last sync" in caplog.text


def test_an_unfinished_last_message_is_read_again_when_whole(tmp_path: Path) -> None:
    path = tmp_path / "support.mbox"
    whole = mbox_entry(samples.LATIN1)
    cut = len(whole) - 30  # the writer is still in the middle of the body
    path.write_bytes(mbox_entry(samples.REPLY) + whole[:cut])
    stream = MboxConnector(path=str(path), **SHOP).stream("messages")
    first = list(stream.read(None))
    assert ids(first) == [read(samples.REPLY).source_id, read(samples.LATIN1).source_id]
    partial = records(first)[1].text
    cursor = checkpoints(first)[-1]
    assert cursor["files"][str(path.resolve())]["offset"] == len(mbox_entry(samples.REPLY))
    with path.open("ab") as handle:
        handle.write(whole[cut:] + mbox_entry(samples.OUTLOOK_HTML))
    second = records(list(stream.read(cursor)))
    assert [m.source_id for m in second] == [
        read(samples.LATIN1).source_id,
        read(samples.OUTLOOK_HTML).source_id,
    ]
    assert second[0].text == read(samples.LATIN1).text != partial


def test_mbox_glob_reads_every_file_with_its_own_cursor(tmp_path: Path) -> None:
    (tmp_path / "2023").mkdir()
    write_mbox(tmp_path / "2023" / "inbox.mbox", MBOX[:2])
    write_mbox(tmp_path / "sent.mbox", MBOX[2:4])
    (tmp_path / "notes.txt").write_text("not mail")
    connector = MboxConnector(path=str(tmp_path / "**" / "*.mbox"))
    assert connector.state_key == f"mbox:{tmp_path}/**/*.mbox"
    items = list(connector.stream("messages").read(None))
    assert sorted(ids(items)) == sorted(read(raw).source_id for raw in MBOX[:4])
    assert set(checkpoints(items)[-1]["files"]) == {
        str((tmp_path / "2023" / "inbox.mbox").resolve()),
        str((tmp_path / "sent.mbox").resolve()),
    }


def test_mbox_quarantines_what_is_not_a_message(tmp_path: Path) -> None:
    path = tmp_path / "odd.mbox"
    junk = b"Exported by MailTool 2.1\n\n"
    not_mail = b"From someone Sat May 11 10:00:00 2024\n\x00\x01\x02 binary noise\n\n"
    path.write_bytes(junk + not_mail + mbox_entry(samples.LATIN1))
    items = list(MboxConnector(path=str(path)).stream("messages").read(None))
    rejected = [item for item in items if isinstance(item, Rejected)]
    assert ids(items) == [read(samples.LATIN1).source_id]
    assert [r.raw["position"] for r in rejected] == [
        f"{path.resolve()} byte 0",
        f"{path.resolve()} byte {len(junk)}",
    ]
    assert rejected[0].raw["message"] == junk.decode()
    assert "text before the first 'From ' line" in rejected[0].reason
    assert "is not an e-mail message" in rejected[1].reason


def test_mbox_check(tmp_path: Path) -> None:
    good = tmp_path / "good.mbox"
    write_mbox(good, MBOX[:1])
    MboxConnector(path=str(good)).check()
    eml = tmp_path / "message.eml"
    eml.write_bytes(samples.LATIN1)
    with pytest.raises(ConnectorError, match="is not an mbox file"):
        MboxConnector(path=str(eml)).check()
    with pytest.raises(ConnectorError, match="is a directory"):
        MboxConnector(path=str(tmp_path)).check()
    with pytest.raises(ConnectorError, match="no such file"):
        MboxConnector(path=str(tmp_path / "missing.mbox")).check()
    with pytest.raises(ConnectorError, match="no file matches"):
        MboxConnector(path=str(tmp_path / "*.mbx")).check()


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"own_addresses": ["support@@shop.example"]}, "mbox.own_addresses"),
        ({"own_domains": ["shop example"]}, "mbox.own_domains"),
        ({"source": "E-Mail"}, "mbox.source"),
        ({"checkpoint_every": 0}, "mbox.checkpoint_every"),
        ({"touchpoint": ""}, "mbox.touchpoint"),
        ({"path": ""}, "mbox.path"),
        ({"folder": "INBOX"}, "mbox.folder"),
    ],
)
def test_mbox_options_are_validated_by_name(options: dict[str, Any], field: str) -> None:
    with pytest.raises(cxm.ValidationError) as caught:
        MboxConnector(**{"path": "x.mbox", **options})
    assert caught.value.field == field


def test_a_long_path_gives_a_short_state_key_that_still_names_the_file(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["customer-support-archive"] * 8)
    first = MboxConnector(path=str(deep / "2023.mbox")).state_key
    second = MboxConnector(path=str(deep / "2024.mbox")).state_key
    assert len(first) == len(second) == 128
    assert first.startswith("mbox:")
    assert first.endswith("/2023.mbox")
    assert first != second


def test_a_single_own_address_given_as_a_string_is_one_address() -> None:
    mail = interaction_from_message(samples.REPLY, own_addresses="lena@shop.example")
    assert mail.direction is cxm.Direction.OUTBOUND


def test_own_options_are_normalised() -> None:
    config = MboxConnector(
        path="x.mbox", own_addresses="Support@Shop.Example", own_domains=["@Shop.Example."]
    ).config
    assert config.own_addresses == ("support@shop.example",)
    assert config.own_domains == ("shop.example",)


# -- eml ----------------------------------------------------------------------------------------


def eml_tree(root: Path) -> dict[str, bytes]:
    files = {
        "2024/05/thunderbird.eml": samples.THUNDERBIRD,
        "2024/05/reply.EML": samples.REPLY,
        "latin1.eml": samples.LATIN1,
        "outlook.eml": samples.OUTLOOK_HTML,
    }
    for name, raw in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(raw)
    (root / "2024" / "readme.txt").write_text("not mail")
    return files


def test_eml_reads_every_file_below_the_directory(tmp_path: Path) -> None:
    files = eml_tree(tmp_path)
    connector = EmlConnector(path=str(tmp_path), **SHOP)
    connector.check()
    items = list(connector.stream("messages").read(None))
    assert sorted(ids(items)) == sorted(read(raw).source_id for raw in files.values())
    assert not [item for item in items if isinstance(item, Rejected)]


def test_eml_reads_only_new_and_changed_files(tmp_path: Path) -> None:
    eml_tree(tmp_path)
    stream = EmlConnector(path=str(tmp_path)).stream("messages")
    cursor = checkpoints(list(stream.read(None)))[-1]
    assert records(list(stream.read(cursor))) == []
    (tmp_path / "new.eml").write_bytes(samples.FOLLOW_UP)
    second = list(stream.read(cursor))
    assert ids(second) == [read(samples.FOLLOW_UP).source_id]
    cursor = checkpoints(second)[-1]
    assert records(list(stream.read(cursor))) == []
    # File times come from a clock that ticks every few milliseconds; let it tick.
    time.sleep(0.05)
    edited = tmp_path / "latin1.eml"
    edited.write_bytes(samples.LATIN1.replace(b"Bonjour", b"Bonsoir"))
    [changed] = records(list(stream.read(cursor)))
    assert changed.source_id == read(samples.LATIN1).source_id
    assert changed.text.startswith("Bonsoir")


def test_eml_file_copied_with_an_old_modification_time_is_still_read(tmp_path: Path) -> None:
    eml_tree(tmp_path)
    stream = EmlConnector(path=str(tmp_path)).stream("messages")
    cursor = checkpoints(list(stream.read(None)))[-1]
    restored = tmp_path / "restored.eml"
    restored.write_bytes(samples.BROADCAST)
    os.utime(restored, ns=(978307200 * 10**9, 978307200 * 10**9))  # like cp -p of a 2001 file
    assert ids(list(stream.read(cursor))) == [read(samples.BROADCAST).source_id]


def test_eml_mark_skips_exactly_the_files_recorded_at_its_time(tmp_path: Path) -> None:
    eml_tree(tmp_path)
    listed = _eml_files(tmp_path, -1, [])
    time_ns, relative = listed[1][0], listed[1][1]
    after = _eml_files(tmp_path, time_ns, [relative])
    assert [entry[1] for entry in after] == [
        entry[1]
        for entry in listed
        if (entry[0], entry[1]) > (time_ns, "") and entry[1] != relative
    ]
    assert relative in [entry[1] for entry in _eml_files(tmp_path, time_ns, [])]


def test_eml_resumes_from_any_checkpoint_with_exactly_the_rest(tmp_path: Path) -> None:
    eml_tree(tmp_path)
    (tmp_path / "follow-up.eml").write_bytes(samples.FOLLOW_UP)
    stream = EmlConnector(path=str(tmp_path), checkpoint_every=2).stream("messages")
    items = list(stream.read(None))
    assert len(checkpoints(items)) == 3
    for position, item in enumerate(items):
        if isinstance(item, Checkpoint):
            assert ids(list(stream.read(item.cursor))) == ids(items[position + 1 :])


def test_eml_falls_back_to_the_file_time_and_quarantines_non_messages(tmp_path: Path) -> None:
    (tmp_path / "form.eml").write_bytes(samples.BARE)
    os.utime(tmp_path / "form.eml", (1715421600, 1715421600))
    (tmp_path / "broken.eml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    items = list(EmlConnector(path=str(tmp_path)).stream("messages").read(None))
    [mail] = records(items)
    assert mail.occurred_at == datetime(2024, 5, 11, 10, 0, tzinfo=UTC)
    assert mail.attributes["date_source"] == "file_mtime"
    [rejected] = [item for item in items if isinstance(item, Rejected)]
    assert rejected.raw["position"] == "broken.eml"
    assert rejected.reason.startswith("broken.eml: email.message=")


def test_eml_check_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(samples.BARE)
    with pytest.raises(ConnectorError, match="is not a directory"):
        EmlConnector(path=str(tmp_path / "a.eml")).check()


# -- through the workspace ----------------------------------------------------------------------


def test_mbox_sync_stores_each_message_once_and_resolves_the_thread_to_one_customer(
    tmp_path: Path, workspace: cxm.Workspace
) -> None:
    path = tmp_path / "support.mbox"
    write_mbox(path, [*MBOX, samples.FOLLOW_UP])
    ws = workspace
    report = ws.sync(MboxConnector(path=str(path), own_domains=["shop.example"]))
    report.raise_for_errors()
    assert report.new == 6
    again = ws.sync(MboxConnector(path=str(path), own_domains=["shop.example"]))
    assert (again.new, again.updated, again.unchanged) == (0, 0, 0)
    stored = ws.interactions()
    assert len(stored) == 6
    joerg = ws.customer(cxm.Identity("email", "joerg.mueller@kunde.example.de"))
    thread = stored[stored["customer_id"] == joerg.customer_id]
    assert sorted(thread["source_id"]) == sorted(
        read(raw).source_id
        for raw in (samples.THUNDERBIRD, samples.REPLY, ESCAPED, samples.FOLLOW_UP)
    )
    # The colleague on Cc is not merged into the customer.
    assert joerg.identities == (cxm.Identity("email", "joerg.mueller@kunde.example.de"),)


class FailingMbox(MboxConnector):
    """An mbox reader that dies after a number of messages, like a killed process."""

    fail_after = 3

    def read_messages(self, cursor: Any) -> Any:
        for count, item in enumerate(super().read_messages(cursor)):
            if count >= self.fail_after:
                raise RuntimeError("killed")
            yield item


def test_mbox_sync_killed_midway_resumes_without_loss_or_duplicates(
    tmp_path: Path, workspace: cxm.Workspace
) -> None:
    path = tmp_path / "support.mbox"
    everything = [*MBOX, samples.FOLLOW_UP, samples.BROADCAST]
    write_mbox(path, everything)
    ws = workspace
    killed = ws.sync(FailingMbox(path=str(path), checkpoint_every=2), batch_size=1)
    assert killed.stream("messages").error == "RuntimeError: killed"
    stored_before = len(ws.interactions())
    assert 0 < stored_before < len(everything)
    resumed = ws.sync(MboxConnector(path=str(path), checkpoint_every=2))
    resumed.raise_for_errors()
    assert resumed.new == len(everything) - stored_before
    stored = ws.interactions()
    assert sorted(stored["source_id"]) == sorted(read(raw).source_id for raw in everything)


def test_one_message_from_mbox_and_from_eml_is_stored_once(
    tmp_path: Path, workspace: cxm.Workspace
) -> None:
    write_mbox(tmp_path / "export.mbox", MBOX[:2])
    (tmp_path / "eml").mkdir()
    (tmp_path / "eml" / "a.eml").write_bytes(samples.THUNDERBIRD)
    (tmp_path / "eml" / "b.eml").write_bytes(samples.BARE)
    (tmp_path / "eml" / "c.eml").write_bytes(b"\x00\x01\x02 scanner noise\r\n")
    write_mbox(tmp_path / "forms.mbox", [samples.BARE])
    ws = workspace
    assert ws.sync(MboxConnector(path=str(tmp_path / "*.mbox"))).new == 3
    from_eml = ws.sync(EmlConnector(path=str(tmp_path / "eml")))
    assert from_eml.new == 0
    assert from_eml.updated + from_eml.unchanged == 2
    assert from_eml.quarantined == 1
    [quarantined] = ws.quarantined()["raw"]
    raw = quarantined if isinstance(quarantined, dict) else json.loads(quarantined)
    assert raw["position"] == "c.eml"
    assert raw["message"] == "\ufffd\x01\x02 scanner noise\r\n"
    assert len(ws.interactions()) == 3
