"""The ``csv`` and ``jsonl`` connectors: rows of files, mapped to interactions or customers.

Each connector reads one file, a directory or a glob pattern of files, streaming: a file is
read in binary, line by line, and never held whole, so memory does not grow with its size.
Every row goes through a :class:`~cxm.connectors.mapping.FieldMapping` compiled once per file.
A row that cannot become a record (wrong column count, a date that does not parse, a score off
its scale, bytes the encoding cannot decode, a line that is not a JSON object) is quarantined
with its line number and the reason; a file that cannot be read at all is a
:class:`~cxm.ConnectorError`. The cursor keeps, per file, its size and modification time, the
byte offset and line number of the next unread line, and a CRC-32 of every byte before that
offset: an unchanged file is skipped without being opened, a file that grew with the same
prefix resumes where the last sync stopped, and a file rewritten in any byte is read again from
the start (its unchanged rows then count as unchanged, since records upsert by ``source`` and
``source_id``). Checkpoints every ``checkpoint_every`` rows let a killed sync resume inside a
file.
"""

from __future__ import annotations

import codecs
import csv
import glob
import hashlib
import operator
import os
import re
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any, ClassVar

import attrs
import orjson

from cxm.connectors.base import Checkpoint, Connector, Rejected, Stream
from cxm.connectors.mapping import (
    FieldMapping,
    RowBuilder,
    check_timezone,
    describe_missing,
)
from cxm.connectors.options import SOURCE_PATTERN
from cxm.exceptions import ConnectorError, ValidationError

__all__ = ["CsvConfig", "CsvConnector", "JsonlConfig", "JsonlConnector", "default_source"]

STREAM = "rows"
_BOM = codecs.BOM_UTF8
_UTF8 = ("utf-8", "utf-8-sig")
_NOT_SOURCE = re.compile(r"[^a-z0-9_.-]+")
_MAX_STATE_KEY = 128
# A quarantined row keeps at most this much of its text: a runaway quoted field can swallow
# megabytes, and the quarantine table is for reading, not for storing the file again.
_RAW_LIMIT = 64 * 1024
_CRC_CHUNK = 1 << 20
_GLOB_CHARS = frozenset("*?[")


# -- option converters ------------------------------------------------------------------------


def _path(value: Any) -> str:
    try:
        text = os.fspath(value)
    except TypeError:
        raise ValidationError("path", value, "must be a file path, a directory or a glob") from None
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("path", value, "must be a file path, a directory or a glob")
    # Absolute now, so the state key and the cursor's file names do not depend on the working
    # directory of a later sync.
    return os.path.abspath(os.path.expanduser(text))


def _mapping(value: Any) -> FieldMapping:
    return FieldMapping.from_dict(value)


def _source(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not SOURCE_PATTERN.fullmatch(value):
        raise ValidationError(
            "source", value, "must be a lower-case name of letters, digits, '_', '.' or '-'"
        )
    return value


def _encoding(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError("encoding", value, "must be the name of a text encoding")
    try:
        codec = codecs.lookup(value)
    except LookupError:
        raise ValidationError("encoding", value, "unknown encoding") from None
    if codec.name in _UTF8:
        return codec.name
    probe = "\n\r,;\t|\"'"
    try:
        # Lines are split on b"\n" before decoding, which only works when ASCII is ASCII.
        ascii_compatible = probe.encode(codec.name) == probe.encode("ascii")
    except (UnicodeError, LookupError, TypeError):
        ascii_compatible = False
    if not ascii_compatible:
        raise ValidationError(
            "encoding",
            value,
            "must encode ASCII as ASCII (utf-8, latin-1, cp1252, ...); convert UTF-16 files to "
            "UTF-8 first",
        )
    return codec.name


def _one_character(field: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) != 1 or value in "\r\n":
        raise ValidationError(field, value, "must be one character, not a line break")
    return value


def _delimiter(value: Any) -> str:
    return _one_character("delimiter", value)


def _quotechar(value: Any) -> str:
    return _one_character("quotechar", value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("has_header", value, "must be True or False")
    return value


def _columns(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value:
        raise ValidationError("columns", value, "must be a non-empty list of column names")
    for name in value:
        if not isinstance(name, str) or not name:
            raise ValidationError("columns", value, "names must be non-empty strings")
    return tuple(value)


def _count(field: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(field, value, f"must be a whole number >= {minimum}")
    return value


def _skip_rows(value: Any) -> int:
    return _count("skip_rows", value, 0)


def _checkpoint_every(value: Any) -> int:
    return _count("checkpoint_every", value, 1)


def _region(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 2 or not value.isalpha():
        raise ValidationError("region", value, "must be an ISO 3166-1 alpha-2 code like 'GB'")
    return value.upper()


# -- configs ----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _FileConfig:
    """The options the csv and jsonl connectors share (documented on each)."""

    path: str = attrs.field(converter=_path)
    mapping: FieldMapping = attrs.field(converter=_mapping)
    source: str | None = attrs.field(default=None, converter=_source)
    encoding: str = attrs.field(default="utf-8", converter=_encoding)
    region: str | None = attrs.field(default=None, converter=_region)
    default_timezone: str | None = attrs.field(default=None, converter=check_timezone)
    checkpoint_every: int = attrs.field(default=5_000, converter=_checkpoint_every)


@attrs.frozen(kw_only=True)
class JsonlConfig(_FileConfig):
    """Settings of the ``jsonl`` connector (see :class:`JsonlConnector`).

    Attributes:
        path: A file, a directory (its ``*.jsonl`` and ``*.ndjson`` files) or a glob pattern
            (``"exports/*.jsonl"``; ``**`` recurses); files are read in sorted order, each with
            its own entry in the cursor. Stored as an absolute path.
        mapping: The :class:`~cxm.connectors.mapping.FieldMapping`, or its dict form.
        source: The records' ``source``; default ``"jsonl-<file stem>"``, lower-cased.
            Keep it stable: a re-sync updates records by ``source`` and ``source_id``.
        encoding: Text encoding of the file (ASCII-compatible: ``utf-8``, ``latin-1``,
            ``cp1252``, ...); a UTF-8 byte-order mark is skipped either way.
        region: ISO region for national phone numbers (``"GB"``).
        default_timezone: IANA zone of date values without an offset, for date columns whose
            mapping names no zone.
        checkpoint_every: Rows between two checkpoints (at most this many are read again
            after a killed sync).
    """


@attrs.frozen(kw_only=True)
class CsvConfig(_FileConfig):
    r"""Settings of the ``csv`` connector (see :class:`CsvConnector`).

    Attributes:
        path: A file, a directory (its ``*.csv`` and ``*.tsv`` files) or a glob pattern
            (``"exports/*.csv"``; ``**`` recurses); files are read in sorted order, each with
            its own entry in the cursor. Stored as an absolute path.
        mapping: The :class:`~cxm.connectors.mapping.FieldMapping`, or its dict form.
        source: The records' ``source``; default ``"csv-<file stem>"``, lower-cased.
            Keep it stable: a re-sync updates records by ``source`` and ``source_id``.
        encoding: Text encoding of the file (ASCII-compatible: ``utf-8``, ``latin-1``,
            ``cp1252``, ...); a UTF-8 byte-order mark is skipped either way.
        region: ISO region for national phone numbers (``"GB"``).
        default_timezone: IANA zone of date values without an offset, for date columns whose
            mapping names no zone.
        checkpoint_every: Rows between two checkpoints (at most this many are read again
            after a killed sync).
        delimiter: The field separator (``","``, ``";"``, ``"\t"``).
        quotechar: The quote character.
        has_header: Whether the first row (after ``skip_rows``) names the columns.
        columns: The column names in order: required when ``has_header`` is false; with a
            header, they replace its names.
        skip_rows: Lines to skip before the header (a report's title lines).
    """

    delimiter: str = attrs.field(default=",", converter=_delimiter)
    quotechar: str = attrs.field(default='"', converter=_quotechar)
    has_header: bool = attrs.field(default=True, converter=_flag)
    columns: tuple[str, ...] | None = attrs.field(default=None, converter=_columns)
    skip_rows: int = attrs.field(default=0, converter=_skip_rows)

    def __attrs_post_init__(self) -> None:
        if self.delimiter == self.quotechar:
            raise ValidationError("quotechar", self.quotechar, "must differ from the delimiter")
        if not self.has_header and self.columns is None:
            raise ValidationError("columns", None, "is required when has_header is False")
        if self.columns is not None:
            present = set(self.columns)
            missing = [(c, key) for c, key in self.mapping.columns() if c not in present]
            if missing:
                raise ValidationError(
                    "columns", list(self.columns), describe_missing(missing, self.columns)
                )


# -- reading helpers --------------------------------------------------------------------------


def _crc(handle: IO[bytes], start: int, end: int, crc: int) -> int:
    """Extend ``crc`` over the bytes ``[start, end)`` of the file; the position is kept."""
    if end <= start:
        return crc
    position = handle.tell()
    handle.seek(start)
    left = end - start
    while left > 0:
        chunk = handle.read(min(left, _CRC_CHUNK))
        if not chunk:
            break
        crc = zlib.crc32(chunk, crc)
        left -= len(chunk)
    handle.seek(position)
    return crc


def _text_between(handle: IO[bytes], start: int, end: int, encoding: str) -> str:
    """Return (at most :data:`_RAW_LIMIT` bytes of) ``[start, end)``, undecodable bytes escaped."""
    position = handle.tell()
    handle.seek(start)
    data = handle.read(max(0, min(end - start, _RAW_LIMIT)))
    handle.seek(position)
    return data.decode(encoding, "backslashreplace")


def _offset_of_line(handle: IO[bytes], anchor: tuple[int, int], line: int) -> int:
    """Return the byte offset where physical line ``line`` starts; the position is kept.

    ``anchor`` is a known ``(offset, line)`` at or before it. Rows do not record their
    offsets as they are read (``tell()`` per row would double the cost of reading); the rare
    row that needs one is found again by counting lines from the last known place.
    """
    position = handle.tell()
    offset, at = anchor
    handle.seek(offset)
    while at < line:
        if not handle.readline():
            break
        at += 1
    found = handle.tell()
    handle.seek(position)
    return found


def _ends_with_newline(handle: IO[bytes], end: int) -> bool:
    if end == 0:
        return True
    position = handle.tell()
    handle.seek(end - 1)
    last = handle.read(1)
    handle.seek(position)
    return last == b"\n"


def _entries(cursor: Any) -> dict[str, dict[str, Any]]:
    """Return the cursor's per-file entries; anything malformed is dropped (read again)."""
    if not isinstance(cursor, dict) or not isinstance(cursor.get("files"), dict):
        return {}
    out = {}
    for path, entry in cursor["files"].items():
        if isinstance(entry, dict) and all(
            isinstance(entry.get(key), int) and not isinstance(entry.get(key), bool)
            for key in ("mtime_ns", "size", "offset", "line", "crc")
        ):
            out[path] = {**entry, "done": entry.get("done") is True}
    return out


@attrs.define
class _FileProgress:
    """Where the reading of one file stands; turns positions into checkpoints."""

    path: str
    handle: IO[bytes]
    stat: os.stat_result
    state: dict[str, dict[str, Any]]
    offset: int
    line: int
    crc: int

    def checkpoint(self, offset: int, line: int, *, done: bool = False) -> Checkpoint:
        if offset >= self.offset:
            self.crc = _crc(self.handle, self.offset, offset, self.crc)
        else:  # moved back to re-read a last line that had no line break
            self.crc = _crc(self.handle, 0, offset, 0)
        self.offset = offset
        self.line = line
        self.state[self.path] = {
            "mtime_ns": self.stat.st_mtime_ns,
            "size": self.stat.st_size,
            "offset": offset,
            "line": line,
            "crc": self.crc,
            "done": done,
        }
        return Checkpoint({"files": dict(self.state)})


# -- the connectors ---------------------------------------------------------------------------


class _FileConnector(Connector):
    """What the csv and jsonl connectors share: files, state, checkpoints and errors."""

    extensions: ClassVar[tuple[str, ...]] = ()
    config: _FileConfig

    def __init__(self, config: Any = None, /, **options: Any) -> None:
        if config is None and "mapping" in options:
            # Converted here rather than by the config, so that an error names the mapping key
            # under the connector: "csv.mapping.occurred_at".
            try:
                options = {**options, "mapping": FieldMapping.from_dict(options["mapping"])}
            except ValidationError as exc:
                raise ValidationError(f"{self.name}.{exc.field}", exc.value, exc.reason) from None
        super().__init__(config, **options)

    @property
    def source(self) -> str:
        """The records' ``source``: the configured one, or derived from the path's stem."""
        if self.config.source is not None:
            return self.config.source
        return default_source(self.name, self.config.path)

    @property
    def state_key(self) -> str:
        """``"<name>:<absolute path or pattern>"``, shortened with a hash past 128 characters."""
        key = f"{self.name}:{self.config.path}"
        if len(key) <= _MAX_STATE_KEY:
            return key
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        head = f"{self.name}:{digest}:..."
        return head + self.config.path[-(_MAX_STATE_KEY - len(head)) :]

    def streams(self) -> list[Stream]:
        """Return the one stream, ``rows``."""
        return [
            Stream(
                name=STREAM,
                read=self._read,
                description=f"rows of {self.config.path} as {self.config.mapping.record} records",
            )
        ]

    def check(self) -> None:
        """Check that every file can be opened (and, for CSV, that its header has the columns).

        Raises:
            ConnectorError: Naming the file and what is wrong with it.
        """
        for path in self.files():
            with self._open(path) as handle:
                self._prepare(handle, path)

    def files(self) -> list[str]:
        """Return the files the path names, sorted.

        Raises:
            ConnectorError: If the file is missing, or a pattern or directory matches none.
        """
        path = self.config.path
        if os.path.isfile(path):
            return [path]
        if _GLOB_CHARS & set(path):
            found = sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
            if not found:
                raise self._error(f"no file matches {path}")
            return found
        if os.path.isdir(path):
            found = sorted(
                os.path.join(path, name)
                for name in os.listdir(path)
                if not name.startswith(".")
                and name.lower().endswith(self.extensions)
                and os.path.isfile(os.path.join(path, name))
            )
            if not found:
                listed = " or ".join(f"*{e}" for e in self.extensions)
                raise self._error(f"no {listed} file in the directory {path}")
            return found
        if not os.path.exists(path):
            raise self._error(f"cannot read {path}: no such file")
        return [path]

    # -- reading ------------------------------------------------------------------------

    def _read(self, cursor: Any) -> Iterator[Any]:
        try:
            files = self.files()
        except ConnectorError as exc:
            raise exc.in_context(stream=STREAM) from None
        known = _entries(cursor)
        # Entries of files no longer matched are dropped, so the cursor stays as small as the
        # set of files.
        state = {path: known[path] for path in files if path in known}
        for path in files:
            yield from self._read_file(path, state)
        yield Checkpoint({"files": dict(state)})

    def _read_file(self, path: str, state: dict[str, dict[str, Any]]) -> Iterator[Any]:
        try:
            stat = os.stat(path)
        except OSError as exc:
            raise self._unreadable(path, exc, stream=STREAM) from exc
        entry = state.get(path)
        if (
            entry is not None
            and entry["done"]
            and entry["mtime_ns"] == stat.st_mtime_ns
            and entry["size"] == stat.st_size
        ):
            return  # unchanged since the last sync: not even opened
        with self._open(path, stream=STREAM) as handle:
            start, line, builder = self._prepare(handle, path, stream=STREAM)
            offset, crc = start, _crc(handle, 0, start, 0)
            # Same bytes before the saved offset: an append or an interrupted sync, so go on
            # from there. Any other change means a rewrite: read it all again.
            if (
                entry is not None
                and start <= entry["offset"] <= stat.st_size
                and _crc(handle, 0, entry["offset"], 0) == entry["crc"]
            ):
                offset, line, crc = entry["offset"], entry["line"], entry["crc"]
            handle.seek(offset)
            progress = _FileProgress(path, handle, stat, state, offset, line, crc)
            if builder is None:  # an empty file
                yield progress.checkpoint(offset, line, done=True)
                return
            yield from self._rows(handle, path, builder, progress)

    def _open(self, path: str, stream: str | None = None) -> IO[bytes]:
        try:
            return open(path, "rb")  # closed by the caller's with-block
        except OSError as exc:
            raise self._unreadable(path, exc, stream=stream) from exc

    def _prepare(
        self, handle: IO[bytes], path: str, stream: str | None = None
    ) -> tuple[int, int, RowBuilder | None]:
        """Read what precedes the rows; return ``(offset, line number, builder)`` of the first.

        The builder is ``None`` for a file with no content at all.
        """
        raise NotImplementedError

    def _rows(
        self, handle: IO[bytes], path: str, builder: RowBuilder, progress: _FileProgress
    ) -> Iterator[Any]:
        raise NotImplementedError

    def _skip_bom(self, handle: IO[bytes]) -> int:
        handle.seek(0)
        if self.config.encoding in _UTF8 and handle.read(len(_BOM)) == _BOM:
            return len(_BOM)
        handle.seek(0)
        return 0

    def _builder(self, columns: list[str] | tuple[str, ...] | None) -> RowBuilder:
        return self.config.mapping.compile(
            columns,
            source=self.source,
            region=self.config.region,
            default_timezone=self.config.default_timezone,
        )

    @property
    def _decoding(self) -> str:
        # The BOM is skipped by hand at the start of the file, so lines decode as plain UTF-8.
        return "utf-8" if self.config.encoding in _UTF8 else self.config.encoding

    def _error(self, message: str, stream: str | None = None) -> ConnectorError:
        return ConnectorError(message, connector=self.name, stream=stream)

    def _unreadable(self, path: str, exc: OSError, stream: str | None = None) -> ConnectorError:
        return self._error(f"cannot read {path}: {exc.strerror or exc}", stream=stream)


def default_source(connector: str, path: str) -> str:
    """Derive a record ``source`` from a connector name and a path: ``"csv-orders"``.

    The stem of the file (or of the pattern, or the directory's name) is lower-cased and every
    run of characters a source may not hold becomes one ``-``.

    Examples:
        >>> default_source("csv", "/data/Orders 2025.csv")
        'csv-orders-2025'
        >>> default_source("jsonl", "/data/exports/reviews-*.jsonl")
        'jsonl-reviews'
    """
    name = os.path.basename(path.rstrip("/\\")) or "rows"
    stem = name.split(".", 1)[0] if not name.startswith(".") else name
    cleaned = _NOT_SOURCE.sub("-", stem.lower()).strip("-_.")
    return f"{connector}-{cleaned}"[:64].rstrip("-_.") if cleaned else connector


class CsvConnector(_FileConnector):
    """Rows of CSV files as interactions or customer records, through a field mapping.

    Examples:
        >>> import cxm
        >>> ws = cxm.Workspace.open(":memory:")              # doctest: +SKIP
        >>> ws.sync("csv", path="orders.csv", mapping={       # doctest: +SKIP
        ...     "source_id": "order_id",
        ...     "occurred_at": {"column": "created", "format": "%d/%m/%Y %H:%M",
        ...                     "timezone": "Europe/Berlin"},
        ...     "channel": {"value": "store"}, "kind": {"value": "purchase"},
        ...     "identities": {"email": "email"},
        ... })
    """

    name = "csv"
    summary = "Rows of CSV files as interactions or customer records, through a field mapping"
    Config = CsvConfig
    extensions = (".csv", ".tsv")
    config: CsvConfig

    def _prepare(
        self, handle: IO[bytes], path: str, stream: str | None = None
    ) -> tuple[int, int, RowBuilder | None]:
        config = self.config
        self._skip_bom(handle)
        line = 1
        for _ in range(config.skip_rows):
            if not handle.readline():
                break
            line += 1
        header: list[str] | None = None
        if config.has_header:
            lines = _StrictLines(handle, self._decoding)
            try:
                row = next(csv.reader(lines, **self._dialect), None)
            except UnicodeDecodeError as exc:
                raise self._error(
                    f"cannot read {path}: the header row (line {line}) is not valid "
                    f"{config.encoding} at byte {exc.start + 1} ({exc.reason}); set encoding=",
                    stream=stream,
                ) from None
            except csv.Error as exc:
                raise self._error(
                    f"cannot read {path}: the header row (line {line}): {exc}", stream=stream
                ) from None
            if row is None:
                return handle.tell(), line, None
            line += lines.count
            header = [name.strip() for name in row]
        columns = config.columns if config.columns is not None else header
        if columns is None:  # pragma: no cover - the config refuses this combination
            raise self._error("has_header=False needs columns=", stream=stream)
        if header is not None and len(header) != len(columns):
            raise self._error(
                f"cannot read {path}: the header has {len(header)} columns, columns= names "
                f"{len(columns)}",
                stream=stream,
            )
        try:
            builder = self._builder(columns)
        except ValidationError as exc:
            raise self._error(
                f"cannot read {path}: the header {exc.reason}", stream=stream
            ) from None
        return handle.tell(), line, builder

    @property
    def _line_decoder(self) -> Callable[[bytes], str]:
        # A C function mapped over the file's lines keeps the per-line cost out of Python.
        encoding = self._decoding
        if encoding == "utf-8":
            return bytes.decode
        return operator.methodcaller("decode", encoding)

    @property
    def _dialect(self) -> dict[str, Any]:
        return {"delimiter": self.config.delimiter, "quotechar": self.config.quotechar}

    def _rows(
        self, handle: IO[bytes], path: str, builder: RowBuilder, progress: _FileProgress
    ) -> Iterator[Any]:
        decode = self._line_decoder
        dialect = self._dialect
        every = self.config.checkpoint_every
        width = builder.width
        build = builder.__call__  # a bound method: no per-row lookup of __call__
        # Line numbers: ``base`` is the physical line before the reader's first; the csv
        # reader counts the lines it consumed (``line_num``), so a row's first line is
        # ``base + end + 1`` where ``end`` is the count after the previous row.
        base = progress.line - 1
        anchor = (progress.offset, progress.line)  # a known (offset, line) for _offset_of_line
        prior = anchor  # the one before, for a row read just before the latest checkpoint
        since = 0
        first = 0
        while True:
            reader = csv.reader(map(decode, handle), **dialect)
            end = 0
            try:
                for cells in reader:
                    first = base + end + 1
                    end = reader.line_num
                    if len(cells) != width:
                        if not cells:
                            continue  # a blank line
                        yield Rejected(
                            reason=f"line {first}: expected {width} columns, found {len(cells)}",
                            raw={"file": path, "line": first, "row": cells},
                        )
                    else:
                        yield _record_or_rejection(build, cells, path, first)
                    since += 1
                    if since >= every:
                        since = 0
                        checkpoint = progress.checkpoint(handle.tell(), base + end + 1)
                        prior, anchor = anchor, (progress.offset, progress.line)
                        yield checkpoint
            except UnicodeDecodeError as exc:
                first = base + end + 1
                rejected, base = self._undecodable_row(
                    handle,
                    path,
                    anchor=anchor,
                    first=first,
                    bad_line=base + reader.line_num + 1,
                    exc=exc,
                )
            except csv.Error as exc:
                first = base + end + 1
                rejected, base = self._malformed_row(
                    handle, path, anchor=anchor, first=first, last=base + reader.line_num, exc=exc
                )
            else:
                break
            yield rejected
            anchor = (handle.tell(), base + 1)
            end = 0
            since += 1
        offset, line = handle.tell(), base + end + 1
        if first and not _ends_with_newline(handle, offset):
            # The last line has no line break: it may be half-written. Its row was read, but
            # the cursor points at its start, so a sync after an append reads it again whole.
            # ``prior`` lies at or before that row's first line, even when a checkpoint or a
            # quarantined row moved ``anchor`` past it.
            offset, line = _offset_of_line(handle, prior, first), first
        yield progress.checkpoint(offset, line, done=True)

    def _undecodable_row(
        self,
        handle: IO[bytes],
        path: str,
        *,
        anchor: tuple[int, int],
        first: int,
        bad_line: int,
        exc: UnicodeDecodeError,
    ) -> tuple[Rejected, int]:
        r"""Quarantine the row holding bytes the encoding cannot decode; go on after it.

        The fast reader stopped inside the row that begins on line ``first``. It is read again
        from its start with the bad bytes escaped (``\xff``), so its cells are kept and the
        next row starts where it should, even when a quoted field spans lines.

        Returns:
            ``(the Rejected item, the last line of the row)``; the file is left after the row.
        """
        start = _offset_of_line(handle, anchor, first)
        handle.seek(start)
        lines = _LenientLines(handle, self._decoding)
        cells = next(csv.reader(lines, **self._dialect), [])
        line_offset, error = lines.problem or (start, exc)
        reason = (
            f"line {first}: bytes the encoding {self.config.encoding} cannot decode at line "
            f"{bad_line}, byte {error.start + 1} (file offset {line_offset + error.start}): "
            f"{error.reason}"
        )
        raw = {"file": path, "line": first, "row": cells}
        return Rejected(reason=reason, raw=raw), first - 1 + max(lines.count, 1)

    def _malformed_row(
        self,
        handle: IO[bytes],
        path: str,
        *,
        anchor: tuple[int, int],
        first: int,
        last: int,
        exc: csv.Error,
    ) -> tuple[Rejected, int]:
        """Quarantine a row the csv module refused (a runaway quoted field); go on after it.

        Returns:
            ``(the Rejected item, the last line the row took)``.
        """
        start = _offset_of_line(handle, anchor, first)
        text = _text_between(handle, start, handle.tell(), self._decoding)
        reason = (
            f"line {first}: {exc} (lines {first}-{last} read as one row; is a quote left open?)"
        )
        raw = {"file": path, "line": first, "text": text}
        return Rejected(reason=reason, raw=raw), last


class _LenientLines:
    """Decoded lines of a binary file, one at a time; undecodable bytes escaped, not raised."""

    def __init__(self, handle: IO[bytes], encoding: str) -> None:
        self.handle = handle
        self.encoding = encoding
        self.count = 0
        self.problem: tuple[int, UnicodeDecodeError] | None = None

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        offset = self.handle.tell()
        raw = self.handle.readline()
        if not raw:
            raise StopIteration
        self.count += 1
        try:
            return raw.decode(self.encoding)
        except UnicodeDecodeError as exc:
            if self.problem is None:
                self.problem = (offset, exc)
            return raw.decode(self.encoding, "backslashreplace")


class _StrictLines(_LenientLines):
    """Decoded lines of a binary file, one at a time; undecodable bytes raise."""

    def __next__(self) -> str:
        raw = self.handle.readline()
        if not raw:
            raise StopIteration
        self.count += 1
        return raw.decode(self.encoding)


class JsonlConnector(_FileConnector):
    """JSON lines (one JSON object a line) as interactions or customer records.

    The mapping names fields; a dotted name (``"customer.email"``) reaches into nested objects.
    Values keep their JSON types (numbers stay numbers). Blank lines are skipped.

    Examples:
        >>> import cxm
        >>> ws = cxm.Workspace.open(":memory:")              # doctest: +SKIP
        >>> ws.sync("jsonl", path="reviews.jsonl", mapping={  # doctest: +SKIP
        ...     "source_id": "id", "occurred_at": "created_at",
        ...     "channel": {"value": "review_site"}, "kind": {"value": "review"},
        ...     "text": "body", "identities": {"email": "author.email"},
        ...     "feedback": [{"metric": "rating", "score": "stars"}],
        ... })
    """

    name = "jsonl"
    summary = "JSON lines files as interactions or customer records, through a field mapping"
    Config = JsonlConfig
    extensions = (".jsonl", ".ndjson")

    def _prepare(
        self, handle: IO[bytes], path: str, stream: str | None = None
    ) -> tuple[int, int, RowBuilder | None]:
        offset = self._skip_bom(handle)
        return offset, 1, self._builder(None)

    def _rows(
        self, handle: IO[bytes], path: str, builder: RowBuilder, progress: _FileProgress
    ) -> Iterator[Any]:
        encoding = self._decoding
        loads = orjson.loads
        utf8 = encoding == "utf-8"
        every = self.config.checkpoint_every
        build = builder.__call__
        offset = progress.offset
        line = progress.line - 1
        start = offset
        raw = b""
        since = 0
        for raw in handle:
            line += 1
            start = offset
            offset += len(raw)
            if raw.isspace():
                continue
            try:
                row = loads(raw if utf8 else raw.decode(encoding))
            except ValueError:  # orjson.JSONDecodeError and UnicodeDecodeError both are
                yield self._unreadable_line(raw, path, line, start)
            else:
                if type(row) is not dict:
                    yield Rejected(
                        reason=f"line {line}: a JSON {_json_kind(row)}, not an object",
                        raw={"file": path, "line": line, "row": row},
                    )
                else:
                    yield _record_or_rejection(build, row, path, line)
            since += 1
            if since >= every:
                since = 0
                yield progress.checkpoint(offset, line + 1)
        if raw and not raw.endswith(b"\n"):
            # A last line without a line break may be half-written: point the cursor at its
            # start, so a sync after an append reads it again whole.
            offset, line = start, line - 1
        yield progress.checkpoint(offset, line + 1, done=True)

    def _unreadable_line(self, raw: bytes, path: str, line: int, start: int) -> Rejected:
        encoding = self._decoding
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            return Rejected(
                reason=(
                    f"line {line}: bytes the encoding {self.config.encoding} cannot decode at "
                    f"byte {exc.start + 1} (file offset {start + exc.start}): {exc.reason}"
                ),
                raw={
                    "file": path,
                    "line": line,
                    "text": _clip(raw.decode(encoding, "backslashreplace")),
                },
            )
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            why = str(exc)
        else:  # pragma: no cover - loads failed on the same text a moment ago
            why = "invalid JSON"
        return Rejected(
            reason=f"line {line}: not valid JSON: {why}",
            raw={"file": path, "line": line, "text": _clip(text)},
        )


def _record_or_rejection(build: Any, row: Any, path: str, line: int) -> Any:
    """Build one row's record, or the rejection naming its line when the row is invalid."""
    try:
        return build(row)
    except ValidationError as exc:
        return Rejected(reason=f"line {line}: {exc}", raw={"file": path, "line": line, "row": row})


def _clip(text: str) -> str:
    return text if len(text) <= _RAW_LIMIT else text[:_RAW_LIMIT] + "..."


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"
