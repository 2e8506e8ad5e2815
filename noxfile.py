"""Developer sessions: ``nox -s tests lint typecheck docs bench``.

``tests`` runs on every supported Python that is installed; the database tests run against
PostgreSQL and MariaDB when ``CXM_TEST_POSTGRES_URL`` / ``CXM_TEST_MYSQL_URL`` are set, and skip
with a reason otherwise.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PYTHONS = ["3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite (doctests included)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check formatting and lint with ruff."""
    session.install("ruff>=0.6")
    session.run("ruff", "format", "--check", ".")
    session.run("ruff", "check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check src/ with mypy in strict mode."""
    session.install("-e", ".", "mypy>=1.11", "pandas-stubs>=2.2")
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site strictly (warnings are errors)."""
    session.install("-e", ".[docs]")
    session.run(
        "mkdocs", "build", "--strict", "--site-dir", "site", env={"NO_MKDOCS_2_WARNING": "1"}
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks; they print figures and ratios, they never fail on timing."""
    session.install("-e", ".[test]")
    # pm4py (AGPL) is the journey suite's reference; it lives in the bench environment only,
    # never among cxm's dependencies.
    session.install("pm4py")
    session.run("python", "bench/run.py", *session.posargs)
