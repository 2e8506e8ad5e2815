"""The plain-text table every benchmark prints: a header row, a rule under it, aligned columns.

Examples:
    >>> print(render(["suite", "seconds"], [["http", "1.50"], ["vendor", "12.00"]], right={1}))
    suite   seconds
    ------  -------
    http       1.50
    vendor    12.00
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

RIGHT = frozenset({2, 3, 4})
"""The columns aligned right in the suites' usual layout: seconds, rate, ratio."""


def render(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int] = RIGHT
) -> str:
    """Lay out ``header`` and ``rows`` as columns two spaces apart, a dashed rule under the header.

    Args:
        header: The column names.
        rows: The rows, each a cell per column (empty strings for empty cells).
        right: The indexes of the columns aligned right; the others are aligned left.

    Returns:
        The lines of the table, without trailing spaces, joined by newlines.
    """
    body = [list(header), *(list(row) for row in rows)]
    widths = [max(len(row[i]) for row in body) for i in range(len(header))]
    lines = []
    for index, row in enumerate(body):
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
