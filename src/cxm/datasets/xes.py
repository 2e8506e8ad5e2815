"""Read XES event logs, the IEEE standard format of process mining, into a flat DataFrame.

An XES file (IEEE 1849-2016) is a ``<log>`` of ``<trace>`` elements (the cases), each holding
``<event>`` elements; traces and events carry typed attributes (``<string>``, ``<date>``,
``<int>``, ``<float>``, ``<boolean>``, ``<id>``) named by their ``key``. Public process-mining
logs (the 4TU.ResearchData collection, the BPI challenges) are published in it. The reader
streams the file with :func:`xml.etree.ElementTree.iterparse`, clearing every trace once read,
so memory follows the size of the resulting frame rather than of the XML tree, and it needs no
process-mining library. A file ending in ``.gz`` is decompressed on the fly.
"""

from __future__ import annotations

import gzip
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import IO, Any, cast

import numpy as np
import pandas as pd

from cxm.exceptions import ValidationError

__all__ = ["read_xes"]

_TYPES = frozenset({"string", "date", "int", "float", "boolean", "id"})


def _local(tag: str) -> str:
    """An element's tag without its XML namespace (``{http://...}event`` -> ``event``)."""
    return tag.rsplit("}", 1)[-1]


def _attributes(element: ET.Element, kinds: dict[str, str]) -> Iterator[tuple[str, str, str]]:
    """The element's direct typed attributes as ``(key, type, value)``; nested ones skipped."""
    for child in element:
        kind = kinds.get(child.tag)
        if kind is not None:
            key = child.get("key")
            value = child.get("value")
            if key is not None and value is not None:
                yield key, kind, value


def _convert(values: np.ndarray, kind: str, name: str) -> Any:
    """Turn one column of attribute strings (``None`` where absent) into its typed values."""
    items = values.tolist()
    missing = any(v is None for v in items)
    if kind == "date":
        try:
            return pd.to_datetime(pd.Series(items, dtype=object), utc=True, format="ISO8601")
        except ValueError as error:
            raise ValidationError(
                name, None, f"holds a value that is not a date ({error})"
            ) from None
    if kind in ("int", "float"):
        parse = int if kind == "int" else float
        numbers: list[Any] = []
        for v in items:
            try:
                numbers.append(None if v is None else parse(v))
            except ValueError:
                raise ValidationError(name, v, f"is not a valid {kind}") from None
        if kind == "float":
            return np.array([np.nan if v is None else v for v in numbers], dtype=np.float64)
        return pd.array(numbers, dtype="Int64" if missing else "int64")
    if kind == "boolean":
        flags = [None if v is None else v.strip().lower() in ("true", "1") for v in items]
        return pd.array(flags, dtype="boolean" if missing else "bool")
    return pd.array(items, dtype="str")


def _open(path: str | os.PathLike[str] | IO[bytes]) -> IO[bytes]:
    if not isinstance(path, str | os.PathLike):
        return path
    name = os.fspath(path)
    if not os.path.exists(name):
        raise ValidationError("path", name, "no such file")
    with open(name, "rb") as probe:
        magic = probe.read(2)
    # gzip by its magic number rather than the name, so a renamed file still reads.
    if magic == b"\x1f\x8b":
        return cast("IO[bytes]", gzip.open(name, "rb"))
    return open(name, "rb")  # closed by the caller


class _Columns:
    """Attribute values gathered while streaming: ``key -> (rows, values)``, with the types."""

    def __init__(self) -> None:
        self.rows: dict[str, list[int]] = {}
        self.values: dict[str, list[str]] = {}
        self.kinds: dict[str, str] = {}

    def add(self, key: str, kind: str, row: int, value: str) -> None:
        rows = self.rows.get(key)
        if rows is None:
            rows = self.rows[key] = []
            self.values[key] = []
            self.kinds[key] = kind
        rows.append(row)
        self.values[key].append(value)


class _XesReader:
    """Streams one XES file; ``event`` and ``trace`` are called as their elements end."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.names: list[str] = []
        self.stamps: list[str] = []
        self.case_names: list[str] = []
        self.case_sizes: list[int] = []
        self.events = _Columns()
        # Trace attributes are stored once per trace, with the trace's first event row.
        self.traces = _Columns()
        self.trace_start = 0
        self.kinds: dict[str, str] = {}

    @property
    def n_events(self) -> int:
        return len(self.names)

    def start(self, root_tag: str) -> tuple[str, str]:
        """Check the root; return the full tags of events and traces."""
        if _local(root_tag) != "log":
            raise ValidationError("path", self.source, f"root is <{_local(root_tag)}>, not <log>")
        # Compare full tags (namespace included) rather than strip every one.
        namespace = root_tag[: root_tag.index("}") + 1] if root_tag.startswith("{") else ""
        self.kinds = {namespace + kind: kind for kind in _TYPES}
        return namespace + "event", namespace + "trace"

    def event(self, element: ET.Element) -> None:
        name = stamp = None
        row = self.n_events
        for key, kind, value in _attributes(element, self.kinds):
            if key == "concept:name":
                name = value
            elif key == "time:timestamp":
                stamp = value
            else:
                self.events.add(key, kind, row, value)
        if name is None or stamp is None:
            missing = "concept:name" if name is None else "time:timestamp"
            raise ValidationError("path", self.source, f"event {row} has no {missing!r} attribute")
        self.names.append(name)
        self.stamps.append(stamp)

    def trace(self, element: ET.Element) -> None:
        case_name = str(len(self.case_names))
        for key, kind, value in _attributes(element, self.kinds):
            if key == "concept:name":
                case_name = value
            else:
                self.traces.add(key, kind, len(self.case_names), value)
        self.case_names.append(case_name)
        self.case_sizes.append(self.n_events - self.trace_start)
        self.trace_start = self.n_events

    def frame(self) -> pd.DataFrame:
        sizes = np.asarray(self.case_sizes, dtype=np.int64)
        columns: dict[str, Any] = {
            "case_id": _convert(
                np.repeat(np.asarray(self.case_names, dtype=object), sizes), "string", "case_id"
            ),
            "activity": _convert(np.asarray(self.names, dtype=object), "string", "activity"),
            "timestamp": _convert(np.asarray(self.stamps, dtype=object), "date", "timestamp"),
        }
        for key, rows in self.events.rows.items():
            column = np.full(self.n_events, None, dtype=object)
            column[rows] = self.events.values[key]
            columns[key] = _convert(column, self.events.kinds[key], key)
        for key, traces in self.traces.rows.items():
            # A trace's value goes to every one of its events.
            per_trace = np.full(len(self.case_names), None, dtype=object)
            per_trace[traces] = self.traces.values[key]
            column = np.repeat(per_trace, sizes)
            columns[f"case:{key}"] = _convert(column, self.traces.kinds[key], f"case:{key}")
        frame = pd.DataFrame(columns)
        frame["timestamp"] = frame["timestamp"].astype("datetime64[ns, UTC]")
        return frame


def read_xes(path: str | os.PathLike[str] | IO[bytes]) -> pd.DataFrame:
    """Read an XES event log into one row per event.

    Every event becomes a row carrying its own attributes and those of its trace. The
    standard attributes get cxm names: the trace's ``concept:name`` is ``case_id``, the
    event's ``concept:name`` is ``activity`` and its ``time:timestamp`` is ``timestamp``.
    Every other event attribute is a column named by its key (``org:resource``,
    ``customer``, ...); every other trace attribute is a column named ``case:<key>``, the
    convention of pm4py's ``format_dataframe``. Values are typed by their XES element:
    ``<date>`` as datetimes in UTC, ``<int>`` as int64 (``Int64`` when some events lack it),
    ``<float>`` as float64 (NaN where absent), ``<boolean>`` as bool (``boolean`` when
    absent somewhere), ``<string>`` and ``<id>`` as strings (missing where absent). Nested
    attributes (lists, containers, children of an attribute) and the log's global attributes
    and classifiers are not read.

    Args:
        path: The ``.xes`` or gzip-compressed ``.xes.gz`` file (recognised by content), or
            an open binary file.

    Returns:
        One row per event, in file order (trace by trace, events in the order written;
        the index is ``0 .. n - 1``, so it is the file's event index), columns:

        - ``case_id`` (str): the trace's ``concept:name`` (the trace's position in the
            file, as a string, when it has none);
        - ``activity`` (str): the event's ``concept:name``;
        - ``timestamp`` (datetime64[ns, UTC]): the event's ``time:timestamp``;
        - one column per other event attribute key, in order of first appearance;
        - ``case:<key>`` per other trace attribute key, in order of first appearance.

        An empty log gives those three columns and no rows.

    Raises:
        ValidationError: The file does not exist, is not XML, has no ``<log>`` root, an
            event lacks ``concept:name`` or ``time:timestamp``, or a value does not parse
            as its declared type.

    Examples:
        >>> import io
        >>> xes = b'''<log xmlns="http://www.xes-standard.org/"><trace>
        ...   <string key="concept:name" value="T1"/><string key="region" value="EU"/>
        ...   <event><string key="concept:name" value="open"/>
        ...     <date key="time:timestamp" value="2024-01-01T10:00:00+01:00"/>
        ...     <int key="cost" value="3"/></event>
        ...   <event><string key="concept:name" value="close"/>
        ...     <date key="time:timestamp" value="2024-01-01T12:00:00+01:00"/>
        ...     <int key="cost" value="5"/></event>
        ... </trace></log>'''
        >>> read_xes(io.BytesIO(xes))
          case_id activity                 timestamp  cost case:region
        0      T1     open 2024-01-01 09:00:00+00:00     3          EU
        1      T1    close 2024-01-01 11:00:00+00:00     5          EU

    References:
        IEEE Standard for eXtensible Event Stream (XES) for Achieving Interoperability in
        Event Logs and Event Streams, IEEE Std 1849-2016. https://xes-standard.org/
    """
    source = str(path)
    reader = _XesReader(source)
    root: ET.Element | None = None
    event_tag = trace_tag = ""
    in_trace = False
    stream = _open(path)
    try:
        # The standard library parser (expat) resolves no external entities; a log is data the
        # caller chose to read.
        for action, element in ET.iterparse(stream, events=("start", "end")):  # noqa: S314
            tag = element.tag
            if action == "start":
                if root is None:
                    root = element
                    event_tag, trace_tag = reader.start(tag)
                elif tag == trace_tag:
                    in_trace = True
            elif tag == event_tag and in_trace:
                reader.event(element)
            elif tag == trace_tag:
                reader.trace(element)
                in_trace = False
                # Free what has been read: the trace and everything before it.
                root.clear()  # type: ignore[union-attr]
    except ET.ParseError as error:
        raise ValidationError("path", source, f"is not valid XML ({error})") from None
    finally:
        if stream is not path:
            stream.close()
    if root is None:
        raise ValidationError("path", source, "holds no <log>")
    return reader.frame()
