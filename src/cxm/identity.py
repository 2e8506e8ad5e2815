"""Identity normalisation and resolution: which records belong to the same customer.

Normalisation makes two spellings of one identifier equal before anything is compared: e-mail
addresses are syntax-checked with ``email-validator`` (no DNS) and lower-cased whole, phone numbers
are parsed with ``phonenumbers`` and written in E.164, and source-scoped ids (``hubspot:contact``)
are kept as given, trimmed. Resolution is connected components over the graph whose nodes are
identities and whose edges are "these identities were asserted together by one record": records
that share any identity, directly or through a chain, belong to one customer. The components are
found with a union-find (disjoint-set forest with path halving and union by size), so the
partition does not depend on the order records arrive in. When a new record links two existing
customers they are merged; the survivor is the oldest customer (earliest ``created_at``, ties by
the smaller ``customer_id``), a rule that does not depend on which record came last.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Hashable, Mapping, Sequence
from typing import Generic, TypeVar

import attrs
import email_validator
import phonenumbers

from cxm.exceptions import ValidationError

__all__ = [
    "ComponentResolution",
    "UnionFind",
    "customer_id_for",
    "normalize_email",
    "normalize_identity",
    "normalize_phone",
    "resolve_components",
]

EMAIL = "email"
PHONE = "phone"
_SCOPED_KIND = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,30}:[a-z0-9][a-z0-9_.-]{0,30}$")
_MAX_VALUE_LENGTH = 320
_CACHE_SIZE = 1 << 18

K = TypeVar("K", bound=Hashable)


def normalize_email(value: str) -> str:
    """Return the canonical form of an e-mail address.

    The address is syntax-checked by ``email-validator`` without any DNS lookup, then lower-cased
    whole (local part included: mailbox providers treat it case-insensitively in practice, and two
    spellings must resolve to one customer).

    Args:
        value: The address as written, e.g. ``"Ann@Example.COM "``.

    Returns:
        The normalised address, e.g. ``"ann@example.com"``.

    Raises:
        ValidationError: If the address is not syntactically valid.

    Examples:
        >>> normalize_email(" Ann@Example.COM ")
        'ann@example.com'
    """
    if not isinstance(value, str):
        raise ValidationError("Identity.value", value, "an e-mail address must be a string")
    return _normalize_email(value)


def _normalize_email(value: str) -> str:
    candidate = value.strip()
    try:
        checked = email_validator.validate_email(
            candidate, check_deliverability=False, allow_smtputf8=True
        )
    except email_validator.EmailNotValidError as exc:
        raise ValidationError(
            "Identity.value", value, f"not a valid e-mail address: {exc}"
        ) from exc
    return checked.normalized.lower()


def normalize_phone(value: str, region: str | None = None) -> str:
    """Return a phone number in E.164 form.

    Args:
        value: The number as written. International numbers (``"+44 20 7946 0958"``) parse on
            their own; national ones (``"020 7946 0958"``) need ``region``.
        region: ISO 3166-1 alpha-2 region used to read national numbers, e.g. ``"GB"``.

    Returns:
        The E.164 string, e.g. ``"+442079460958"``.

    Raises:
        ValidationError: If the number cannot be parsed or is not a valid number for its
            region (wrong length, or a range not assigned).

    Examples:
        >>> normalize_phone("+44 20 7946 0958")
        '+442079460958'
        >>> normalize_phone("(415) 555-2671", region="US")
        '+14155552671'
    """
    if not isinstance(value, str):
        raise ValidationError("Identity.value", value, "a phone number must be a string")
    if region is not None and not isinstance(region, str):
        raise ValidationError("region", region, "must be an ISO 3166-1 alpha-2 code like 'GB'")
    return _normalize_phone(value, region)


def _normalize_phone(value: str, region: str | None) -> str:
    try:
        parsed = phonenumbers.parse(value, region.upper() if region else None)
    except phonenumbers.NumberParseException as exc:
        hint = "" if region else " (a national number needs region=, e.g. region='GB')"
        raise ValidationError("Identity.value", value, f"not a phone number: {exc}{hint}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(
            "Identity.value", value, "not a valid phone number (wrong length or unassigned range)"
        )
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def normalize_identity(kind: str, value: str, region: str | None = None) -> tuple[str, str]:
    """Validate an identity kind and normalise its value.

    Args:
        kind: ``"email"``, ``"phone"``, or a source-scoped kind ``"<source>:<id-type>"`` in lower
            case, such as ``"hubspot:contact"``.
        value: The identifier.
        region: Default region for national phone numbers.

    Returns:
        ``(kind, normalised value)``.

    Raises:
        ValidationError: If the kind is unknown or the value is malformed.
    """
    # Type checks come before the cached work: the cache hashes its arguments, and a list
    # given by mistake must be refused with a ValidationError, not a TypeError.
    if not isinstance(kind, str):
        raise ValidationError("Identity.kind", kind, "must be a string")
    if not isinstance(value, str):
        raise ValidationError("Identity.value", value, "must be a string")
    if region is not None and not isinstance(region, str):
        raise ValidationError("region", region, "must be an ISO 3166-1 alpha-2 code like 'GB'")
    return _normalize_identity(kind, value, region)


# One bounded cache, at the entry every Identity goes through: the same addresses recur across
# a source's records, and email-validator costs ~25 us an address. Its size bounds the memory
# normalisation may hold, whatever the number of records.
@functools.lru_cache(maxsize=_CACHE_SIZE)
def _normalize_identity(kind: str, value: str, region: str | None) -> tuple[str, str]:
    if kind == EMAIL:
        return kind, _normalize_email(value)
    if kind == PHONE:
        return kind, _normalize_phone(value, region)
    if not _SCOPED_KIND.fullmatch(kind):
        raise ValidationError(
            "Identity.kind",
            kind,
            "must be 'email', 'phone' or a lower-case '<source>:<id-type>' such as "
            "'hubspot:contact'",
        )
    if not isinstance(value, str):
        raise ValidationError("Identity.value", value, "must be a string")
    stripped = value.strip()
    if not stripped:
        raise ValidationError("Identity.value", value, "must not be empty")
    if len(stripped) > _MAX_VALUE_LENGTH:
        raise ValidationError(
            "Identity.value", value, f"longer than {_MAX_VALUE_LENGTH} characters"
        )
    return kind, stripped


def customer_id_for(salt: str, identity: tuple[str, str]) -> str:
    """Return the id a new customer gets, derived from its smallest identity.

    The id is a keyed hash (BLAKE2b keyed with the workspace's random salt), so it is stable and
    reproducible inside one workspace but reveals nothing about the identity it came from.

    Args:
        salt: The workspace's secret salt.
        identity: ``(kind, value)`` of the smallest identity of the new customer.

    Returns:
        An opaque id such as ``"cus_3f2a..."`` (24 characters).
    """
    digest = hashlib.blake2b(
        f"{identity[0]}\x1f{identity[1]}".encode(), digest_size=10, key=salt.encode()
    ).hexdigest()
    return f"cus_{digest}"


class UnionFind(Generic[K]):
    """A disjoint-set forest with path halving and union by size.

    Examples:
        >>> uf: UnionFind[str] = UnionFind()
        >>> for left, right in [("a", "b"), ("c", "d"), ("b", "d")]:
        ...     _ = uf.union(left, right)
        >>> uf.find("a") == uf.find("c")
        True
    """

    __slots__ = ("_parent", "_size")

    def __init__(self) -> None:
        self._parent: dict[K, K] = {}
        self._size: dict[K, int] = {}

    def __contains__(self, node: object) -> bool:
        return node in self._parent

    def add(self, node: K) -> None:
        """Add ``node`` as a singleton set if it is not there yet."""
        if node not in self._parent:
            self._parent[node] = node
            self._size[node] = 1

    def find(self, node: K) -> K:
        """Return the representative of ``node``'s set, adding ``node`` if it is new."""
        parent = self._parent
        if node not in parent:
            self.add(node)
            return node
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def union(self, left: K, right: K) -> K:
        """Merge the sets of ``left`` and ``right``; return the new representative."""
        root_left, root_right = self.find(left), self.find(right)
        if root_left == root_right:
            return root_left
        if self._size[root_left] < self._size[root_right]:
            root_left, root_right = root_right, root_left
        self._parent[root_right] = root_left
        self._size[root_left] += self._size[root_right]
        return root_left

    def groups(self) -> dict[K, list[K]]:
        """Return every set as ``{representative: [members]}``."""
        out: dict[K, list[K]] = {}
        for node in self._parent:
            out.setdefault(self.find(node), []).append(node)
        return out


@attrs.frozen(kw_only=True)
class ComponentResolution:
    """How one batch's identities map onto customers.

    Attributes:
        customer_of: ``{identity: customer_id}`` for every identity in the batch.
        new_customers: ``{customer_id: smallest identity}`` for customers the batch creates.
        merges: ``(survivor_id, merged_id, evidence)`` for every customer absorbed by another;
            ``evidence`` is the index of a record whose identities linked them.
        new_identities: Identities of the batch that were not known before.
    """

    customer_of: dict[tuple[str, str], str]
    new_customers: dict[str, tuple[str, str]]
    merges: list[tuple[str, str, int]]
    new_identities: list[tuple[str, str]]


def resolve_components(
    record_identities: Sequence[Sequence[tuple[str, str]]],
    known: Mapping[tuple[str, str], str],
    customer_age: Mapping[str, tuple[int, str]],
    salt: str,
) -> ComponentResolution:
    """Resolve one batch of records' identities into customers.

    Two levels of union-find keep the common case cheap: identities are only joined for records
    that assert more than one; stored customers that end up in one component are then joined
    among themselves, so a chain across several stored customers merges them all into the
    oldest.

    Args:
        record_identities: For each record, the normalised identities it asserts together.
        known: ``{identity: customer_id}`` for the identities already in the store.
        customer_age: ``{customer_id: (created_us, customer_id)}`` for every customer in
            ``known``'s values; the smallest is the oldest and survives a merge.
        salt: Workspace salt used to derive new customer ids.

    Returns:
        The resolution: which customer each identity belongs to, which customers are new and
        which existing customers merge.
    """
    groups, first_record = _link_identities(record_identities)
    group_customers, survivor_of, merges = _merge_stored_customers(
        groups, first_record, known, customer_age
    )
    customer_of: dict[tuple[str, str], str] = {}
    new_customers: dict[str, tuple[str, str]] = {}
    for root, members in groups.items():
        found = group_customers[root]
        if found:
            survivor = survivor_of[next(iter(found))]
        else:
            smallest = min(members)
            survivor = customer_id_for(salt, smallest)
            new_customers[survivor] = smallest
        for identity in members:
            customer_of[identity] = survivor
    # Identities asserted alone: their stored customer (or its survivor), or a new customer.
    for identities in record_identities:
        for identity in identities:
            if identity in customer_of:
                continue
            held = known.get(identity)
            if held is None:
                held = customer_id_for(salt, identity)
                new_customers[held] = identity
            customer_of[identity] = survivor_of.get(held, held)
    return ComponentResolution(
        customer_of=customer_of,
        new_customers=new_customers,
        merges=merges,
        new_identities=[identity for identity in customer_of if identity not in known],
    )


def _link_identities(
    record_identities: Sequence[Sequence[tuple[str, str]]],
) -> tuple[dict[tuple[str, str], list[tuple[str, str]]], dict[tuple[str, str], int]]:
    """Join identities asserted together; return the groups and each group's first record."""
    linked: UnionFind[tuple[str, str]] = UnionFind()
    for identities in record_identities:
        for other in identities[1:]:
            linked.union(identities[0], other)
    first_record: dict[tuple[str, str], int] = {}
    for index, identities in enumerate(record_identities):
        if len(identities) > 1:
            first_record.setdefault(linked.find(identities[0]), index)
    return linked.groups(), first_record


def _merge_stored_customers(
    groups: Mapping[tuple[str, str], Sequence[tuple[str, str]]],
    first_record: Mapping[tuple[str, str], int],
    known: Mapping[tuple[str, str], str],
    customer_age: Mapping[str, tuple[int, str]],
) -> tuple[dict[tuple[str, str], set[str]], dict[str, str], list[tuple[str, str, int]]]:
    """Join stored customers that share a group; the oldest of each set survives.

    Returns:
        ``(stored customers per group, survivor per stored customer, merges)``; a merge is
        ``(survivor, merged, index of the first record that linked them)``.
    """
    customers: UnionFind[str] = UnionFind()
    evidence: dict[str, int] = {}
    group_customers: dict[tuple[str, str], set[str]] = {}
    for root, members in groups.items():
        found = {known[m] for m in members if m in known}
        group_customers[root] = found
        ordered = sorted(found)
        for customer_id in ordered:
            customers.add(customer_id)
            if len(ordered) > 1:
                evidence.setdefault(customer_id, first_record[root])
                customers.union(ordered[0], customer_id)
    survivor_of: dict[str, str] = {}
    merges: list[tuple[str, str, int]] = []
    for stored in customers.groups().values():
        ranked = sorted(stored, key=lambda cid: customer_age[cid])
        survivor = ranked[0]
        for merged in ranked:
            survivor_of[merged] = survivor
        merges.extend((survivor, m, evidence.get(m, -1)) for m in ranked[1:])
    return group_customers, survivor_of, merges
