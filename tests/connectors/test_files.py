"""The csv and jsonl connectors: reading, quarantine, state, resumption and errors."""

from __future__ import annotations

import builtins
import json
import os
from pathlib import Path
from typing import Any

import pytest

import cxm
from cxm.connectors import Checkpoint, Rejected
from cxm.connectors import files as files_module
from cxm.connectors.files import CsvConnector, JsonlConnector, default_source
from cxm.exceptions import ConnectorError, ValidationError

MAPPING: dict[str, Any] = {
    "source_id": "order_id",
    "occurred_at": {"column": "created", "format": "%d/%m/%Y %H:%M", "timezone": "Europe/Berlin"},
    "channel": {"value": "store"},
    "kind": {"value": "purchase"},
    "text": "comment",
    "identities": {"email": "email"},
    "feedback": [{"metric": "nps", "score": "nps"}],
}
HEADER = "order_id,created,email,nps,comment\n"
JSON_MAPPING: dict[str, Any] = {
    "source_id": "id",
    "occurred_at": "at",
    "channel": {"value": "review_site"},
    "kind": {"value": "review"},
    "text": "body",
    "identities": {"email": "author.email"},
    "feedback": [{"metric": "rating", "score": "stars"}],
}


def order_line(number: int, *, nps: str = "9", comment: str = "fine") -> str:
    day = 1 + number % 28
    return f"A-{number},{day:02d}/04/2025 10:00,c{number}@example.com,{nps},{comment}\n"


def write_orders(path: Path, numbers: range, *, header: bool = True) -> Path:
    path.write_text((HEADER if header else "") + "".join(order_line(n) for n in numbers))
    return path


def csv_connector(path: Path | str, **options: Any) -> CsvConnector:
    return CsvConnector(path=str(path), mapping=options.pop("mapping", MAPPING), **options)


def read(connector: CsvConnector | JsonlConnector, cursor: Any = None) -> list[Any]:
    return list(connector.streams()[0].read(cursor))


def ids(items: list[Any]) -> list[str]:
    return [item.source_id for item in items if isinstance(item, cxm.Interaction)]


def rejected(items: list[Any]) -> list[Rejected]:
    return [item for item in items if isinstance(item, Rejected)]


def last_cursor(items: list[Any]) -> Any:
    return [item for item in items if isinstance(item, Checkpoint)][-1].cursor


# -- reading and quarantine -------------------------------------------------------------------


def test_rows_become_interactions_with_their_source(tmp_path: Path) -> None:
    path = write_orders(tmp_path / "Orders 2025.csv", range(5))
    connector = csv_connector(path)
    items = read(connector)
    assert ids(items) == [f"A-{n}" for n in range(5)]
    record = items[0]
    assert record.source == "csv-orders-2025" == connector.source
    assert record.identities[0].value == "c0@example.com"
    assert record.feedback[0].score == 9
    cursor = last_cursor(items)
    entry = cursor["files"][str(path)]
    assert entry["done"] is True
    assert entry["offset"] == entry["size"] == path.stat().st_size
    assert entry["line"] == 7


def test_each_kind_of_bad_row_is_quarantined_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(
        (
            HEADER
            + order_line(1)
            + "A-2,01/04/2025 10:00,c2@example.com,9\n"  # line 3: a column short
            + "A-3,2025-04-01,c3@example.com,9,x\n"  # line 4: not the format
            + order_line(4, nps="11")  # line 5: off the scale
            + "A-5,31/02/2025 10:00,c5@example.com,9,x\n"  # line 6: no such day
            + ",01/04/2025 10:00,c6@example.com,9,x\n"  # line 7: no id
        ).encode()
        + b"A-7,01/04/2025 10:00,c7@example.com,9,caf\xe9\n"  # line 8: latin-1 in utf-8
        + order_line(8).encode()
    )
    items = read(csv_connector(path))
    assert ids(items) == ["A-1", "A-8"]
    reasons = [r.reason for r in rejected(items)]
    assert reasons[0] == "line 3: expected 5 columns, found 4"
    assert reasons[1].startswith("line 4: created='2025-04-01': does not match the format")
    assert reasons[2] == "line 5: nps='11': outside the nps scale 0..10"
    assert reasons[3].startswith("line 6: created='31/02/2025 10:00': not a valid date")
    assert reasons[4] == "line 7: order_id='': is empty, and source_id is required"
    offset = (
        len(HEADER)
        + sum(len(x) for x in (order_line(1), order_line(4, nps="11")))
        + len(
            "A-2,01/04/2025 10:00,c2@example.com,9\nA-3,2025-04-01,c3@example.com,9,x\n"
            "A-5,31/02/2025 10:00,c5@example.com,9,x\n,01/04/2025 10:00,c6@example.com,9,x\n"
        )
    )
    byte = len(b"A-7,01/04/2025 10:00,c7@example.com,9,caf") + 1
    assert reasons[5] == (
        f"line 8: bytes the encoding utf-8 cannot decode at line 8, byte {byte} "
        f"(file offset {offset + byte - 1}): invalid continuation byte"
    )
    raws = [r.raw for r in rejected(items)]
    assert raws[0] == {
        "file": str(path),
        "line": 3,
        "row": ["A-2", "01/04/2025 10:00", "c2@example.com", "9"],
    }
    assert raws[5]["row"][-1] == "caf\\xe9"  # the bad byte kept, escaped


def test_quoted_fields_spanning_lines_keep_line_numbers_right(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        HEADER
        + 'A-1,01/04/2025 10:00,a@example.com,9,"two\nlines"\n'
        + 'A-2,01/04/2025 10:00,b@example.com,9,"three\r\nlines,\n""quoted"""\n'
        + order_line(3, nps="12")
    )
    items = read(csv_connector(path))
    texts = [item.text for item in items if isinstance(item, cxm.Interaction)]
    assert texts == ["two\nlines", 'three\r\nlines,\n"quoted"']
    assert [r.reason.split(":")[0] for r in rejected(items)] == ["line 7"]
    assert last_cursor(items)["files"][str(path)]["line"] == 8


def test_an_undecodable_byte_inside_a_multi_line_row_quarantines_only_that_row(
    tmp_path: Path,
) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(
        HEADER.encode()
        + order_line(1).encode()
        + b'A-2,01/04/2025 10:00,b@example.com,9,"first\nsecond \xff\nthird"\n'
        + order_line(3).encode()
    )
    items = read(csv_connector(path))
    assert ids(items) == ["A-1", "A-3"]
    (bad,) = rejected(items)
    assert bad.reason.startswith("line 3: bytes the encoding utf-8 cannot decode at line 4, byte 8")
    assert bad.raw["row"][0] == "A-2"
    assert bad.raw["row"][-1] == "first\nsecond \\xff\nthird"


def test_a_quote_left_open_is_one_quarantined_row_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    runaway = 'A-2,01/04/2025 10:00,b@example.com,9,"never closed\n'
    path.write_text(
        HEADER + order_line(1) + runaway + "".join(order_line(n) for n in range(3, 4000))
    )
    items = read(csv_connector(path))
    (first,) = rejected(items)
    assert first.reason.startswith("line 3: field larger than field limit")
    last = int(first.reason.split("lines 3-")[1].split(" ")[0])
    assert "read as one row; is a quote left open?" in first.reason
    assert len(first.raw["text"]) == 64 * 1024
    # Lines 3..last went into that one quarantined row (line k holds A-(k-1)); the rest are read.
    assert ids(items) == ["A-1"] + [f"A-{n}" for n in range(last, 4000)]
    assert last_cursor(items)["files"][str(path)]["done"] is True


def test_windows_line_breaks_read_and_resume_like_unix_ones(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    lines = [HEADER, *(order_line(n) for n in range(7)), 'A-7,01/04/2025 10:00,,,"a\nb"\n']
    path.write_bytes("".join(lines).replace("\n", "\r\n").encode())
    connector = csv_connector(path, checkpoint_every=3)
    items = read(connector)
    assert ids(items) == [f"A-{n}" for n in range(8)]
    assert [i for i in items if isinstance(i, cxm.Interaction)][-1].text == "a\r\nb"
    middle = [item for item in items if isinstance(item, Checkpoint)][1].cursor
    assert middle["files"][str(path)]["line"] == 8
    assert ids(read(connector, middle)) == ["A-6", "A-7"]


def test_a_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + order_line(1)).encode())
    assert ids(read(csv_connector(path))) == ["A-1"]
    assert ids(read(csv_connector(path, encoding="utf-8-sig"))) == ["A-1"]


def test_latin_1_files_read_with_the_encoding_option(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes((HEADER + order_line(1, comment="Müller, très bien")).encode("latin-1"))
    path.write_bytes(
        path.read_bytes().replace(b"M\xfcller, tr\xe8s bien", b'"M\xfcller, tr\xe8s bien"')
    )
    items = read(csv_connector(path, encoding="latin-1"))
    assert [item.text for item in items if isinstance(item, cxm.Interaction)] == [
        "Müller, très bien"
    ]
    assert "cannot decode" in rejected(read(csv_connector(path)))[0].reason


def test_semicolons_headerless_files_and_skipped_title_rows(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "Orders report\ngenerated today\n"
        + "".join(order_line(n).replace(",", ";") for n in range(3))
    )
    connector = csv_connector(
        path,
        delimiter=";",
        has_header=False,
        skip_rows=2,
        columns=["order_id", "created", "email", "nps", "comment"],
    )
    items = read(connector)
    assert ids(items) == ["A-0", "A-1", "A-2"]
    assert last_cursor(items)["files"][str(path)]["line"] == 6


def test_a_header_with_other_names_can_be_renamed_with_columns(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("Order,Date,Mail,Score,Note\n" + order_line(1))
    connector = csv_connector(path, columns=["order_id", "created", "email", "nps", "comment"])
    assert ids(read(connector)) == ["A-1"]


def test_a_dst_gap_in_a_file_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "A-1,30/03/2025 02:30,a@example.com,9,x\nA-2,30/03/2025 03:30,,,\n")
    items = read(csv_connector(path))
    assert rejected(items)[0].reason == (
        "line 2: created='30/03/2025 02:30': does not exist in Europe/Berlin "
        "(the clocks went forward)"
    )
    (record,) = [i for i in items if isinstance(i, cxm.Interaction)]
    assert record.occurred_at.isoformat() == "2025-03-30T01:30:00+00:00"


def test_customer_rows_with_traits(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("id,email,phone,plan\n1,a@example.com,020 7946 0958,pro\n2,,,free\n")
    mapping = {
        "record": "customer",
        "source_id": "id",
        "identities": {"email": "email", "phone": "phone"},
        "traits": ["plan"],
    }
    items = read(csv_connector(path, mapping=mapping, region="GB"))
    (record,) = [i for i in items if isinstance(i, cxm.CustomerRecord)]
    assert record.traits == {"plan": "pro"}
    assert {i.kind for i in record.identities} == {"email", "phone"}
    assert "needs at least one identity" in rejected(items)[0].reason


# -- state: skip, resume, append, rewrite --------------------------------------------------------


def test_an_unchanged_file_is_skipped_without_opening_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_orders(tmp_path / "orders.csv", range(10))
    connector = csv_connector(path)
    cursor = last_cursor(read(connector))

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"opened {args[0]}")

    monkeypatch.setattr(files_module, "open", refuse, raising=False)
    items = read(connector, cursor)
    assert items == [Checkpoint(cursor)]
    monkeypatch.setattr(files_module, "open", builtins.open, raising=False)


def test_resuming_from_a_mid_file_checkpoint_yields_exactly_the_rest(tmp_path: Path) -> None:
    path = write_orders(tmp_path / "orders.csv", range(25))
    connector = csv_connector(path, checkpoint_every=4)
    items = read(connector)
    checkpoints = [i for i, item in enumerate(items) if isinstance(item, Checkpoint)]
    assert len(checkpoints) >= 6
    for position in checkpoints[:-2]:
        covered = ids(items[:position])
        resumed = read(connector, items[position].cursor)
        assert ids(resumed) == [f"A-{n}" for n in range(len(covered), 25)]
    third = items[checkpoints[2]].cursor["files"][str(path)]
    assert (third["line"], third["done"]) == (14, False)


def test_an_appended_file_resumes_after_the_rows_already_read(tmp_path: Path) -> None:
    path = write_orders(tmp_path / "orders.csv", range(5))
    connector = csv_connector(path)
    cursor = last_cursor(read(connector))
    with path.open("a") as handle:
        handle.write(order_line(5) + order_line(6))
    items = read(connector, cursor)
    assert ids(items) == ["A-5", "A-6"]
    assert last_cursor(items)["files"][str(path)]["line"] == 9


def test_a_last_line_without_a_line_break_is_read_again_after_an_append(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + order_line(1) + order_line(2).rstrip("\n"))
    connector = csv_connector(path, checkpoint_every=1)
    items = read(connector)
    assert ids(items) == ["A-1", "A-2"]
    entry = last_cursor(items)["files"][str(path)]
    assert entry["offset"] == len(HEADER) + len(order_line(1))
    with path.open("a") as handle:
        handle.write("r\n" + order_line(3))  # A-2's comment was half-written: fine -> finer
    again = read(connector, last_cursor(items))
    assert ids(again) == ["A-2", "A-3"]
    assert again[0].text == "finer"


def test_a_rewritten_file_is_read_again_from_the_start(tmp_path: Path) -> None:
    path = write_orders(tmp_path / "orders.csv", range(5))
    connector = csv_connector(path)
    cursor = last_cursor(read(connector))
    # Same length, one changed byte in the middle, and rows appended: not an append.
    text = path.read_text().replace("A-2,", "A-X,")
    path.write_text(text + order_line(5))
    assert ids(read(connector, cursor)) == ["A-0", "A-1", "A-X", "A-3", "A-4", "A-5"]


def test_a_touched_but_unchanged_file_reads_no_row(tmp_path: Path) -> None:
    path = write_orders(tmp_path / "orders.csv", range(5))
    connector = csv_connector(path)
    cursor = last_cursor(read(connector))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    items = read(connector, cursor)
    assert ids(items) == []
    assert last_cursor(items)["files"][str(path)]["mtime_ns"] == stat.st_mtime_ns + 5_000_000_000


def test_a_glob_reads_each_file_once_in_order(tmp_path: Path) -> None:
    write_orders(tmp_path / "b.csv", range(10, 12))
    write_orders(tmp_path / "a.csv", range(2))
    (tmp_path / "notes.txt").write_text("not matched")
    connector = csv_connector(tmp_path / "*.csv")
    assert connector.source == "csv"  # the stem "*" leaves nothing: the connector's name
    items = read(connector)
    assert ids(items) == ["A-0", "A-1", "A-10", "A-11"]
    cursor = last_cursor(items)
    assert sorted(cursor["files"]) == [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    write_orders(tmp_path / "c.csv", range(20, 21))
    (tmp_path / "a.csv").unlink()
    items = read(connector, cursor)
    assert ids(items) == ["A-20"]
    assert sorted(last_cursor(items)["files"]) == [str(tmp_path / "b.csv"), str(tmp_path / "c.csv")]


def test_a_directory_means_its_csv_files(tmp_path: Path) -> None:
    write_orders(tmp_path / "one.csv", range(1))
    write_orders(tmp_path / "two.tsv", range(1, 2))
    (tmp_path / ".hidden.csv").write_text("junk")
    connector = csv_connector(tmp_path)
    assert connector.files() == [str(tmp_path / "one.csv"), str(tmp_path / "two.tsv")]
    assert connector.source == default_source("csv", str(tmp_path))


def test_an_empty_file_has_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("")
    items = read(csv_connector(path))
    assert ids(items) == []
    assert rejected(items) == []
    assert last_cursor(items)["files"][str(path)]["done"] is True


# -- errors ---------------------------------------------------------------------------------


def test_a_missing_file_is_a_connector_error_from_check_and_from_the_stream(
    tmp_path: Path,
) -> None:
    connector = csv_connector(tmp_path / "nope.csv")
    with pytest.raises(ConnectorError, match=r"csv: cannot read .*nope\.csv: no such file"):
        connector.check()
    with pytest.raises(ConnectorError) as caught:
        read(connector)
    assert (caught.value.connector, caught.value.stream) == ("csv", "rows")


@pytest.mark.parametrize(
    ("path", "words"), [("*.csv", "no file matches"), (".", r"no \*\.csv or \*\.tsv file in")]
)
def test_a_pattern_or_directory_matching_nothing_is_an_error(
    tmp_path: Path, path: str, words: str
) -> None:
    with pytest.raises(ConnectorError, match=words):
        csv_connector(tmp_path / path).check()


def test_a_file_that_cannot_be_opened_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_orders(tmp_path / "orders.csv", range(1))

    def denied(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(args[0]))

    monkeypatch.setattr(files_module, "open", denied, raising=False)
    with pytest.raises(ConnectorError, match=r"orders\.csv: Permission denied"):
        read(csv_connector(path))


def test_a_header_missing_mapped_columns_lists_missing_and_present(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("order_id,date,email,nps,comment\n" + order_line(1))
    with pytest.raises(ConnectorError) as caught:
        csv_connector(path).check()
    message = str(caught.value)
    assert "orders.csv: the header lacks mapped columns 'created' (occurred_at)" in message
    assert "columns there: 'order_id', 'date', 'email', 'nps', 'comment'" in message
    with pytest.raises(ConnectorError, match="lacks mapped columns"):
        read(csv_connector(path))


def test_an_undecodable_header_is_an_error_that_suggests_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes("order_id,créé\n".encode("latin-1"))
    with pytest.raises(
        ConnectorError, match=r"header row \(line 1\) is not valid utf-8.*encoding="
    ):
        csv_connector(path).check()


@pytest.mark.parametrize(
    ("options", "field", "words"),
    [
        (
            {"mapping": {**MAPPING, "occurred_at": {"column": "x", "timezone": "Mars/Base"}}},
            "csv.mapping.occurred_at",
            "unknown time zone",
        ),
        ({"mapping": {**MAPPING, "colour": "x"}}, "csv.mapping.colour", "unknown mapping key"),
        ({"encoding": "utf-16"}, "csv.encoding", "ASCII"),
        ({"encoding": "klingon"}, "csv.encoding", "unknown encoding"),
        ({"delimiter": ";;"}, "csv.delimiter", "one character"),
        ({"quotechar": ","}, "csv.quotechar", "differ from the delimiter"),
        ({"has_header": False}, "csv.columns", "required when has_header is False"),
        ({"columns": ["order_id"]}, "csv.columns", "'created' (occurred_at)"),
        ({"source": "My Shop"}, "csv.source", "lower-case"),
        ({"checkpoint_every": 0}, "csv.checkpoint_every", ">= 1"),
        ({"default_timezone": "CEST"}, "csv.default_timezone", "unknown time zone"),
        ({"region": "Britain"}, "csv.region", "alpha-2"),
    ],
)
def test_bad_options_are_refused_before_any_io(
    tmp_path: Path, options: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        csv_connector(tmp_path / "does-not-exist.csv", **options)
    assert caught.value.field == field
    assert words in caught.value.reason


def test_the_state_key_names_the_path_and_stays_short(tmp_path: Path) -> None:
    short = csv_connector(tmp_path / "orders.csv")
    assert short.state_key == f"csv:{tmp_path / 'orders.csv'}"
    long_path = tmp_path / ("d" * 150) / "orders.csv"
    key = csv_connector(long_path).state_key
    assert len(key) == 128
    assert key.startswith("csv:")
    assert key.endswith("/orders.csv")
    assert key != csv_connector(tmp_path / ("e" * 150) / "orders.csv").state_key
    assert csv_connector("orders.csv").config.path == os.path.abspath("orders.csv")


# -- JSON lines ----------------------------------------------------------------------------------


def review(number: int, **fields: Any) -> str:
    body = {
        "id": number,
        "at": f"2025-03-{1 + number % 28:02d}T10:00:00Z",
        "body": "Nice",
        "author": {"email": f"r{number}@example.com"},
        "stars": 4,
    }
    body.update(fields)
    return json.dumps(body) + "\n"


def test_json_lines_become_records_and_bad_lines_are_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "reviews.jsonl"
    path.write_bytes(
        (review(1) + "\n" + "[1, 2]\n" + '{"id": 3, "at": \n' + review(4, stars=9)).encode()
        + b'{"id": 5, "body": "caf\xe9"}\n'
        + review(6).encode()
    )
    connector = JsonlConnector(path=str(path), mapping=JSON_MAPPING)
    assert connector.source == "jsonl-reviews"
    items = read(connector)
    assert ids(items) == ["1", "6"]
    reasons = [r.reason for r in rejected(items)]
    assert reasons[0] == "line 3: a JSON array, not an object"
    assert reasons[1].startswith("line 4: not valid JSON:")
    assert reasons[2] == "line 5: stars=9: outside the rating scale 1..5"
    assert reasons[3].startswith("line 6: bytes the encoding utf-8 cannot decode at byte 23")
    raws = [r.raw for r in rejected(items)]
    assert raws[0] == {"file": str(path), "line": 3, "row": [1, 2]}
    assert raws[2]["row"]["stars"] == 9
    assert raws[3]["text"] == '{"id": 5, "body": "caf\\xe9"}\n'
    entry = last_cursor(items)["files"][str(path)]
    assert (entry["line"], entry["offset"], entry["done"]) == (8, path.stat().st_size, True)


def test_json_lines_resume_append_and_half_written_last_line(tmp_path: Path) -> None:
    path = tmp_path / "reviews.jsonl"
    path.write_text("".join(review(n) for n in range(7)))
    connector = JsonlConnector(path=str(path), mapping=JSON_MAPPING, checkpoint_every=3)
    items = read(connector)
    middle = [item for item in items if isinstance(item, Checkpoint)][1].cursor
    assert ids(read(connector, middle)) == ["6"]
    cursor = last_cursor(items)
    with path.open("a") as handle:
        handle.write(review(7) + review(8).rstrip("\n"))
    items = read(connector, cursor)
    assert ids(items) == ["7", "8"]
    with path.open("a") as handle:
        handle.write("\n" + review(9))
    assert ids(read(connector, last_cursor(items))) == ["8", "9"]


def test_a_latin_1_json_lines_file(tmp_path: Path) -> None:
    path = tmp_path / "reviews.jsonl"
    path.write_bytes(review(1, body="très bien").replace("\\u00e8", "è").encode("latin-1"))
    connector = JsonlConnector(path=str(path), mapping=JSON_MAPPING, encoding="latin-1")
    (record,) = [i for i in read(connector) if isinstance(i, cxm.Interaction)]
    assert record.text == "très bien"


# -- end to end through Workspace.sync ---------------------------------------------------------


def test_sync_end_to_end_counts_quarantine_and_second_sync(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "".join(order_line(n) for n in range(20)) + order_line(20, nps="X"))
    with cxm.Workspace.open(tmp_path / "cxm.db") as ws:
        report = ws.sync("csv", path=str(path), mapping=MAPPING, checkpoint_every=7)
        rows = report.stream("rows")
        assert (rows.new, rows.quarantined, rows.error) == (20, 1, None)
        assert len(ws.interactions()) == 20
        quarantined = ws.quarantined()
        assert len(quarantined) == 1
        assert quarantined["source"].iloc[0] == "csv-orders"
        assert quarantined["reason"].iloc[0] == "line 22: nps='X': not a number"
        raw = json.loads(quarantined["raw"].iloc[0])
        assert raw == {
            "file": str(path),
            "line": 22,
            "row": ["A-20", "21/04/2025 10:00", "c20@example.com", "X", "fine"],
        }
        again = ws.sync("csv", path=str(path), mapping=MAPPING)
        assert (again.new, again.updated, again.unchanged, again.quarantined) == (0, 0, 0, 0)
        refreshed = ws.sync("csv", path=str(path), mapping=MAPPING, full_refresh=True)
        assert (refreshed.new, refreshed.updated, refreshed.unchanged) == (0, 0, 20)
        assert len(ws.interactions()) == 20


def test_sync_after_a_failure_mid_file_resumes_without_loss_or_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_orders(tmp_path / "orders.csv", range(50))
    from cxm.connectors.mapping import RowBuilder

    real_call = RowBuilder.__call__
    calls = {"n": 0}

    def failing(self: RowBuilder, row: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 33:
            raise OSError("disk went away")
        return real_call(self, row)

    with cxm.Workspace.open(tmp_path / "cxm.db") as ws:
        monkeypatch.setattr(RowBuilder, "__call__", failing)
        first = ws.sync("csv", path=str(path), mapping=MAPPING, checkpoint_every=10, batch_size=5)
        assert "disk went away" in (first.stream("rows").error or "")
        stored = len(ws.interactions())
        assert 30 <= stored <= 32
        monkeypatch.setattr(RowBuilder, "__call__", real_call)
        second = ws.sync("csv", path=str(path), mapping=MAPPING, checkpoint_every=10)
        rows = second.stream("rows")
        assert rows.error is None
        # Resumed at the checkpoint after row 30: rows 31-32 (if stored) come back unchanged.
        assert rows.new == 50 - stored
        assert rows.new + rows.unchanged == 20
        assert len(ws.interactions()) == 50
