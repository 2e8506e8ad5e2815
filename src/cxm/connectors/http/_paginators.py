"""Paginators: how to ask for the next page, and when there is none.

A paginator is a small state machine in the manner of dlt's: before each request
:meth:`~Paginator.update_request` writes the paging parameters (or the next URL) into the
request; after each answer :meth:`~Paginator.update_state` reads where the next page is and
whether there is one. Its :attr:`~Paginator.state` after a page is a small JSON object, the
resume token a connector stores in a :class:`~cxm.connectors.Checkpoint`; a fresh paginator
given that token with :meth:`~Paginator.resume` asks for the following page.
"""

from __future__ import annotations

import abc
import copy
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

import attrs
import httpx

from cxm.exceptions import ValidationError

__all__ = [
    "JsonCursorPaginator",
    "LinkHeaderPaginator",
    "NextUrlPaginator",
    "OffsetPaginator",
    "PageNumberPaginator",
    "PageRequest",
    "Paginator",
    "SinglePage",
    "find_path",
]

_MISSING = object()


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _compile_path(owner: str, path: str | None) -> tuple[str | int, ...] | None:
    if path is None:
        return None
    if not _is_text(path) or any(not part for part in path.split(".")):
        raise ValidationError(owner, path, "must be a dotted JSON path such as 'meta.next'")
    return tuple(int(part) if part.isdigit() else part for part in path.split("."))


def find_path(document: Any, path: tuple[str | int, ...] | str, default: Any = None) -> Any:
    """Return the value at a dotted path in a decoded JSON document.

    Args:
        document: Decoded JSON.
        path: ``"data.items"``, ``"links.0.href"``, or the same as a tuple of keys and indexes.
        default: Returned when a step of the path does not exist.

    Returns:
        The value found, or ``default``.

    Examples:
        >>> find_path({"meta": {"next": "abc"}}, "meta.next")
        'abc'
        >>> find_path({"links": [{"href": "/a"}]}, "links.0.href")
        '/a'
        >>> find_path({"meta": {}}, "meta.next", default="none")
        'none'
    """
    steps = tuple(path.split(".")) if isinstance(path, str) else path
    value = document
    for step in steps:
        if isinstance(value, Mapping):
            value = value.get(str(step), _MISSING)
        elif isinstance(value, list) and (isinstance(step, int) or str(step).isdigit()):
            index = int(step)
            value = value[index] if index < len(value) else _MISSING
        else:
            return default
        if value is _MISSING:
            return default
    return value


@attrs.define
class PageRequest:
    """The next request of a pagination, as paginators see and change it.

    Attributes:
        url: Absolute, or relative to the client's ``base_url``.
        params: Query parameters, merged into the URL's own.
        json: JSON body, for APIs that page with ``POST`` searches (a custom paginator may put
            its cursor here).
    """

    url: str
    params: dict[str, Any] = attrs.Factory(dict)
    json: Any = None


class Paginator(abc.ABC):
    """Base class of paginators; subclass it for an API none of the built-ins fits.

    A subclass implements :meth:`update_request`, :meth:`update_state`, :meth:`position` and
    :meth:`restore`, and sets :attr:`has_next` to ``False`` when the last page has been read.
    ``HttpClient.paginate`` copies the paginator it is given, so one instance can configure
    several paginations.

    Attributes:
        has_next: Whether another page should be requested.
    """

    def __init__(self) -> None:
        self.has_next = True

    @abc.abstractmethod
    def update_request(self, request: PageRequest) -> None:
        """Write the paging parameters for the next page into ``request``."""

    @abc.abstractmethod
    def update_state(self, response: httpx.Response, body: Any, items: list[Any]) -> None:
        """Learn from a page where the next one is, and whether there is one.

        Args:
            response: The answer.
            body: Its decoded JSON.
            items: The records it carried.
        """

    @abc.abstractmethod
    def position(self) -> dict[str, Any]:
        """Return where the next page is, as a small JSON object."""

    @abc.abstractmethod
    def restore(self, position: Mapping[str, Any]) -> None:
        """Go to a position :meth:`position` returned.

        Raises:
            ValidationError: If the position is not one this paginator wrote.
        """

    @property
    def state(self) -> dict[str, Any]:
        """The resume token: :meth:`position`, plus ``"done": true`` after the last page."""
        position = self.position()
        if not self.has_next:
            position["done"] = True
        return position

    def resume(self, state: Mapping[str, Any]) -> None:
        """Continue after the page whose :attr:`state` this was.

        Raises:
            ValidationError: If ``state`` is not a resume token of this kind of paginator.
        """
        if not isinstance(state, Mapping):
            raise ValidationError(f"{type(self).__name__}.resume", state, "must be a JSON object")
        self.restore(state)
        self.has_next = not state.get("done", False)

    def copy(self) -> Paginator:
        """Return an independent copy, with the same settings and position."""
        return copy.deepcopy(self)

    def _refuse(self, state: Any, reason: str) -> ValidationError:
        return ValidationError(f"{type(self).__name__}.resume", state, reason)


def _whole(owner: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(owner, value, f"must be an integer of at least {minimum}")
    return value


def _count(body: Any, path: tuple[str | int, ...] | None) -> int | None:
    if path is None:
        return None
    value = find_path(body, path)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class SinglePage(Paginator):
    """The whole answer is one page.

    Examples:
        >>> pager = SinglePage()
        >>> pager.update_state(httpx.Response(200), [], [])
        >>> pager.has_next, pager.state
        (False, {'done': True})
    """

    def update_request(self, request: PageRequest) -> None:
        """Leave the request as it is."""

    def update_state(self, response: httpx.Response, body: Any, items: list[Any]) -> None:
        """There is never a next page."""
        self.has_next = False

    def position(self) -> dict[str, Any]:
        """Return ``{}``: a single page has no position."""
        return {}

    def restore(self, position: Mapping[str, Any]) -> None:
        """Accept any token: resuming a single page reads it again unless it was done."""

    def __repr__(self) -> str:
        return "SinglePage()"


class PageNumberPaginator(Paginator):
    """Pages counted 1, 2, 3 ... in a query parameter (``?page=3``).

    Stops after an empty page, or after the last page when the answer says how many pages
    there are.

    Args:
        param: The page-number query parameter.
        start: The number of the first page (some APIs count from 0).
        page_size: Records per page to ask for, sent as ``size_param``.
        size_param: The page-size query parameter (``"per_page"``).
        total_pages: JSON path to the number of pages in the answer (``"meta.total_pages"``).

    Examples:
        >>> pager = PageNumberPaginator(page_size=50, size_param="per_page")
        >>> request = PageRequest("/tickets")
        >>> pager.update_request(request); request.params
        {'page': 1, 'per_page': 50}
        >>> pager.update_state(httpx.Response(200), {}, [{"id": 1}]); pager.state
        {'page': 2}
    """

    def __init__(
        self,
        param: str = "page",
        start: int = 1,
        page_size: int | None = None,
        size_param: str | None = None,
        total_pages: str | None = None,
    ) -> None:
        super().__init__()
        self.param = param
        self.start = _whole("PageNumberPaginator.start", start, 0)
        if page_size is not None:
            _whole("PageNumberPaginator.page_size", page_size, 1)
            if size_param is None:
                raise ValidationError(
                    "PageNumberPaginator.size_param", None, "is required with page_size"
                )
        self.page_size = page_size
        self.size_param = size_param
        self.total_pages = total_pages
        self._total_path = _compile_path("PageNumberPaginator.total_pages", total_pages)
        self.page = start

    def update_request(self, request: PageRequest) -> None:
        """Ask for the current page (and the page size)."""
        request.params[self.param] = self.page
        if self.page_size is not None and self.size_param is not None:
            request.params[self.size_param] = self.page_size

    def update_state(self, response: httpx.Response, body: Any, items: list[Any]) -> None:
        """Move to the next page; stop after an empty one or the last one."""
        total = _count(body, self._total_path)
        last = self.page
        self.page += 1
        if not items or (total is not None and last - self.start + 1 >= total):
            self.has_next = False

    def position(self) -> dict[str, Any]:
        """Return ``{"page": <next page number>}``."""
        return {"page": self.page}

    def restore(self, position: Mapping[str, Any]) -> None:
        """Go to ``position["page"]``."""
        page = position.get("page")
        if isinstance(page, bool) or not isinstance(page, int) or page < self.start:
            raise self._refuse(position, f"needs 'page', an integer of at least {self.start}")
        self.page = page

    def __repr__(self) -> str:
        return (
            f"PageNumberPaginator(param={self.param!r}, start={self.start}, "
            f"page_size={self.page_size!r}, size_param={self.size_param!r}, "
            f"total_pages={self.total_pages!r})"
        )


class OffsetPaginator(Paginator):
    """Records skipped and records wanted in two query parameters (``?offset=200&limit=100``).

    The offset advances by the number of records actually received, not by ``limit``, so an API
    that quietly caps the page size below ``limit`` loses nothing. Stops after an empty page or
    when the offset reaches the total the answer reports.

    Args:
        offset_param: The offset query parameter.
        limit_param: The page-size query parameter.
        limit: Records per page to ask for.
        total: JSON path to the total number of records in the answer (``"meta.total"``).
        start: The offset of the first page.

    Examples:
        >>> pager = OffsetPaginator(limit=2, total="total")
        >>> pager.update_state(httpx.Response(200), {"total": 3}, [1, 2]); pager.state
        {'offset': 2}
        >>> pager.update_state(httpx.Response(200), {"total": 3}, [3]); pager.state
        {'offset': 3, 'done': True}
    """

    def __init__(
        self,
        offset_param: str = "offset",
        limit_param: str = "limit",
        limit: int = 100,
        total: str | None = None,
        start: int = 0,
    ) -> None:
        super().__init__()
        self.offset_param = offset_param
        self.limit_param = limit_param
        self.limit = _whole("OffsetPaginator.limit", limit, 1)
        self.total = total
        self._total_path = _compile_path("OffsetPaginator.total", total)
        self.offset = _whole("OffsetPaginator.start", start, 0)

    def update_request(self, request: PageRequest) -> None:
        """Ask for ``limit`` records from the current offset."""
        request.params[self.offset_param] = self.offset
        request.params[self.limit_param] = self.limit

    def update_state(self, response: httpx.Response, body: Any, items: list[Any]) -> None:
        """Advance by the records received; stop after an empty page or at the total."""
        self.offset += len(items)
        total = _count(body, self._total_path)
        if not items or (total is not None and self.offset >= total):
            self.has_next = False

    def position(self) -> dict[str, Any]:
        """Return ``{"offset": <next offset>}``."""
        return {"offset": self.offset}

    def restore(self, position: Mapping[str, Any]) -> None:
        """Go to ``position["offset"]``."""
        offset = position.get("offset")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise self._refuse(position, "needs 'offset', a non-negative integer")
        self.offset = offset

    def __repr__(self) -> str:
        return (
            f"OffsetPaginator(offset_param={self.offset_param!r}, "
            f"limit_param={self.limit_param!r}, limit={self.limit}, total={self.total!r})"
        )


class JsonCursorPaginator(Paginator):
    """An opaque cursor in the answer's JSON, sent back in a query parameter.

    Stops when the cursor is missing, ``null`` or empty, or when ``has_more`` (if given) is
    false.

    Args:
        cursor_path: JSON path to the next cursor (``"meta.next_cursor"``).
        param: The query parameter that carries it.
        has_more: JSON path to a "there is more" flag, for APIs that return a cursor even on
            the last page (``"has_more"``).

    Examples:
        >>> pager = JsonCursorPaginator("meta.next_cursor", "cursor")
        >>> pager.update_state(httpx.Response(200), {"meta": {"next_cursor": "c2"}}, [1])
        >>> request = PageRequest("/events"); pager.update_request(request); request.params
        {'cursor': 'c2'}
    """

    def __init__(
        self,
        cursor_path: str = "meta.next_cursor",
        param: str = "cursor",
        has_more: str | None = None,
    ) -> None:
        super().__init__()
        self.cursor_path = cursor_path
        self._cursor_path = _compile_path("JsonCursorPaginator.cursor_path", cursor_path)
        self.param = param
        self.has_more = has_more
        self._has_more_path = _compile_path("JsonCursorPaginator.has_more", has_more)
        self.cursor: str | int | None = None

    def update_request(self, request: PageRequest) -> None:
        """Send the cursor (the first page goes without one)."""
        if self.cursor is not None:
            request.params[self.param] = self.cursor

    def update_state(self, response: httpx.Response, body: Any, items: list[Any]) -> None:
        """Read the next cursor; stop when there is none."""
        assert self._cursor_path is not None  # noqa: S101 - compiled from a required str
        cursor = find_path(body, self._cursor_path)
        more = True
        if self._has_more_path is not None:
            more = bool(find_path(body, self._has_more_path))
        if cursor in (None, "") or not more or not isinstance(cursor, str | int):
            self.cursor = None
            self.has_next = False
        else:
            self.cursor = cursor

    def position(self) -> dict[str, Any]:
        """Return ``{"cursor": <next cursor or null>}``."""
        return {"cursor": self.cursor}

    def restore(self, position: Mapping[str, Any]) -> None:
        """Go to ``position["cursor"]``."""
        cursor = position.get("cursor", _MISSING)
        if cursor is _MISSING or not (cursor is None or isinstance(cursor, str | int)):
            raise self._refuse(position, "needs 'cursor', a string, an integer or null")
        self.cursor = cursor

    def __repr__(self) -> str:
        return f"JsonCursorPaginator(cursor_path={self.cursor_path!r}, param={self.param!r})"


class _NextUrl(Paginator):
    """Shared by the paginators that follow a URL the server gives."""

    def __init__(self) -> None:
        super().__init__()
        self.url: str | None = None

    def update_request(self, request: PageRequest) -> None:
        """Request the next URL as given: it carries its own query, so drop the first page's."""
        if self.url is not None:
            request.url = self.url
            request.params = {}

    def update_state(self, response: httpx.Response, body: Any, items: list[Any]) -> None:
        """Read the next URL, resolved against the URL of this page; stop when there is none."""
        found = self._next_from(response, body)
        if not found:
            self.url = None
            self.has_next = False
        else:
            self.url = urljoin(str(response.request.url), found)

    def _next_from(self, response: httpx.Response, body: Any) -> str | None:
        raise NotImplementedError

    def position(self) -> dict[str, Any]:
        """Return ``{"url": <next URL or null>}``."""
        return {"url": self.url}

    def restore(self, position: Mapping[str, Any]) -> None:
        """Go to ``position["url"]``."""
        url = position.get("url", _MISSING)
        if url is _MISSING or not (url is None or isinstance(url, str)):
            raise self._refuse(position, "needs 'url', a string or null")
        self.url = url


class NextUrlPaginator(_NextUrl):
    """The URL of the next page in the answer's JSON (``{"links": {"next": "..."}}``).

    The URL may be absolute or relative to the page's own URL. Stops when it is missing,
    ``null`` or empty.

    Args:
        next_url_path: JSON path to the next URL.

    Examples:
        >>> pager = NextUrlPaginator("links.next")
        >>> page = httpx.Response(200, request=httpx.Request("GET", "https://api.example.com/v1/items"))
        >>> pager.update_state(page, {"links": {"next": "/v1/items?after=9"}}, [1]); pager.state
        {'url': 'https://api.example.com/v1/items?after=9'}
    """

    def __init__(self, next_url_path: str = "links.next") -> None:
        super().__init__()
        self.next_url_path = next_url_path
        self._path = _compile_path("NextUrlPaginator.next_url_path", next_url_path)

    def _next_from(self, response: httpx.Response, body: Any) -> str | None:
        assert self._path is not None  # noqa: S101 - compiled from a required str
        found = find_path(body, self._path)
        return found if isinstance(found, str) else None

    def __repr__(self) -> str:
        return f"NextUrlPaginator(next_url_path={self.next_url_path!r})"


class LinkHeaderPaginator(_NextUrl):
    """The next page's URL in an RFC 8288 ``Link`` header (``<...>; rel="next"``).

    Args:
        rel: The link relation to follow; a link whose ``rel`` lists several relations
            (``rel="next last"``) matches any of them.

    Examples:
        >>> page = httpx.Response(
        ...     200,
        ...     headers={"Link": '<https://api.example.com/items?page=2>; rel="next"'},
        ...     request=httpx.Request("GET", "https://api.example.com/items"),
        ... )
        >>> pager = LinkHeaderPaginator(); pager.update_state(page, [], [1]); pager.state
        {'url': 'https://api.example.com/items?page=2'}
    """

    def __init__(self, rel: str = "next") -> None:
        super().__init__()
        self.rel = rel

    def _next_from(self, response: httpx.Response, body: Any) -> str | None:
        for link in response.links.values():
            if self.rel in link.get("rel", "").split():
                return link.get("url") or None
        return None

    def __repr__(self) -> str:
        return f"LinkHeaderPaginator(rel={self.rel!r})"
