"""The ``cxm`` command: list connectors, check one, run a sync.

Connector options come from a TOML file (``--config``) whose top-level keys are the options;
a value written ``{ env = "NAME" }`` is read from that environment variable, so credentials need
not sit in the file; unquoted TOML dates and times are passed on as ISO 8601 text.
``--set option=value`` adds or overrides one option (the value is read as TOML when it parses,
as a plain string otherwise).

Exit codes, for scripts:

====  ==============================================================================
0     success
1     the sync ran but at least one stream failed (the report says which)
2     bad usage or configuration: unknown connector, unknown/missing/invalid option
3     the connector could not reach or read its source: ``check`` failed, or every stream of
      the sync failed with a connector error (credentials refused, the source down)
4     another sync of the same connector instance is running on that database
5     the database failed
====  ==============================================================================
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import sys
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from cxm._version import __version__
from cxm.exceptions import (
    ConnectorError,
    ConnectorNotFound,
    StoreError,
    SyncInProgressError,
    ValidationError,
)

__all__ = [
    "EXIT_CONNECTOR",
    "EXIT_LOCKED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_STORE",
    "EXIT_USAGE",
    "load_options",
    "main",
]

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_CONNECTOR = 3
EXIT_LOCKED = 4
EXIT_STORE = 5
DATABASE_ENV = "CXM_DATABASE_URL"


class _UsageError(Exception):
    """A problem with what was typed or with the config file."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cxm",
        description="Customer experience management: gather interactions, resolve customers.",
        epilog="Exit codes: 0 ok, 1 a stream failed, 2 usage or configuration, 3 the source "
        "failed, 4 a sync is already running, 5 the database failed.",
    )
    parser.add_argument("--version", action="version", version=f"cxm {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log what cxm does to stderr (-v: info, -vv: debug, secrets redacted)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("connectors", help="list the registered connectors")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")

    check = commands.add_parser("check", help="validate a connector's options and reach its source")
    _connector_arguments(check)

    sync = commands.add_parser("sync", help="run a connector into a workspace database")
    _connector_arguments(sync)
    sync.add_argument(
        "--db",
        default=os.environ.get(DATABASE_ENV),
        metavar="URL",
        help=f"database URL or SQLite path (default: ${DATABASE_ENV}, else ./cxm.db)",
    )
    sync.add_argument(
        "--stream", action="append", dest="streams", metavar="NAME", help="run only this stream"
    )
    sync.add_argument(
        "--full-refresh", action="store_true", help="start every stream from the beginning"
    )
    sync.add_argument("--batch-size", type=int, default=5_000, metavar="N")
    sync.add_argument("--json", action="store_true", help="print the report as JSON")
    sync.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: when stderr is a terminal)",
    )
    return parser


def _connector_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the connector's name (see `cxm connectors`)")
    parser.add_argument(
        "--config", type=Path, metavar="FILE.toml", help="the connector's options, as TOML"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        dest="overrides",
        metavar="OPTION=VALUE",
        help="set one option (repeatable); the value is read as TOML if it parses",
    )


def _env_value(option: str, value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"env"} and isinstance(value["env"], str):
            name = value["env"]
            if name not in os.environ:
                raise _UsageError(f"option {option!r} reads ${name}, which is not set")
            return os.environ[name]
        return {key: _env_value(f"{option}.{key}", item) for key, item in value.items()}
    if isinstance(value, list):
        return [_env_value(f"{option}[{i}]", item) for i, item in enumerate(value)]
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        # TOML reads an unquoted date as a date; options take the ISO text, as in Python.
        return value.isoformat()
    return value


def load_options(config: Path | None, overrides: Sequence[str]) -> dict[str, Any]:
    """Read connector options from a TOML file and ``OPTION=VALUE`` overrides.

    Args:
        config: The TOML file, or ``None``.
        overrides: ``"option=value"`` strings; values are parsed as TOML when they parse.

    Returns:
        The options, with ``{ env = "NAME" }`` values read from the environment.

    Raises:
        _UsageError: If the file cannot be read or parsed, or an override is malformed.
    """
    options: dict[str, Any] = {}
    if config is not None:
        try:
            options = tomllib.loads(config.read_text(encoding="utf-8"))
        except OSError as exc:
            raise _UsageError(f"cannot read {config}: {exc.strerror or exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise _UsageError(f"{config} is not valid TOML: {exc}") from exc
    for override in overrides:
        option, equals, text = override.partition("=")
        if not equals or not option.strip():
            raise _UsageError(f"--set takes OPTION=VALUE, not {override!r}")
        try:
            value: Any = tomllib.loads(f"value = {text}")["value"]
        except tomllib.TOMLDecodeError:
            value = text
        options[option.strip()] = value
    return {key: _env_value(key, value) for key, value in options.items()}


def _build(name: str, config: Path | None, overrides: Sequence[str]) -> Any:
    from cxm.connectors import get

    connector_class = get(name)
    return connector_class(**load_options(config, overrides))


def _list_connectors(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from cxm.connectors import available, plugin_failures

    infos = available()
    if args.json:
        rows = [
            {
                "name": info.name,
                "version": info.version,
                "distribution": info.distribution,
                "summary": info.summary,
            }
            for info in infos
        ]
        json.dump(rows, out, indent=2)
        out.write("\n")
    else:
        table = [("NAME", "VERSION", "FROM", "SUMMARY")] + [
            (info.name, info.version or "-", info.distribution or "-", info.summary)
            for info in infos
        ]
        widths = [max(len(row[i]) for row in table) for i in range(3)]
        for row in table:
            out.write(
                "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
            )
            out.write(f"  {row[3]}\n")
    for failure in plugin_failures():
        err.write(
            f"warning: plugin {failure.entry_point} ({failure.distribution or 'unknown'}) "
            f"was not loaded: {failure.error}\n"
        )
    return EXIT_OK


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    connector = _build(args.name, args.config, args.overrides)
    try:
        connector.check()
    except ConnectorError as exc:
        raise exc.in_context(connector=connector.name) from exc.__cause__
    out.write(f"{connector.name}: ok ({connector.state_key})\n")
    for stream in connector.streams():
        line = f"  {stream.name}"
        if stream.description:
            line += f": {stream.description}"
        out.write(line + "\n")
    return EXIT_OK


def _sync(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from cxm.workspace import Workspace

    connector = _build(args.name, args.config, args.overrides)
    with Workspace.open(args.db) as workspace:
        report = workspace.sync(
            connector,
            streams=args.streams,
            full_refresh=args.full_refresh,
            batch_size=args.batch_size,
            progress=args.progress,
        )
    if args.json:
        json.dump(
            report.to_dict(),
            out,
            indent=2,
        )
        out.write("\n")
    else:
        out.write(f"{report}\n")
    if report.ok:
        return EXIT_OK
    if len(report.failed) == len(report.streams) and all(
        isinstance(stream.exception, ConnectorError) for stream in report.failed
    ):
        return EXIT_CONNECTOR  # the source failed every stream: a credentials or outage problem
    return EXIT_PARTIAL


_COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO, TextIO], int]] = {
    "connectors": _list_connectors,
    "check": _check,
    "sync": _sync,
}


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the ``cxm`` command.

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).
        out: Where to write results (default: standard output); errors go to standard error.

    Returns:
        The exit code (see the module's table).
    """
    stdout = out if out is not None else sys.stdout
    stderr = sys.stderr
    parser = _parser()
    args = parser.parse_args(argv)
    if args.verbose:
        handler = logging.StreamHandler(stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger("cxm")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if args.verbose > 1 else logging.INFO)
    try:
        return _COMMANDS[args.command](args, stdout, stderr)
    except (_UsageError, ValidationError, ConnectorNotFound) as exc:
        stderr.write(f"cxm: error: {exc}\n")
        return EXIT_USAGE
    except SyncInProgressError as exc:
        stderr.write(f"cxm: error: {exc}\n")
        return EXIT_LOCKED
    except ConnectorError as exc:
        stderr.write(f"cxm: error: {exc}\n")
        return EXIT_CONNECTOR
    except StoreError as exc:
        stderr.write(f"cxm: error: {exc}\n")
        return EXIT_STORE


def entry_point() -> None:
    """Console-script entry: exit with :func:`main`'s code."""
    raise SystemExit(main())
