"""E-mail from an IMAP server: one stream per folder, read incrementally by UID.

The ``imap`` connector logs in over TLS (IMAPS, or STARTTLS on the plain port), opens each
configured folder read-only and fetches the messages whose UID is above the last one it stored,
in batches, without marking them as read (``BODY.PEEK[]``). Each message becomes an interaction
through :func:`cxm.connectors.mail.interaction_from_message`, with the same ``source`` as the
``mbox`` and ``eml`` connectors, so a message stored from an export and again over IMAP is one
record. A folder's cursor is ``{"uidvalidity", "last_uid"}``: when the server changes the
folder's UIDVALIDITY (the folder was re-created, or the server rebuilt its index) the old UIDs
mean nothing, and the folder is read again from the start; the upsert by Message-ID keeps that
from storing anything twice.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import imaplib
import ipaddress
import logging
import os
import re
import socket
import ssl
import unicodedata
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, cast

import attrs

from cxm.connectors.base import Checkpoint, Connector, Secret, Stream, secret
from cxm.connectors.mail import (
    MailOptions,
    _names,
    _rejected_message,
    _short_key,
    interaction_from_message,
)
from cxm.exceptions import AuthError, ConnectorError, UpstreamError, ValidationError

__all__ = ["ImapConfig", "ImapConnector", "stream_name"]

logger = logging.getLogger(__name__)

_SECURITY = ("ssl", "starttls", "none")
_MASK = "**********"
# imaplib refuses response lines over 1 MB; a UID SEARCH of a folder with ~150,000 messages is
# one such line. 64 MiB holds millions of UIDs and still bounds a misbehaving server.
_MAX_LINE = 64 * 1024 * 1024
_FETCH_ITEMS = "(UID INTERNALDATE RFC822.SIZE BODY.PEEK[])"
_UID = re.compile(rb"\bUID (\d+)")
_INTERNALDATE = re.compile(
    rb'INTERNALDATE "\s?(\d{1,2})-([A-Za-z]{3})-(\d{4}) '
    rb'(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})"'
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_LIST_LINE = re.compile(
    rb'^\((?P<flags>[^)]*)\) (?P<delimiter>"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)$'
)


# -- folder names ---------------------------------------------------------------------------------


def stream_name(folder: str) -> str:
    """Return the stream name of an IMAP folder: lower-case ASCII words joined by ``-``.

    Accents are dropped, anything else that is not a letter or digit separates words; a name
    that would not start with a letter is prefixed with ``folder-``.

    Args:
        folder: The folder's name as the mail client shows it.

    Returns:
        The stream name.

    Examples:
        >>> stream_name("INBOX"), stream_name("[Gmail]/Sent Mail"), stream_name("Envoyés")
        ('inbox', 'gmail-sent-mail', 'envoyes')
        >>> stream_name("2024"), stream_name("Входящие")[:7]
        ('folder-2024', 'folder-')
    """
    ascii_name = unicodedata.normalize("NFKD", folder).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    if not name:
        return "folder-" + hashlib.sha256(folder.encode("utf-8")).hexdigest()[:8]
    return name if name[0].isalpha() else f"folder-{name}"


def _encode_folder(name: str) -> str:
    """The folder name in IMAP's modified UTF-7 (RFC 3501, section 5.1.3)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + data.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def _decode_folder(name: str) -> str:
    """The folder name decoded from modified UTF-7; undecodable text is left as it is."""

    def decode(match: re.Match[str]) -> str:
        chunk = match.group(1)
        if not chunk:
            return "&"
        data = chunk.replace(",", "/")
        try:
            return base64.b64decode(data + "=" * (-len(data) % 4)).decode("utf-16-be")
        except (ValueError, UnicodeDecodeError):
            return match.group(0)

    return re.sub(r"&([^-]*)-", decode, name)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquoted(text: bytes) -> str:
    value = text.decode("utf-8", errors="replace").strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


# -- settings -------------------------------------------------------------------------------------


def _host(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or re.search(r"[\s/]", value.strip()):
        raise ValidationError("host", value, "must be a host name or IP address")
    return value.strip()


def _username(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError("username", value, "must be a non-empty string")
    return value


def _port(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise ValidationError("port", value, "must be a TCP port, 1 to 65535")
    return value


def _security(value: Any) -> str:
    if value not in _SECURITY:
        raise ValidationError("security", value, "must be 'ssl', 'starttls' or 'none'")
    return cast(str, value)


def _folders(value: Any) -> tuple[str, ...]:
    folders = _names(value, "folders")
    if not folders:
        raise ValidationError("folders", value, "must name at least one folder")
    streams: dict[str, str] = {}
    for folder in folders:
        if not isinstance(folder, str) or not folder.strip():
            raise ValidationError("folders", folder, "must be a non-empty folder name")
        name = stream_name(folder)
        if name in streams:
            raise ValidationError(
                "folders",
                value,
                f"{streams[name]!r} and {folder!r} would both be the stream {name!r}",
            )
        streams[name] = folder
    return tuple(folders)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("verify", value, "must be True or False")
    return value


def _ca_file(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not os.path.isfile(os.path.expanduser(value)):
        raise ValidationError("ca_file", value, "must be the path of a PEM file of CA certificates")
    return os.path.expanduser(value)


def _ssl_context(value: Any) -> ssl.SSLContext | None:
    if value is not None and not isinstance(value, ssl.SSLContext):
        raise ValidationError("ssl_context", type(value).__name__, "must be an ssl.SSLContext")
    return value


def _timeout(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValidationError("timeout", value, "must be a number of seconds above 0")
    return float(value)


def _batch(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 10_000:
        raise ValidationError("batch", value, "must be a whole number from 1 to 10000")
    return value


def _is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@attrs.frozen(kw_only=True)
class ImapConfig(MailOptions):
    """Settings of the ``imap`` connector.

    Besides these, the :class:`~cxm.connectors.mail.MailOptions`: ``own_addresses``,
    ``own_domains``, ``source`` and ``touchpoint``.

    Attributes:
        host: The server's host name.
        username: The login name.
        password: The password (a :class:`~cxm.connectors.Secret`; never printed).
        port: The TCP port; default 993 for ``ssl``, 143 otherwise.
        security: ``"ssl"`` (IMAPS, TLS from the first byte), ``"starttls"`` (the plain port,
            upgraded to TLS before the login) or ``"none"`` (no TLS: only to a loopback host,
            because the password would cross the network in clear text).
        folders: The folders to read, one stream each, named by :func:`stream_name`
            (``"INBOX"`` is the stream ``inbox``).
        verify: Check the server's certificate and host name (default). Turning it off
            exposes the password to anyone who can intercept the connection.
        ca_file: A PEM file of CA certificates to trust instead of the system's, for a
            server with a private or self-signed certificate.
        ssl_context: A ready :class:`ssl.SSLContext`, used instead of ``verify`` and
            ``ca_file``.
        timeout: Seconds to wait for the server before giving up.
        batch: Messages fetched per ``UID FETCH``, and between two checkpoints.
    """

    host: str = attrs.field(converter=_host)
    username: str = attrs.field(converter=_username)
    password: Secret = attrs.field(converter=secret)
    port: int | None = attrs.field(default=None, converter=_port)
    security: str = attrs.field(default="ssl", converter=_security)
    folders: tuple[str, ...] = attrs.field(default=("INBOX",), converter=_folders)
    verify: bool = attrs.field(default=True, converter=_flag)
    ca_file: str | None = attrs.field(default=None, converter=_ca_file)
    ssl_context: ssl.SSLContext | None = attrs.field(default=None, converter=_ssl_context, eq=False)
    timeout: float = attrs.field(default=30.0, converter=_timeout)
    batch: int = attrs.field(default=200, converter=_batch)

    def __attrs_post_init__(self) -> None:
        if self.security == "none" and not _is_loopback(self.host):
            raise ValidationError(
                "security",
                "none",
                f"IMAP without TLS sends the password in clear text; it is allowed only to a "
                f"loopback host (localhost, 127.0.0.1, ::1), not {self.host!r}: use 'ssl' or "
                "'starttls'",
            )
        if self.ssl_context is not None and (self.ca_file is not None or not self.verify):
            raise ValidationError(
                "ssl_context", "SSLContext", "give either ssl_context or verify/ca_file, not both"
            )

    @property
    def resolved_port(self) -> int:
        """The port connected to: ``port``, else 993 for ``ssl`` and 143 otherwise."""
        if self.port is not None:
            return self.port
        return 993 if self.security == "ssl" else 143


# -- the connection -------------------------------------------------------------------------------


def _readline(connection: imaplib.IMAP4) -> bytes:
    line = cast(bytes, connection.file.readline(_MAX_LINE + 1))
    if len(line) > _MAX_LINE:
        raise connection.error(f"got more than {_MAX_LINE} bytes in one line")
    return line


class _Plain(imaplib.IMAP4):
    # ``readline`` is imaplib's documented override point.
    def readline(self) -> bytes:
        return _readline(self)


class _Tls(imaplib.IMAP4_SSL):
    def readline(self) -> bytes:
        return _readline(self)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        # imaplib does not close the TCP socket when the TLS handshake fails (an untrusted
        # certificate), which leaks it until garbage collection.
        sock = socket.create_connection((self.host, self.port), timeout)
        try:
            context = cast(ssl.SSLContext, self.ssl_context)
            return context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _close(connection: imaplib.IMAP4) -> None:
    try:
        connection.logout()
    except (imaplib.IMAP4.error, OSError, ValueError):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            connection.shutdown()


def _internaldate(meta: bytes) -> datetime | None:
    match = _INTERNALDATE.search(meta)
    if match is None:
        return None
    day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = (
        part.decode("ascii") for part in match.groups()
    )
    offset = timedelta(hours=int(zone_hours), minutes=int(zone_minutes))
    try:
        return datetime(
            int(year),
            _MONTHS[month.lower()],
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=timezone(-offset if sign == "-" else offset),
        )
    except (KeyError, ValueError):
        return None


def _uid_set(uids: list[int]) -> str:
    """``[1, 2, 3, 7]`` as ``"1:3,7"``."""
    ranges: list[str] = []
    start = previous = uids[0]
    for uid in [*uids[1:], None]:
        if uid is not None and uid == previous + 1:
            previous = uid
            continue
        ranges.append(str(start) if start == previous else f"{start}:{previous}")
        if uid is not None:
            start = previous = uid
    return ",".join(ranges)


def _fetched(data: list[Any], wanted: set[int]) -> list[tuple[int, datetime | None, bytes]]:
    """``(uid, internaldate, message)`` from an imaplib ``UID FETCH`` answer, by UID."""
    found: dict[int, tuple[int, datetime | None, bytes]] = {}
    for index, entry in enumerate(data):
        if not isinstance(entry, tuple) or len(entry) != 2:
            continue  # the ")" closing an item, or an unsolicited FLAGS update
        head, body = entry
        if b"BODY[]" not in head.upper():
            continue
        # Items after the literal (a server may send UID last) arrive as the next element.
        following = data[index + 1] if index + 1 < len(data) else b""
        meta = head + b" " + (following if isinstance(following, bytes) else b"")
        match = _UID.search(meta)
        if match is None:
            continue
        uid = int(match.group(1))
        if uid in wanted:
            found[uid] = (uid, _internaldate(meta), bytes(body))
    return [found[uid] for uid in sorted(found)]


def _cursor(cursor: Any) -> tuple[int | None, int, Any]:
    """``(uidvalidity, last_uid, uidvalidity_changed_from)`` of a saved cursor."""
    if cursor is None:
        return None, 0, None
    try:
        return (
            int(cursor["uidvalidity"]),
            int(cursor["last_uid"]),
            cursor.get("uidvalidity_changed_from"),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        logger.warning("imap: unreadable cursor %r; reading the folder from the start", cursor)
        return None, 0, None


class ImapConnector(Connector):
    """E-mail from an IMAP server, one stream per folder.

    Every message of a folder becomes an interaction (see
    :func:`~cxm.connectors.mail.interaction_from_message`), with ``attributes["folder"]`` set
    to the folder's name. Folders are opened read-only and messages fetched with
    ``BODY.PEEK[]``, so nothing on the server changes: no message is marked as read.

    Raises:
        ValidationError: When built, for a bad option; ``security="none"`` to a host that is
            not a loopback address is refused.

    Examples:
        >>> imap = ImapConnector(host="imap.example.com", username="support@example.com",
        ...                      password="app-password", folders=["INBOX", "Sent Items"])
        >>> imap.state_key, [stream.name for stream in imap.streams()]
        ('imap:support@example.com@imap.example.com:993', ['inbox', 'sent-items'])
        >>> imap.config.password
        Secret('**********')
    """

    name = "imap"
    summary = "E-mail from an IMAP mailbox (IMAPS or STARTTLS), one stream per folder."
    Config = ImapConfig
    config: ImapConfig

    @property
    def state_key(self) -> str:
        """``"imap:<username>@<host>:<port>"``, shortened to 128 characters."""
        config = self.config
        return _short_key(self.name, f"{config.username}@{config.host}:{config.resolved_port}")

    @property
    def _where(self) -> str:
        return f"{self.config.host}:{self.config.resolved_port}"

    def streams(self) -> list[Stream]:
        """One stream per configured folder, named by :func:`stream_name`."""

        def reader(folder: str, name: str) -> Any:
            return lambda cursor: self.read_folder(folder, cursor, stream=name)

        return [
            Stream(
                name=stream_name(folder),
                read=reader(folder, stream_name(folder)),
                description=f"Messages in the IMAP folder {folder!r}",
            )
            for folder in self.config.folders
        ]

    def check(self) -> None:
        """Log in and open every configured folder.

        Raises:
            AuthError: If the server refused the login.
            ConnectorError: If a folder does not exist (the message lists those that do).
            UpstreamError: If the server cannot be reached, its certificate is not trusted,
                or it answered with an error.
        """
        with self._session(None) as connection:
            for folder in self.config.folders:
                self._select(connection, folder, None)

    def read_folder(self, folder: str, cursor: Any, *, stream: str | None = None) -> Iterator[Any]:
        """Yield the interactions of the messages in ``folder`` above the cursor's UID.

        Args:
            folder: The folder's name.
            cursor: ``{"uidvalidity": V, "last_uid": U}`` from a previous checkpoint, or
                ``None`` to read the whole folder.
            stream: The stream's name, for errors.

        Yields:
            Interactions, :class:`~cxm.connectors.Rejected` for messages that cannot be read,
            and a :class:`~cxm.connectors.Checkpoint` after every batch (and one at the end
            when there was nothing new). A cursor whose UIDVALIDITY differs from the folder's
            is discarded and the folder read from the start; the new cursor then records the
            old value as ``uidvalidity_changed_from``.
        """
        config = self.config
        saved_validity, last_uid, changed_from = _cursor(cursor)
        with self._session(stream) as connection:
            uidvalidity = self._select(connection, folder, stream)
            if saved_validity is not None and saved_validity != uidvalidity:
                logger.warning(
                    "imap %s: folder %r has a new UIDVALIDITY (%s, was %s), so its UIDs were "
                    "reassigned; reading it again from the start (messages already stored are "
                    "updated, not duplicated)",
                    self._where,
                    folder,
                    uidvalidity,
                    saved_validity,
                )
                changed_from, last_uid = saved_validity, 0
            state: dict[str, Any] = {"uidvalidity": uidvalidity, "last_uid": last_uid}
            if changed_from is not None:
                state["uidvalidity_changed_from"] = changed_from
            uids = self._search(connection, last_uid, stream)
            for start in range(0, len(uids), config.batch):
                batch = uids[start : start + config.batch]
                for uid, received_at, raw in self._fetch(connection, batch, stream):
                    try:
                        yield interaction_from_message(
                            raw,
                            source=config.source,
                            own_addresses=config.own_addresses,
                            own_domains=config.own_domains,
                            touchpoint=config.touchpoint,
                            received_at=received_at,
                            received_from="imap_internaldate",
                            attributes={"folder": folder},
                        )
                    except ValidationError as exc:
                        yield _rejected_message(str(exc), raw, f"{folder} UID {uid}")
                state["last_uid"] = batch[-1]
                yield Checkpoint(dict(state))
            if not uids:
                yield Checkpoint(dict(state))

    # -- IMAP commands --------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        password = self.config.password.reveal()
        return text.replace(password, _MASK) if password else text

    def _server_text(self, exc: BaseException) -> str:
        parts = [
            arg.decode("utf-8", errors="replace") if isinstance(arg, bytes) else str(arg)
            for arg in exc.args
        ]
        return self._scrub(" ".join(parts).strip() or type(exc).__name__)

    @contextlib.contextmanager
    def _errors(self, stream: str | None, doing: str) -> Iterator[None]:
        """Turn imaplib, socket and TLS errors into :class:`~cxm.UpstreamError`."""
        where = self._where
        try:
            yield
        except ConnectorError:
            raise
        except ssl.SSLCertVerificationError as exc:
            message = (
                f"the TLS certificate of {where} is not trusted ({exc.verify_message}); for a "
                "private or self-signed certificate give ca_file="
            )
            raise UpstreamError(message, connector=self.name, stream=stream) from exc
        except ssl.SSLError as exc:
            raise UpstreamError(
                f"TLS with {where} failed while {doing}: {self._scrub(str(exc))}",
                connector=self.name,
                stream=stream,
            ) from exc
        except TimeoutError as exc:
            raise UpstreamError(
                f"{where} did not answer within {self.config.timeout:g} s while {doing}",
                connector=self.name,
                stream=stream,
            ) from exc
        except OSError as exc:
            raise UpstreamError(
                f"cannot talk to {where} while {doing}: {self._scrub(exc.strerror or str(exc))}",
                connector=self.name,
                stream=stream,
            ) from exc
        except imaplib.IMAP4.abort as exc:
            raise UpstreamError(
                f"{where} dropped the connection while {doing}: {self._server_text(exc)}",
                connector=self.name,
                stream=stream,
            ) from exc
        except imaplib.IMAP4.error as exc:
            raise UpstreamError(
                f"{where} answered with an error while {doing}: {self._server_text(exc)}",
                connector=self.name,
                stream=stream,
            ) from exc

    def _tls(self) -> ssl.SSLContext:
        config = self.config
        if config.ssl_context is not None:
            return config.ssl_context
        context = ssl.create_default_context(cafile=config.ca_file)
        if not config.verify:
            logger.warning(
                "imap %s: TLS certificate checks are off (verify=False); the password can be "
                "intercepted",
                self._where,
            )
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self, stream: str | None) -> imaplib.IMAP4:
        config = self.config
        host, port = config.host, config.resolved_port
        with self._errors(stream, "connecting"):
            if config.security == "ssl":
                return _Tls(host, port, ssl_context=self._tls(), timeout=config.timeout)
            connection = _Plain(host, port, timeout=config.timeout)
            if config.security == "starttls":
                try:
                    connection.starttls(ssl_context=self._tls())
                except BaseException:
                    _close(connection)
                    raise
            return connection

    def _login(self, connection: imaplib.IMAP4, stream: str | None) -> None:
        username, password = self.config.username, self.config.password.reveal()
        with self._errors(stream, "logging in"):
            try:
                if username.isascii() and password.isascii():
                    connection.login(username, password)
                else:
                    # LOGIN takes ASCII only; SASL PLAIN carries UTF-8 (RFC 4616).
                    credentials = f"\0{username}\0{password}".encode()
                    connection.authenticate("PLAIN", lambda challenge: credentials)
            except imaplib.IMAP4.abort:
                raise
            except imaplib.IMAP4.error as exc:
                raise AuthError(
                    f"{self._where} refused the login of {username!r}: {self._server_text(exc)}",
                    connector=self.name,
                    stream=stream,
                ) from None

    @contextlib.contextmanager
    def _session(self, stream: str | None) -> Iterator[imaplib.IMAP4]:
        connection = self._connect(stream)
        try:
            self._login(connection, stream)
            yield connection
        finally:
            _close(connection)

    def _folder_names(self, connection: imaplib.IMAP4) -> list[str]:
        typ, data = connection.list()
        if typ != "OK":
            return []
        names = []
        for entry in data:
            if isinstance(entry, tuple):  # a name sent as a literal
                names.append(_decode_folder(bytes(entry[1]).decode("utf-8", errors="replace")))
                continue
            match = _LIST_LINE.match(entry) if isinstance(entry, bytes) else None
            if match is not None:
                names.append(_decode_folder(_unquoted(match.group("name"))))
        return sorted(names)

    def _select(self, connection: imaplib.IMAP4, folder: str, stream: str | None) -> int:
        """Open ``folder`` read-only and return its UIDVALIDITY."""
        with self._errors(stream, f"opening folder {folder!r}"):
            typ, data = connection.select(_quoted(_encode_folder(folder)), readonly=True)
            if typ != "OK":
                names = self._folder_names(connection)
                if folder not in names:
                    raise ConnectorError(
                        f"folder {folder!r} does not exist on {self._where}; its folders: "
                        + (", ".join(repr(name) for name in names) or "none listed"),
                        connector=self.name,
                        stream=stream,
                    )
                raise ConnectorError(
                    f"cannot open folder {folder!r} on {self._where}: "
                    + self._scrub(b" ".join(d for d in data if isinstance(d, bytes)).decode()),
                    connector=self.name,
                    stream=stream,
                )
            _, values = connection.response("UIDVALIDITY")
            value = values[0] if values else None
            if value is None:
                # Every server sends it with SELECT; STATUS asks for it when one did not.
                typ, data = connection.status(_quoted(_encode_folder(folder)), "(UIDVALIDITY)")
                found = re.search(rb"UIDVALIDITY (\d+)", data[0] or b"") if data else None
                value = found.group(1) if found else None
            if value is None:
                raise UpstreamError(
                    f"{self._where} did not give the UIDVALIDITY of {folder!r}",
                    connector=self.name,
                    stream=stream,
                )
            return int(value)

    def _search(self, connection: imaplib.IMAP4, last_uid: int, stream: str | None) -> list[int]:
        """The UIDs above ``last_uid``, ascending."""
        with self._errors(stream, "searching for new messages"):
            typ, data = connection.uid("SEARCH", f"UID {last_uid + 1}:*")
            if typ != "OK":
                raise imaplib.IMAP4.error(data[0] if data else typ)
        words = b" ".join(item for item in data if isinstance(item, bytes)).split()
        # "N:*" always matches the highest UID, even when it is below N (RFC 3501, 6.4.8).
        return sorted({int(word) for word in words if word.isdigit() and int(word) > last_uid})

    def _fetch(
        self, connection: imaplib.IMAP4, uids: list[int], stream: str | None
    ) -> list[tuple[int, datetime | None, bytes]]:
        with self._errors(stream, f"fetching {len(uids)} messages"):
            typ, data = connection.uid("FETCH", _uid_set(uids), _FETCH_ITEMS)
            if typ != "OK":
                raise imaplib.IMAP4.error(data[0] if data else typ)
        # A message expunged since the search is simply absent from the answer.
        return _fetched(list(data), set(uids))
