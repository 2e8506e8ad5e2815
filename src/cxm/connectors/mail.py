"""E-mail as interactions: one message becomes one :class:`~cxm.Interaction`, whatever it came from.

:func:`interaction_from_message` turns the raw bytes of an RFC 5322 message into an interaction:
headers decoded (RFC 2047 words, 8-bit bytes, unknown charsets), the body read as text
(``text/plain`` preferred, else the HTML rendered as text), attachments counted but not kept,
the thread found from ``Message-ID``, ``In-Reply-To`` and ``References``, the direction from the
company's own addresses, and the customer's e-mail address as the one identity. The ``mbox``,
``eml`` and ``imap`` connectors all use it with the same ``source``, so one message read from an
mbox export and again over IMAP is stored once: its ``source_id`` is its ``Message-ID``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from email import errors as email_errors
from email import policy, utils
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import EmailPolicy
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, cast

import attrs

from cxm.connectors.base import Checkpoint, Connector, Rejected, Stream
from cxm.connectors.options import SOURCE_PATTERN
from cxm.exceptions import ConnectorError, ValidationError
from cxm.model import Channel, Direction, Identity, Interaction

__all__ = [
    "DEFAULT_SOURCE",
    "EmlConfig",
    "EmlConnector",
    "MailOptions",
    "MboxConfig",
    "MboxConnector",
    "html_to_text",
    "interaction_from_message",
]

logger = logging.getLogger(__name__)

#: The ``source`` of every e-mail interaction unless configured otherwise; shared by ``mbox``,
#: ``eml`` and ``imap`` so that one message read through two of them is stored once.
DEFAULT_SOURCE = "email"
#: How much of a message a quarantined item keeps (the rest is usually attachments).
_REJECTED_EXCERPT_BYTES = 64 * 1024
_MAX_SOURCE_ID = 255
_MAX_STATE_KEY = 128


class _MailPolicy(EmailPolicy):
    """``email.policy.default``, with parsed header fields remembered.

    Walking a message's MIME tree asks for each part's Content-Type a dozen times, and the
    default policy parses the field again every time: most of the cost of reading a message.
    Parsed fields are immutable, so one parse can serve every ask.
    """

    def header_fetch_parse(self, name: str, value: str) -> Any:
        return _parsed_field(name, value)


@functools.lru_cache(maxsize=4096)
def _parsed_field(name: str, value: str) -> Any:
    return policy.default.header_fetch_parse(name, value)


_PARSER = BytesParser(policy=_MailPolicy())
# A message must carry at least one of these to be read as e-mail: the parser accepts any text,
# and a file of prose or binary noise would otherwise become an interaction with no sender.
_MESSAGE_FIELDS = ("from", "sender", "to", "cc", "date", "message-id", "subject", "received")
_MSG_ID = re.compile(r"<([^<>]*)>")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_FOLD = re.compile(r"\r?\n")
_ASCII_NAMES = frozenset({"ascii", "us-ascii", "us_ascii", "646", "ansi_x3.4-1968"})
_SIGNATURE_TYPES = frozenset(
    {"application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature"}
)
# The standard library's header and MIME parsers are lenient but not total: pathological input
# still raises one of these from deep inside ``email._header_value_parser``.
_PARSE_ERRORS = (
    email_errors.MessageError,
    LookupError,
    ValueError,
    TypeError,
    IndexError,
    AttributeError,
    UnicodeError,
)


# -- settings shared by the mail connectors -----------------------------------------------------


def _source(value: Any) -> str:
    if not isinstance(value, str) or not SOURCE_PATTERN.fullmatch(value):
        raise ValidationError(
            "source", value, "must be a lower-case name of letters, digits, '_', '.' or '-'"
        )
    return value


def _names(value: Any, option: str) -> list[Any]:
    if value is None:
        return []
    # One address given as a string is a common slip; iterating it would yield characters.
    if isinstance(value, str):
        return [value]
    if isinstance(value, bytes) or not isinstance(value, Iterable):
        raise ValidationError(option, value, "must be a list of strings")
    return list(value)


def _own_addresses(value: Any) -> tuple[str, ...]:
    found = [Identity("email", item).value for item in _names(value, "own_addresses")]
    return tuple(dict.fromkeys(found))


def _own_domains(value: Any) -> tuple[str, ...]:
    found = []
    for item in _names(value, "own_domains"):
        if not isinstance(item, str):
            raise ValidationError("own_domains", item, "must be a domain name like 'example.com'")
        domain = item.strip().lstrip("@").rstrip(".").lower()
        if (
            not domain
            or any(not label for label in domain.split("."))
            or re.search(r"[\s@/]", domain)
        ):
            raise ValidationError("own_domains", item, "must be a domain name like 'example.com'")
        found.append(domain)
    return tuple(dict.fromkeys(found))


def _touchpoint(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("touchpoint", value, "must be a non-empty name")
    return value


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError("checkpoint_every", value, "must be a whole number above 0")
    return value


@attrs.frozen(kw_only=True)
class MailOptions:
    """Settings every e-mail connector shares: who "we" are, and how records are labelled.

    Attributes:
        own_addresses: The company's addresses (``support@example.com``). A message from one of
            them is outbound; they never become a customer's identity.
        own_domains: The company's domains (``example.com``, which also covers its subdomains
            such as ``eu.example.com``): every address there counts as an own address.
        source: The ``source`` of the interactions; keep the default ``"email"`` on every mail
            connector so one message read twice (from an export and over IMAP) is stored once.
        touchpoint: The catalog touchpoint of every interaction, if any (``"Support inbox"``).
    """

    own_addresses: tuple[str, ...] = attrs.field(default=(), converter=_own_addresses)
    own_domains: tuple[str, ...] = attrs.field(default=(), converter=_own_domains)
    source: str = attrs.field(default=DEFAULT_SOURCE, converter=_source)
    touchpoint: str | None = attrs.field(default=None, converter=_touchpoint)


# -- HTML to text --------------------------------------------------------------------------------

# Elements whose content is never text a reader sees.
_INVISIBLE = frozenset({"script", "style", "head", "title", "template", "noscript", "svg"})
# Elements that start a paragraph (a blank line around them) or a line.
_PARAGRAPHS = frozenset(
    {
        "address", "article", "aside", "blockquote", "dl", "fieldset", "figure", "footer",
        "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "main", "nav", "ol", "p",
        "pre", "section", "table", "ul",
    }
)  # fmt: skip
_LINES = frozenset({"dd", "div", "dt", "figcaption", "li", "tr", "caption"})
_CELLS = frozenset({"td", "th"})
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr"})


class _HtmlText(HTMLParser):
    """Collects the visible text of an HTML document, with block elements as line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._hidden = 0
        self._pre = 0
        # Line breaks already at the end of the output: a break asks for at least n of them,
        # so nested blocks (<div><p>) do not pile up blank lines.
        self._newlines = 0

    def _break(self, newlines: int) -> None:
        if self.pieces and self._newlines < newlines:
            self.pieces.append("\n" * (newlines - self._newlines))
            self._newlines = newlines

    def _write(self, text: str) -> None:
        if self._newlines and not self._pre:
            text = text.lstrip(" ")
        if not text:
            return
        self.pieces.append(text)
        stripped = text.rstrip("\n")
        trailing = len(text) - len(stripped)
        self._newlines = self._newlines + trailing if not stripped else trailing

    def _open(self, tag: str) -> None:
        if tag == "br":
            # A hard line break always counts: <div><br></div> is how editors write a blank line.
            self.pieces.append("\n")
            self._newlines += 1
        elif tag in _PARAGRAPHS:
            self._break(2)
        elif tag in _LINES:
            self._break(1)
        elif tag in _CELLS:
            self._write(" ")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE:
            self._hidden += 1
            return
        self._open(tag)
        if tag == "li":
            self._write("- ")
        elif tag == "pre":
            self._pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # ``<br/>`` breaks a line; a self-closed ``<script/>`` hides nothing.
        self._open(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _PARAGRAPHS:
            self._break(2)
        elif tag in _LINES and tag not in _VOID:
            self._break(1)
        if tag == "pre":
            self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._pre:
            self._write(data.replace("\r\n", "\n"))
        else:
            # Source line breaks and indentation are layout, not text; &nbsp; is a space too.
            self._write(re.sub(r"\s+", " ", data))


def html_to_text(document: str) -> str:
    r"""Return the text a reader sees in an HTML e-mail body.

    Scripts, styles and the ``<head>`` are dropped; paragraphs, headings, lists and tables are
    separated by a blank line, ``<br>``, ``<div>`` and list items start a new line; character
    references (``&amp;``, ``&nbsp;``, ``&#233;``) are unescaped; other white space collapses
    to one space. Links keep their text, not their address.

    Args:
        document: The HTML, decoded to text.

    Returns:
        Plain text with ``\n`` line breaks and no leading or trailing blank lines.

    Examples:
        >>> html_to_text("<style>p {color: red}</style><p>Hello&nbsp;<b>Ann</b>,</p>"
        ...              "<p>your order<br>has shipped &amp; is on its way.</p>")
        'Hello Ann,\n\nyour order\nhas shipped & is on its way.'
        >>> html_to_text("<div><ul><li>one</li><li>two</li></ul></div><div>Bye</div>")
        '- one\n- two\n\nBye'
    """
    parser = _HtmlText()
    parser.feed(document)
    parser.close()
    out: list[str] = []
    for line in "".join(parser.pieces).split("\n"):
        text = line.strip()
        # At most one blank line in a row, and none at the start.
        if text or (out and out[-1]):
            out.append(text)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


# -- one message ---------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """Text safe to store: 8-bit header bytes decoded, no lone surrogates, no NUL characters."""
    if _has_8bit(text):
        # The parser keeps undeclared 8-bit bytes as surrogate escapes; most are UTF-8, the
        # rest are almost always Windows-1252 (a superset of Latin-1 for printable text).
        data = text.encode("utf-8", "surrogateescape")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    return text.replace("\x00", "")


def _has_8bit(text: str) -> bool:
    # The parser keeps an undeclared 8-bit byte as a surrogate escape, U+DC80 to U+DCFF.
    return _ESCAPED_BYTE.search(text) is not None


@attrs.define
class _Headers:
    """Header fields of one message as written, decoded leniently."""

    message: EmailMessage
    problems: list[str]
    _raw: dict[str, str] = attrs.field(init=False, factory=dict)

    def __attrs_post_init__(self) -> None:
        for name, value in self.message.raw_items():
            self._raw.setdefault(name.lower(), value)

    def __contains__(self, name: str) -> bool:
        return name in self._raw

    def raw(self, name: str) -> str | None:
        """The unfolded value as written (8-bit bytes decoded), or ``None``."""
        value = self._raw.get(name.lower())
        if value is None:
            return None
        if _has_8bit(value):
            self.problems.append(f"header {name}: undeclared 8-bit bytes")
        return _clean(_FOLD.sub("", value))

    def text(self, name: str) -> str | None:
        """The value with RFC 2047 encoded words decoded, or ``None``."""
        value = self.raw(name)
        if value is None:
            return None
        try:
            return _clean(str(policy.default.header_factory(name, value))).strip()
        except _PARSE_ERRORS:
            return value.strip()

    def addresses(self, name: str) -> list[Address | str]:
        """The addresses of an address field; a malformed one as the text it was written as."""
        value = self.raw(name)
        if value is None:
            return []
        try:
            parsed = policy.default.header_factory(name, value).addresses
        except _PARSE_ERRORS:
            parsed = ()
        found: list[Address | str] = []
        for address in parsed:
            if address.username and address.domain:
                found.append(address)
            elif value.strip() not in found:
                # The parser keeps no trace of a malformed entry's text; the field's does.
                found.append(value.strip())
        if not found and value.strip() and not value.strip().endswith(";"):
            found.append(value.strip())
        return found


def _msg_ids(value: str | None) -> list[str]:
    """The message ids in a ``Message-ID``, ``In-Reply-To`` or ``References`` value."""
    if not value:
        return []
    found = ["".join(item.split()) for item in _MSG_ID.findall(value)]
    found = [item for item in found if item]
    if not found:
        # Some mailers omit the angle brackets; a bare token with an @ is still an id.
        bare = value.strip()
        if "@" in bare and not re.search(r"\s", bare):
            found = [bare]
    return list(dict.fromkeys(found))


def _decode(payload: bytes, charset: str | None, where: str, problems: list[str]) -> str:
    name = charset or "us-ascii"
    try:
        return payload.decode(name)
    except UnicodeDecodeError:
        if name.lower() in _ASCII_NAMES:
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                declared = f"declares {charset!r}" if charset else "declares no charset"
                problems.append(f"{where}: {declared} but holds 8-bit bytes; read as UTF-8")
                return text
        problems.append(f"{where}: bytes not valid in {name}; replaced by U+FFFD")
        return payload.decode(name, errors="replace")
    except (LookupError, ValueError):
        # An unknown name, a codec such as "base64" that is not a text encoding, or a name
        # Python cannot even look up (a NUL in it).
        try:
            text = payload.decode("utf-8")
            problems.append(f"{where}: unknown charset {charset!r}; read as UTF-8")
        except UnicodeDecodeError:
            text = payload.decode("latin-1")
            problems.append(f"{where}: unknown charset {charset!r}; read as Latin-1")
        return text


def _unflow(text: str, delsp: bool) -> str:
    """Join the soft line breaks of ``format=flowed`` text (RFC 3676)."""
    out: list[str] = []
    pending = ""
    for line in text.split("\n"):
        if line.endswith(" ") and line != "-- ":
            pending += line[:-1] if delsp else line
            continue
        out.append(pending + line)
        pending = ""
    if pending:
        out.append(pending)
    return "\n".join(out)


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


def _part_text(part: EmailMessage, problems: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    text = _decode(payload, part.get_content_charset(), part.get_content_type(), problems)
    if part.get_content_subtype() == "plain" and str(part.get_param("format", "")).lower() == (
        "flowed"
    ):
        delsp = str(part.get_param("delsp", "")).lower() == "yes"
        text = _unflow(text.replace("\r\n", "\n"), delsp)
    return text


def _body(message: EmailMessage, problems: list[str]) -> tuple[str | None, str | None, set[int]]:
    """Return the body text, the type it was read from, and the ids of the body parts."""
    body_parts: set[int] = set()
    plain = message.get_body(preferencelist=("plain",))
    if plain is not None:
        body_parts.add(id(plain))
        text = _tidy(_part_text(cast(EmailMessage, plain), problems))
        if text.strip():
            return text, "text/plain", body_parts
    # HTML-only mail, or a text/plain alternative left empty by the sender's client.
    markup = message.get_body(preferencelist=("html",))
    if markup is not None:
        body_parts.add(id(markup))
        text = _tidy(html_to_text(_part_text(cast(EmailMessage, markup), problems)))
        if text.strip():
            return text, "text/html", body_parts
    return None, None, body_parts


def _attachments(message: EmailMessage, body_parts: set[int]) -> list[EmailMessage]:
    """The parts a mail client lists as attachments: files, forwarded messages, not the body."""
    found: list[EmailMessage] = []

    def visit(part: EmailMessage, parent: str) -> None:
        content_type = part.get_content_type()
        if content_type == "message/rfc822" and part is not message:
            found.append(part)  # a forwarded message is one attachment, whatever it holds
            return
        if part.is_multipart():
            for child in part.iter_parts():
                visit(cast(EmailMessage, child), content_type)
            return
        if id(part) in body_parts or content_type in _SIGNATURE_TYPES:
            return
        disposition = part.get_content_disposition()
        if disposition == "attachment":
            found.append(part)
        elif parent == "multipart/related" and part.get("Content-ID"):
            return  # an image the HTML body shows inline (cid:), not a file the sender attached
        elif parent == "multipart/alternative":
            return  # another rendering of the body
        elif part.get_content_maintype() == "text" and not part.get_filename():
            return  # more body text, e.g. after an inline image
        else:
            found.append(part)

    visit(message, "")
    return found


def _attachment_name(part: EmailMessage) -> str | None:
    try:
        name = part.get_filename()
    except _PARSE_ERRORS:
        return None
    if name is None and part.get_content_type() == "message/rfc822":
        inner = part.get_payload(0) if part.is_multipart() else None
        subject = inner.get("Subject") if isinstance(inner, EmailMessage) else None
        return f"{_clean(str(subject))}.eml" if subject else None
    if not name:
        return None
    return _clean(name).strip() or None


def _hash(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _canonical_bytes(raw: bytes) -> bytes:
    """The message as every store of it holds the same bytes: LF line ends, no mbox From_ line."""
    data = raw.replace(b"\r\n", b"\n")
    if data.startswith(b"From "):
        data = data.partition(b"\n")[2]
    return data.rstrip(b"\n")


def _preview(raw: bytes) -> str:
    return raw[:80].decode("utf-8", errors="replace")


@attrs.define
class _Participant:
    address: str  # normalised when valid, else as written
    name: str
    identity: Identity | None
    problem: str | None
    parsed: bool = True  # False: a field whose text held no readable address


def _participant(item: Address | str) -> _Participant:
    if isinstance(item, str):
        return _Participant(_clean(item), "", None, "holds a malformed address", parsed=False)
    spec = _clean(item.addr_spec)
    try:
        identity = Identity("email", spec)
    except ValidationError as exc:
        return _Participant(spec.lower(), _clean(item.display_name), None, exc.reason)
    return _Participant(identity.value, _clean(item.display_name), identity, None)


def _is_own(address: str, own_addresses: frozenset[str], own_domains: tuple[str, ...]) -> bool:
    if address in own_addresses:
        return True
    domain = address.rpartition("@")[2]
    return any(domain == own or domain.endswith("." + own) for own in own_domains)


def interaction_from_message(
    raw: bytes,
    *,
    source: str = DEFAULT_SOURCE,
    own_addresses: Iterable[str] = (),
    own_domains: Iterable[str] = (),
    touchpoint: str | None = None,
    received_at: datetime | None = None,
    received_from: str = "delivery",
    attributes: Mapping[str, Any] | None = None,
) -> Interaction:
    r"""Build the interaction of one e-mail message from its raw bytes.

    What becomes what:

    - ``source_id``: the ``Message-ID`` without its angle brackets, kept as written (ids are
      case-sensitive); without one, ``"sha256:"`` and the hash of the message's bytes (line
      ends normalised, so the copy in an mbox and the one on an IMAP server agree).
    - ``occurred_at``: the ``Date`` header; when it is missing or unreadable, ``received_at``
      (the IMAP INTERNALDATE, the mbox ``From_`` line, the file's time), noted in the
      attributes as ``date_source`` and ``date_problem``. A date without a zone is read as
      UTC and noted as ``date_assumed_utc``.
    - ``direction``: outbound when the ``From`` address is one of ``own_addresses`` or in one of
      ``own_domains``, else inbound.
    - ``identities``: the customer's side only, because every identity of one interaction is
      resolved into one customer: inbound, the sender; outbound, the first recipient (To, then
      Cc, then Bcc) who is not an own address. Other external participants are listed in
      ``attributes["other_participants"]``. A malformed address is skipped and noted in
      ``attributes["identity_problems"]``; a message with no usable address has no identity.
    - ``text``: the ``text/plain`` body, else the HTML body as text (:func:`html_to_text`).
    - ``attributes``: ``subject``, ``message_id``, ``thread_id`` (the first id in
      ``References``, else ``In-Reply-To``, else the message's own), ``in_reply_to``,
      ``references``, ``from``, ``from_name``, ``to``, ``cc`` (``bcc``, ``reply_to`` when
      present), ``attachments`` (a count), ``attachment_names``, ``body_type``, and
      ``charset_problems`` when bytes had to be guessed or replaced.

    Args:
        raw: The message as bytes, headers and body (an ``.eml`` file, an IMAP ``BODY[]``).
        source: The ``source`` of the interaction.
        own_addresses: The company's addresses, lower case.
        own_domains: The company's domains, lower case; subdomains count too.
        touchpoint: The catalog touchpoint of the interaction.
        received_at: When the message arrived, used when its ``Date`` cannot be read.
        received_from: Where ``received_at`` came from, for ``attributes["date_source"]``.
        attributes: Further attributes to add, e.g. ``{"folder": "INBOX"}``.

    Returns:
        The interaction.

    Raises:
        ValidationError: If the bytes are not an e-mail message (empty, no header fields of
            one) or cannot be read at all, or if neither the ``Date`` nor ``received_at`` gives
            a time.

    Examples:
        >>> raw = (b"From: =?UTF-8?Q?Ann_M=C3=BCller?= <Ann@Example.org>\r\n"
        ...        b"To: support@example.com\r\nSubject: =?ISO-8859-1?Q?Caf=E9?=\r\n"
        ...        b"Date: Tue, 7 May 2024 09:30:00 +0200\r\nMessage-ID: <1@example.org>\r\n"
        ...        b"\r\nMy order has not arrived.\r\n")
        >>> mail = interaction_from_message(raw, own_domains=["example.com"])
        >>> mail.source_id, mail.direction.value, mail.occurred_at.isoformat()
        ('1@example.org', 'inbound', '2024-05-07T07:30:00+00:00')
        >>> mail.identities, mail.attributes["subject"], mail.text
        ((Identity(kind='email', value='ann@example.org'),), 'Café', 'My order has not arrived.')
    """
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise ValidationError("email.message", type(raw).__name__, "must be the raw bytes")
    raw = bytes(raw)
    if not raw.strip():
        raise ValidationError("email.message", "", "is empty")
    try:
        message = cast(EmailMessage, _PARSER.parsebytes(raw))
    except _PARSE_ERRORS as exc:  # pragma: no cover - the feed parser records defects instead
        raise ValidationError("email.message", _preview(raw), f"cannot be parsed: {exc}") from exc
    problems: list[str] = []
    headers = _Headers(message, problems)
    if not any(name in headers for name in _MESSAGE_FIELDS):
        raise ValidationError(
            "email.message",
            _preview(raw),
            "is not an e-mail message: none of From, To, Date, Subject or Message-ID",
        )
    try:
        return _interaction(
            raw,
            message,
            headers,
            problems,
            source=source,
            own_addresses=frozenset(address.lower() for address in _names(own_addresses, "")),
            own_domains=tuple(domain.lower() for domain in _names(own_domains, "")),
            touchpoint=touchpoint,
            received_at=received_at,
            received_from=received_from,
            extra=attributes or {},
        )
    except ValidationError:
        raise
    except _PARSE_ERRORS as exc:
        raise ValidationError(
            "email.message",
            headers.raw("Message-ID") or _preview(raw),
            f"cannot be read: {type(exc).__name__}: {exc}",
        ) from exc


def _thread(headers: _Headers, raw: bytes) -> tuple[str, dict[str, Any]]:
    """The ``source_id`` and the thread attributes of a message."""
    own_ids = _msg_ids(headers.raw("Message-ID"))
    message_id = own_ids[0] if own_ids else None
    references = _msg_ids(headers.raw("References"))
    reply_ids = _msg_ids(headers.raw("In-Reply-To"))
    in_reply_to = reply_ids[0] if reply_ids else None
    if message_id is None:
        source_id = _hash(_canonical_bytes(raw))
    elif len(message_id) > _MAX_SOURCE_ID:
        source_id = "message-id-" + _hash(message_id.encode("utf-8"))
    else:
        source_id = message_id
    first = references[0] if references else in_reply_to
    return source_id, {
        "subject": headers.text("Subject"),
        "message_id": message_id,
        "thread_id": first or message_id or source_id,
        "in_reply_to": in_reply_to,
        "references": references,
    }


def _occurred_at(
    headers: _Headers, received_at: datetime | None, received_from: str
) -> tuple[datetime, dict[str, Any]]:
    """When the message was written, and the attributes saying how that was decided."""
    date_value = headers.text("Date")
    if date_value:
        try:
            written = utils.parsedate_to_datetime(date_value)
        except (TypeError, ValueError, IndexError, OverflowError):
            problem = f"unreadable Date header {date_value!r}"
        else:
            if written.tzinfo is None:
                # "-0000" (RFC 5322: UTC, local zone unknown) or no zone at all.
                return written.replace(tzinfo=UTC), {"date_assumed_utc": True}
            return written, {}
    else:
        problem = "no Date header"
    if received_at is None:
        raise ValidationError(
            "email.Date", date_value, f"{problem}, and no delivery time to fall back on"
        )
    return received_at, {"date_source": received_from, "date_problem": problem}


def _people(
    headers: _Headers, own_addresses: frozenset[str], own_domains: tuple[str, ...]
) -> tuple[bool, Identity | None, dict[str, Any]]:
    """Whether the message is outbound, the customer's identity, and the participants."""
    senders = [_participant(item) for item in headers.addresses("From")] or [
        _participant(item) for item in headers.addresses("Sender")
    ]
    fields = {
        field: [_participant(item) for item in headers.addresses(field)]
        for field in ("To", "Cc", "Bcc", "Reply-To")
    }
    sender = senders[0] if senders else None

    def own(person: _Participant) -> bool:
        return person.identity is not None and _is_own(person.address, own_addresses, own_domains)

    outbound = sender is not None and own(sender)
    problems = list(
        dict.fromkeys(
            f"{field}: {person.address!r}: {person.problem}"
            for field, people in [("From", senders), *fields.items()]
            for person in people
            if person.problem
        )
    )
    customer: _Participant | None
    if outbound:
        recipients = fields["To"] + fields["Cc"] + fields["Bcc"]
        customer = next((p for p in recipients if p.identity is not None and not own(p)), None)
    else:
        customer = sender if sender is not None and sender.identity is not None else None
        if sender is None:
            problems.append("From: no sender address")
    attributes: dict[str, Any] = {
        "from": [p.address for p in senders if p.parsed],
        "from_name": sender.name if sender is not None and sender.name else None,
        "to": [p.address for p in fields["To"] if p.parsed],
        "cc": [p.address for p in fields["Cc"] if p.parsed],
    }
    for field, key in (("Bcc", "bcc"), ("Reply-To", "reply_to")):
        if fields[field]:
            attributes[key] = [p.address for p in fields[field] if p.parsed]
    everyone = senders + fields["To"] + fields["Cc"] + fields["Bcc"]
    others = [
        p.address
        for p in everyone
        if p.identity is not None
        and not own(p)
        and (customer is None or p.address != customer.address)
    ]
    if others:
        attributes["other_participants"] = list(dict.fromkeys(others))
    if problems:
        attributes["identity_problems"] = problems
    return outbound, customer.identity if customer is not None else None, attributes


def _interaction(
    raw: bytes,
    message: EmailMessage,
    headers: _Headers,
    problems: list[str],
    *,
    source: str,
    own_addresses: frozenset[str],
    own_domains: tuple[str, ...],
    touchpoint: str | None,
    received_at: datetime | None,
    received_from: str,
    extra: Mapping[str, Any],
) -> Interaction:
    source_id, attributes = _thread(headers, raw)
    occurred_at, when = _occurred_at(headers, received_at, received_from)
    attributes.update(when)
    outbound, customer, participants = _people(headers, own_addresses, own_domains)
    attributes.update(participants)
    text, body_type, body_parts = _body(message, problems)
    files = _attachments(message, body_parts)
    attributes["body_type"] = body_type
    attributes["attachments"] = len(files)
    attributes["attachment_names"] = [
        name for name in (_attachment_name(part) for part in files) if name
    ]
    if problems:
        attributes["charset_problems"] = list(dict.fromkeys(problems))
    attributes.update(extra)
    return Interaction(
        source=source,
        source_id=source_id,
        occurred_at=occurred_at,
        channel=Channel.EMAIL,
        kind="email",
        touchpoint=touchpoint,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        text=text,
        identities=[customer] if customer is not None else [],
        attributes=attributes,
    )


def _rejected_message(reason: str, raw: bytes, position: str) -> Rejected:
    """A quarantined message: the reason, where it was, and its first 64 KiB as text."""
    return Rejected(
        reason=f"{position}: {reason}",
        raw={
            "position": position,
            "size": len(raw),
            # NUL cannot be stored in PostgreSQL text or JSON; U+FFFD marks where it was.
            "message": raw[:_REJECTED_EXCERPT_BYTES]
            .decode("utf-8", errors="replace")
            .replace("\x00", "\ufffd"),
        },
    )


def _checkpoint_every(value: Any) -> int:
    return _positive_int(value)


def _short_key(name: str, where: str) -> str:
    """``"<name>:<where>"``, or past 128 characters a hash and the end of ``where``."""
    key = f"{name}:{where}"
    if len(key) <= _MAX_STATE_KEY:
        return key
    # The end of a long path names the file; the hash keeps two long paths apart.
    head = f"{name}:{hashlib.sha256(key.encode('utf-8')).hexdigest()[:16]}:..."
    return head + where[-(_MAX_STATE_KEY - len(head)) :]


# -- mbox ----------------------------------------------------------------------------------------

_HEAD_BYTES = 4096
# "From sender Mon Jan  1 10:00:00 2024", optionally with a zone before or after the year.
_FROM_LINE = re.compile(
    rb"^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) +"
    rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d{1,2}) +"
    rb"(\d{1,2}):(\d{2})(?::(\d{2}))?(?: +[A-Z]{3,5}| +[+-]\d{4})? +(\d{4})"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_ESCAPED_FROM = re.compile(rb"^>+From ")


def _path(value: Any) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("path", value, "must be a file path or a glob pattern")
    # Absolute, so the state key names the same file whatever the working directory.
    return os.path.abspath(os.path.expanduser(value))


@attrs.frozen(kw_only=True)
class MboxConfig(MailOptions):
    """Settings of the ``mbox`` connector.

    Attributes:
        path: An mbox file, or a glob pattern matching several (``"~/mail/*.mbox"``,
            ``"export/**/*.mbox"``).
        checkpoint_every: Messages between two checkpoints.
    """

    path: str = attrs.field(converter=_path)
    checkpoint_every: int = attrs.field(default=500, converter=_checkpoint_every)


def _from_line_date(line: bytes) -> datetime | None:
    match = _FROM_LINE.match(line)
    if match is None:
        return None
    month, day, hour, minute, second, year = match.groups()
    try:
        # The delivering host's local time, zone unknown: read as UTC, and only as a fallback.
        return datetime(
            int(year),
            _MONTHS[month.decode()],
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            tzinfo=UTC,
        )
    except ValueError:
        return None


@attrs.define
class _MboxMessage:
    offset: int  # where its From_ line starts
    end: int  # where the next message starts (or the end of the file)
    from_line: bytes
    raw: bytes
    complete: bool  # followed by another message, or by the blank line that ends a message


def _is_blank(line: bytes) -> bool:
    return line in (b"\n", b"\r\n")


def _message_bytes(lines: list[bytes]) -> bytes:
    if lines and _is_blank(lines[-1]):
        lines = lines[:-1]  # the separator before the next From_ line
    # mboxrd/mboxo writers escape body lines starting "From " as ">From ".
    return b"".join(line[1:] if _ESCAPED_FROM.match(line) else line for line in lines)


def _split_mbox(handle: Any, start: int) -> Iterator[_MboxMessage | tuple[int, bytes]]:
    """Yield the messages of an mbox from byte ``start`` (a message's From_ line, or 0).

    A line starting ``From `` begins a message when it follows a blank line (or starts the
    file), or when it is a complete ``From_`` line with a date. Text before the first one is
    yielded as ``(offset, bytes)``.
    """
    handle.seek(start)
    position = start
    begun: int | None = None
    from_line = b""
    lines: list[bytes] = []
    junk: list[bytes] = []
    after_blank = True
    for line in handle:
        line_start = position
        position += len(line)
        if line.startswith(b"From ") and (after_blank or _FROM_LINE.match(line)):
            if begun is not None:
                yield _MboxMessage(begun, line_start, from_line, _message_bytes(lines), True)
            elif any(not _is_blank(item) for item in junk):
                yield (start, b"".join(junk))
            begun, from_line, lines = line_start, line, []
        elif begun is None:
            junk.append(line)
        else:
            lines.append(line)
        after_blank = _is_blank(line)
    if begun is not None:
        complete = bool(lines) and _is_blank(lines[-1])
        yield _MboxMessage(begun, position, from_line, _message_bytes(lines), complete)
    elif any(not _is_blank(item) for item in junk):
        yield (start, b"".join(junk))


class MboxConnector(Connector):
    """E-mail from mbox files: Thunderbird folders, mutt, ``Google Takeout`` exports.

    One stream, ``messages``: one interaction per message (see :func:`interaction_from_message`).
    The cursor holds, per file, the byte offset of the next message and a hash of the file's
    first 4 KiB: a file that only grew is read from that offset, a file that was rewritten
    (shorter, or a different start) is read again from the beginning, which stores nothing
    twice because messages are keyed by their Message-ID. A last message not yet ended by a
    blank line may still be being written; it is read, and read again next time.

    Examples:
        >>> MboxConnector(path="/var/mail/support", own_domains=["example.com"]).state_key
        'mbox:/var/mail/support'
    """

    name = "mbox"
    summary = "E-mail messages from mbox files (Thunderbird, mutt, Google Takeout)."
    Config = MboxConfig
    config: MboxConfig

    @property
    def state_key(self) -> str:
        """``"mbox:<absolute path or pattern>"``, shortened to 128 characters."""
        return _short_key(self.name, self.config.path)

    def check(self) -> None:
        """Check that the path names readable mbox files.

        Raises:
            ConnectorError: If no file matches, or a file does not start like an mbox.
        """
        files = self._files()
        if not files:
            raise ConnectorError(f"no file matches {self.config.path!r}", connector=self.name)
        for file in files:
            try:
                with file.open("rb") as handle:
                    head = handle.read(_HEAD_BYTES).lstrip(b"\r\n")
            except OSError as exc:
                raise ConnectorError(f"cannot read {file}: {exc}", connector=self.name) from exc
            if head and not head.startswith(b"From "):
                raise ConnectorError(
                    f"{file} is not an mbox file: it does not start with a 'From ' line",
                    connector=self.name,
                )

    def streams(self) -> list[Stream]:
        """The one stream, ``messages``."""
        return [
            Stream(
                name="messages",
                read=self.read_messages,
                description="One interaction per e-mail message",
            )
        ]

    def _files(self) -> list[Path]:
        pattern = os.path.expanduser(self.config.path)
        if re.search(r"[*?\[]", pattern):
            import glob

            return sorted(
                Path(found).resolve()
                for found in glob.glob(pattern, recursive=True)
                if Path(found).is_file()
            )
        path = Path(pattern)
        if not path.exists():
            raise ConnectorError(f"no such file: {pattern}", connector=self.name)
        if path.is_dir():
            raise ConnectorError(
                f"{pattern} is a directory: give an mbox file or a glob such as "
                f"'{pattern}/*.mbox' (the eml connector reads a directory of .eml files)",
                connector=self.name,
            )
        return [path.resolve()]

    def read_messages(self, cursor: Any) -> Iterator[Any]:
        """Yield the interactions of the messages added since ``cursor``, with checkpoints.

        Args:
            cursor: ``{"files": {path: {"offset", "size", "mtime_ns", "head",
                "head_length"}}}`` from a previous checkpoint, or ``None`` to read everything.

        Yields:
            Interactions, :class:`~cxm.connectors.Rejected` for unreadable messages, and
            :class:`~cxm.connectors.Checkpoint` every ``checkpoint_every`` messages and at the
            end of each file.
        """
        saved = cursor.get("files") if isinstance(cursor, Mapping) else None
        saved = saved if isinstance(saved, Mapping) else {}
        files = self._files()
        state: dict[str, dict[str, Any]] = {
            str(file): dict(saved[str(file)])
            for file in files
            if isinstance(saved.get(str(file)), Mapping)
        }
        since_checkpoint = 0
        for file in files:
            for item in self._read_file(file, state):
                yield item
                since_checkpoint += 1
                if since_checkpoint >= self.config.checkpoint_every:
                    yield _files_checkpoint(state)
                    since_checkpoint = 0
            if since_checkpoint:
                yield _files_checkpoint(state)
                since_checkpoint = 0
        yield _files_checkpoint(state)

    def _read_file(self, file: Path, state: dict[str, dict[str, Any]]) -> Iterator[Any]:
        key = str(file)
        saved = state.get(key)
        config = self.config
        try:
            handle = file.open("rb")
        except FileNotFoundError:
            state.pop(key, None)
            return  # removed since the listing
        except OSError as exc:
            raise ConnectorError(f"cannot read {file}: {exc}", connector=self.name) from exc
        with handle:
            status = os.fstat(handle.fileno())
            head = handle.read(_HEAD_BYTES)
            start = self._resume_at(file, handle, head, status, saved)
            if start is None:
                return
            fallback_time = datetime.fromtimestamp(status.st_mtime, UTC)

            def remember(offset: int) -> None:
                length = min(_HEAD_BYTES, offset)
                state[key] = {
                    "offset": offset,
                    "size": status.st_size,
                    "mtime_ns": status.st_mtime_ns,
                    "head": hashlib.sha256(head[:length]).hexdigest(),
                    "head_length": length,
                }

            remember(start)
            for found in _split_mbox(handle, start):
                if isinstance(found, tuple):
                    offset, junk = found
                    remember(offset + len(junk))
                    yield _rejected_message(
                        "not an mbox message: text before the first 'From ' line",
                        junk,
                        f"{file} byte {offset}",
                    )
                    continue
                received_at = _from_line_date(found.from_line)
                item: Interaction | Rejected
                try:
                    item = interaction_from_message(
                        found.raw,
                        source=config.source,
                        own_addresses=config.own_addresses,
                        own_domains=config.own_domains,
                        touchpoint=config.touchpoint,
                        received_at=received_at or fallback_time,
                        received_from="mbox_from_line" if received_at else "file_mtime",
                    )
                except ValidationError as exc:
                    item = _rejected_message(str(exc), found.raw, f"{file} byte {found.offset}")
                # Before the yield: the caller may checkpoint while this generator is paused.
                # An unfinished last message is read again next time, when it is whole.
                remember(found.end if found.complete else found.offset)
                yield item

    def _resume_at(
        self,
        file: Path,
        handle: Any,
        head: bytes,
        status: os.stat_result,
        saved: Mapping[str, Any] | None,
    ) -> int | None:
        """Byte offset to read from, or ``None`` when the file has nothing new."""
        if not saved:
            return 0
        try:
            offset = int(saved["offset"])
            length = int(saved["head_length"])
            digest = str(saved["head"])
        except (KeyError, TypeError, ValueError):
            logger.warning("mbox: unreadable cursor for %s; reading it from the start", file)
            return 0
        if offset == status.st_size == saved.get("size") and status.st_mtime_ns == saved.get(
            "mtime_ns"
        ):
            return None
        if offset <= status.st_size and hashlib.sha256(head[:length]).hexdigest() == digest:
            handle.seek(offset)
            if offset == status.st_size or handle.read(5) == b"From ":
                return offset if offset < status.st_size else None
        logger.warning(
            "mbox: %s was rewritten since the last sync; reading it again from the start "
            "(messages already stored are updated, not duplicated)",
            file,
        )
        return 0


def _files_checkpoint(state: Mapping[str, Mapping[str, Any]]) -> Checkpoint:
    # A copy: the engine may serialise the cursor after this reader has moved on.
    return Checkpoint({"files": {key: dict(value) for key, value in state.items()}})


# -- eml -----------------------------------------------------------------------------------------


def _directory(value: Any) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("path", value, "must be a directory path")
    return os.path.abspath(os.path.expanduser(value))


@attrs.frozen(kw_only=True)
class EmlConfig(MailOptions):
    """Settings of the ``eml`` connector.

    Attributes:
        path: A directory; every ``*.eml`` file below it is read, subdirectories included.
        checkpoint_every: Files between two checkpoints.
    """

    path: str = attrs.field(converter=_directory)
    checkpoint_every: int = attrs.field(default=500, converter=_checkpoint_every)


class EmlConnector(Connector):
    """E-mail from a directory of ``.eml`` files, one message per file.

    One stream, ``messages``. Files are read in order of their change time, then path; the
    cursor is a high-water mark ``{"seen": [time_ns, [paths at that time]]}``, so a later sync
    reads only files added or changed since. The change time of a file is the later of its
    modification time and its inode change time: copying or unpacking files with their original
    modification times (``cp -p``, ``unzip``, ``rsync -t``) still sets the inode change time to
    now, so those files are not missed. An edited file is read again and its interaction
    updated.

    Examples:
        >>> EmlConnector(path="/srv/exports/mail").state_key
        'eml:/srv/exports/mail'
    """

    name = "eml"
    summary = "E-mail messages from a directory of .eml files."
    Config = EmlConfig
    config: EmlConfig

    @property
    def state_key(self) -> str:
        """``"eml:<absolute path>"``, shortened to 128 characters."""
        return _short_key(self.name, self.config.path)

    def _root(self) -> Path:
        root = Path(os.path.expanduser(self.config.path))
        if not root.is_dir():
            raise ConnectorError(f"{self.config.path} is not a directory", connector=self.name)
        return root

    def check(self) -> None:
        """Check that the path is a readable directory.

        Raises:
            ConnectorError: If it is not a directory or cannot be listed.
        """
        root = self._root()
        try:
            with os.scandir(root) as entries:
                next(entries, None)
        except OSError as exc:
            raise ConnectorError(f"cannot list {root}: {exc}", connector=self.name) from exc

    def streams(self) -> list[Stream]:
        """The one stream, ``messages``."""
        return [
            Stream(
                name="messages",
                read=self.read_messages,
                description="One interaction per .eml file",
            )
        ]

    def read_messages(self, cursor: Any) -> Iterator[Any]:
        """Yield the interactions of the files added or changed since ``cursor``.

        Args:
            cursor: ``{"seen": [time_ns, [relative paths]]}`` from a previous checkpoint, or
                ``None`` to read every file.

        Yields:
            Interactions, :class:`~cxm.connectors.Rejected` for files that are not messages, and
            :class:`~cxm.connectors.Checkpoint` every ``checkpoint_every`` files and at the end.
        """
        config = self.config
        root = self._root()
        mark, at_mark = _eml_mark(cursor)
        since_checkpoint = 0
        for changed, relative, file, mtime_ns in _eml_files(root, mark, at_mark):
            try:
                raw = file.read_bytes()
            except FileNotFoundError:
                raw = None  # removed since the listing: nothing to read
            except OSError as exc:
                raise ConnectorError(f"cannot read {file}: {exc}", connector=self.name) from exc
            if raw is not None:
                try:
                    yield interaction_from_message(
                        raw,
                        source=config.source,
                        own_addresses=config.own_addresses,
                        own_domains=config.own_domains,
                        touchpoint=config.touchpoint,
                        received_at=datetime.fromtimestamp(mtime_ns / 1e9, UTC),
                        received_from="file_mtime",
                    )
                except ValidationError as exc:
                    yield _rejected_message(str(exc), raw, relative)
            if changed > mark:
                mark, at_mark = changed, [relative]
            else:
                at_mark.append(relative)
            since_checkpoint += 1
            if since_checkpoint >= config.checkpoint_every:
                yield Checkpoint({"seen": [mark, list(at_mark)]})
                since_checkpoint = 0
        yield Checkpoint({"seen": [mark, list(at_mark)] if mark >= 0 else None})


def _eml_files(root: Path, mark: int, at_mark: list[str]) -> list[tuple[int, str, Path, int]]:
    """``(changed_ns, relative path, path, mtime_ns)`` of the files after the mark, in order."""
    pending = []
    for file in root.rglob("*"):
        if file.suffix.lower() != ".eml":
            continue
        try:
            status = file.stat()
        except FileNotFoundError:
            continue
        if not file.is_file():
            continue
        changed = max(status.st_mtime_ns, status.st_ctime_ns)
        relative = file.relative_to(root).as_posix()
        if changed < mark or (changed == mark and relative in at_mark):
            continue
        pending.append((changed, relative, file, status.st_mtime_ns))
    return sorted(pending)


def _eml_mark(cursor: Any) -> tuple[int, list[str]]:
    seen = cursor.get("seen") if isinstance(cursor, Mapping) else None
    if seen is None:
        return -1, []
    try:
        time_ns, paths = seen
        return int(time_ns), [str(path) for path in paths]
    except (TypeError, ValueError):
        logger.warning("eml: unreadable cursor %r; reading every file", cursor)
        return -1, []
