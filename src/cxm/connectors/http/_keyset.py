"""Keyset paging by time: ask from the newest time read, skip what was read at that time.

Some APIs page only by a time filter (``updated_since``, ``since``) in ascending order. A
connector asks from the newest time it has read so far, then skips the items of that very
time it has already read, by id: they come back because the filter includes its bound.
:class:`KeysetWindow` keeps that position: the time asked from, the ids read at it, and a page
number for the rare page whose items all share that time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

import attrs

__all__ = ["KeysetWindow"]


class _Ordered(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


T = TypeVar("T", bound=_Ordered)


@attrs.define
class KeysetWindow(Generic[T]):
    """Where keyset paging by time stands: the time asked from and the ids read at it.

    After each page, :meth:`unread` drops the items read before (those at :attr:`since` whose
    key is in :attr:`seen`), and :meth:`move` moves the window to the newest time on the page.
    A page that brings no later time leaves the window where it is, adds the page's keys to
    :attr:`seen` and counts :attr:`page` up, for APIs that can page within one time.

    Attributes:
        since: The time to ask from (``None``: from the beginning). Every item before it has
            been read, and so have those at it listed in :attr:`seen`.
        seen: The keys of the items read at :attr:`since`.
        time: The time of an item, or ``None`` when it cannot be read (the item is yielded but
            does not move the window; its parse step quarantines it). Times must order and
            compare equal at the granularity the API filters by (whole seconds, say).
        key: The unique key of an item, or ``None`` when it cannot be read (as for ``time``).
        page: The page to ask for at :attr:`since`: 1 after a move, one more after each page
            that stayed at the same time.

    Examples:
        >>> window = KeysetWindow(None, time=lambda item: item["t"], key=lambda item: item["id"])
        >>> page = [{"id": "a", "t": 10}, {"id": "b", "t": 11}]
        >>> [item["id"] for item in window.unread(page)], window.move(page)
        (['a', 'b'], True)
        >>> window.since, window.seen
        (11, {'b'})
        >>> again = [{"id": "b", "t": 11}, {"id": "c", "t": 11}]  # asked from 11: b again
        >>> [item["id"] for item in window.unread(again)], window.move(again)
        (['c'], True)
        >>> window.since, sorted(window.seen), window.page
        (11, ['b', 'c'], 2)
    """

    since: T | None
    seen: set[str] = attrs.field(factory=set)
    time: Callable[[Any], T | None] = attrs.field(kw_only=True, repr=False)
    key: Callable[[Any], str | None] = attrs.field(kw_only=True, repr=False)
    page: int = attrs.field(default=1, kw_only=True)

    def unread(self, items: Iterable[Any]) -> list[Any]:
        """Return the items of a page less those already read at :attr:`since`.

        Args:
            items: The page's items, in the API's order.

        Returns:
            The items not read yet, in the same order.
        """
        if self.since is None:
            return list(items)
        return [
            item
            for item in items
            if not (self.time(item) == self.since and self.key(item) in self.seen)
        ]

    def move(self, items: Iterable[Any]) -> bool:
        """Move past a page: to its newest time (page 1), or to the next page of this time.

        Items whose time or key is ``None`` are passed over.

        Args:
            items: The page's items (all of them, read before or not).

        Returns:
            Whether the page brought anything new: a later time, or keys not yet read at
            :attr:`since`. A full page that brings nothing new means the API holds more
            items at one time than a page can show.
        """
        newest = self.since
        at_newest: set[str] = set()
        for item in items:
            moment, key = self.time(item), self.key(item)
            if moment is None or key is None:
                continue
            if newest is None or newest < moment:
                newest, at_newest = moment, {key}
            elif moment == newest:
                at_newest.add(key)
        if newest is not None and newest != self.since:
            self.since, self.seen, self.page = newest, at_newest, 1
            return True
        grown = not at_newest <= self.seen
        self.seen |= at_newest
        self.page += 1
        return grown
