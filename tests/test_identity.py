"""Identity normalisation and resolution (``cxm.identity``) and trait precedence.

Resolution is tested on :func:`~cxm.identity.resolve_components` directly, with hand-built
``known`` and ``customer_age`` maps standing in for the store.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from cxm import Identity, ValidationError
from cxm.identity import (
    UnionFind,
    customer_id_for,
    normalize_email,
    normalize_identity,
    normalize_phone,
    resolve_components,
)
from cxm.store.writer import merge_traits

SALT = "0123456789abcdef0123456789abcdef"

Key = tuple[str, str]


def email(local: str) -> Key:
    return ("email", f"{local}@example.com")


# -- normalize_email -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("ann@example.com", "ann@example.com"),
        ("Ann@Example.COM", "ann@example.com"),
        ("ANN.SMITH+news@EXAMPLE.co.uk", "ann.smith+news@example.co.uk"),
        ("  ann@example.com\t", "ann@example.com"),
        ("ann@example.com\n", "ann@example.com"),
        ("ÅSE@Example.no", "åse@example.no"),
    ],
)
def test_normalize_email_folds_case_of_the_whole_address_and_trims(
    given: str, expected: str
) -> None:
    assert normalize_email(given) == expected


def test_normalize_email_makes_spellings_one_identity() -> None:
    spellings = ["ann@example.com", "ANN@EXAMPLE.COM", " Ann@example.Com "]
    assert {Identity("email", s) for s in spellings} == {Identity("email", "ann@example.com")}


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "ann",
        "ann@",
        "@example.com",
        "ann@example",
        "ann@@example.com",
        "ann smith@example.com",
        "ann@exa mple.com",
        "Ann <ann@example.com>",
    ],
)
def test_normalize_email_rejects_invalid_addresses(bad: str) -> None:
    with pytest.raises(ValidationError) as exc_info:
        normalize_email(bad)
    exc = exc_info.value
    assert exc.field == "Identity.value"
    assert exc.value == bad
    assert "not a valid e-mail address" in exc.reason
    assert str(exc).startswith(f"Identity.value={bad!r}: ")


def test_normalize_email_rejects_non_strings() -> None:
    with pytest.raises(ValidationError) as exc_info:
        normalize_email(None)  # type: ignore[arg-type]
    assert exc_info.value.field == "Identity.value"
    assert exc_info.value.value is None
    assert "string" in str(exc_info.value)


def test_normalize_email_does_no_dns_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    import email_validator.deliverability

    def no_network(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("normalize_email must not touch the network")

    monkeypatch.setattr(email_validator.deliverability, "validate_email_deliverability", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    # A syntactically valid address on a domain that does not exist still normalises.
    address = "X@qzxv-no-such-domain-cxm-4711.com"
    assert normalize_email(address) == address.lower()


# -- normalize_phone -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "region", "expected"),
    [
        ("+44 20 7946 0958", None, "+442079460958"),
        ("+44 (0)20 7946 0958", None, "+442079460958"),
        ("+1 415-555-2671", None, "+14155552671"),
        ("+44 20 7946 0958", "US", "+442079460958"),  # international ignores region
        ("020 7946 0958", "GB", "+442079460958"),
        ("020 7946 0958", "gb", "+442079460958"),
        ("07400 123456", "GB", "+447400123456"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
    ],
)
def test_normalize_phone_to_e164(given: str, region: str | None, expected: str) -> None:
    assert normalize_phone(given, region) == expected


def test_same_national_digits_differ_by_region() -> None:
    assert normalize_phone("030 12345678", "GB") == "+443012345678"
    assert normalize_phone("030 12345678", "DE") == "+493012345678"


@pytest.mark.parametrize(
    ("bad", "region"),
    [("+44 12", None), ("12", "US"), ("+44 20 7946 09581234567", None), ("123", "GB")],
)
def test_normalize_phone_rejects_impossible_numbers(bad: str, region: str | None) -> None:
    with pytest.raises(ValidationError) as exc_info:
        normalize_phone(bad, region)
    exc = exc_info.value
    assert exc.field == "Identity.value"
    assert exc.value == bad
    assert "phone number" in exc.reason
    assert str(exc).startswith(f"Identity.value={bad!r}: ")


@pytest.mark.parametrize(("bad", "region"), [("banana", "GB"), ("+999 1234", None), ("", "US")])
def test_normalize_phone_rejects_non_numbers(bad: str, region: str | None) -> None:
    with pytest.raises(ValidationError) as exc_info:
        normalize_phone(bad, region)
    assert exc_info.value.field == "Identity.value"
    assert exc_info.value.value == bad
    assert "phone number" in exc_info.value.reason


def test_national_number_without_region_hints_at_region() -> None:
    with pytest.raises(ValidationError) as exc_info:
        normalize_phone("020 7946 0958")
    exc = exc_info.value
    assert exc.field == "Identity.value"
    assert exc.value == "020 7946 0958"
    assert "region=" in exc.reason
    assert "region=" in str(exc)
    # With a region given the hint would be misleading, so it is left out.
    with pytest.raises(ValidationError) as exc_info:
        normalize_phone("banana", "GB")
    assert "region=" not in exc_info.value.reason


def test_identity_phone_uses_region_only_for_national_numbers() -> None:
    assert Identity("phone", "020 7946 0958", region="GB").value == "+442079460958"
    assert Identity("phone", "+1 415 555 2671", region="GB").value == "+14155552671"
    with pytest.raises(ValidationError) as exc_info:
        Identity("phone", "020 7946 0958")
    assert exc_info.value.field == "Identity.value"
    assert "region=" in str(exc_info.value)


# -- scoped kinds --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("hubspot:contact", "12345", ("hubspot:contact", "12345")),
        ("shopify:customer", "  gid://1  ", ("shopify:customer", "gid://1")),
        ("my-crm.eu:account_id", "A-7", ("my-crm.eu:account_id", "A-7")),
    ],
)
def test_scoped_kinds_are_kept_and_values_trimmed(
    kind: str, value: str, expected: tuple[str, str]
) -> None:
    assert normalize_identity(kind, value) == expected
    assert Identity(kind, value).key == expected


@pytest.mark.parametrize(
    "kind",
    ["HubSpot", "HubSpot:contact", "hubspot:Contact", "foo", "hubspot:", ":contact", "a:b:c", ""],
)
def test_invalid_kinds_are_rejected_naming_the_kind(kind: str) -> None:
    with pytest.raises(ValidationError) as exc_info:
        normalize_identity(kind, "12345")
    exc = exc_info.value
    assert exc.field == "Identity.kind"
    assert exc.value == kind
    assert "hubspot:contact" in exc.reason  # shows the expected form
    assert repr(kind) in str(exc)


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_scoped_identity_value_must_not_be_empty(value: str) -> None:
    with pytest.raises(ValidationError) as exc_info:
        normalize_identity("hubspot:contact", value)
    assert exc_info.value.field == "Identity.value"
    assert exc_info.value.value == value
    assert "empty" in exc_info.value.reason


def test_scoped_identity_value_length_is_bounded() -> None:
    assert normalize_identity("hubspot:contact", "x" * 320)[1] == "x" * 320
    with pytest.raises(ValidationError) as exc_info:
        normalize_identity("hubspot:contact", "x" * 321)
    assert exc_info.value.field == "Identity.value"
    assert "320" in exc_info.value.reason


def test_scoped_kind_with_trailing_newline_is_rejected() -> None:
    # ``re.match`` with ``$`` accepts a final "\n"; the kind would be stored with it.
    with pytest.raises(ValidationError) as exc_info:
        normalize_identity("hubspot:contact\n", "12345")
    assert exc_info.value.field == "Identity.kind"
    assert exc_info.value.value == "hubspot:contact\n"


# -- customer_id_for -----------------------------------------------------------------------


def test_customer_id_is_deterministic_per_salt_and_identity() -> None:
    ann = email("ann")
    first = customer_id_for(SALT, ann)
    assert first == customer_id_for(SALT, ("email", "ann@example.com"))
    assert first.startswith("cus_")
    assert len(first) == 24
    int(first[4:], 16)  # the rest is hex; raises ValueError otherwise
    assert first != customer_id_for(SALT, email("bob"))
    assert first != customer_id_for("another-salt", ann)
    # Kind and value are separated, so ("a", "b:c") and ("a:b", "c") cannot collide.
    assert customer_id_for(SALT, ("a:b", "c")) != customer_id_for(SALT, ("a", "b:c"))


def test_customer_id_reveals_no_identity_text() -> None:
    for identity in [email("ann"), ("phone", "+442079460958"), ("hubspot:contact", "12345")]:
        cid = customer_id_for(SALT, identity)
        for fragment in (identity[1], identity[1].split("@")[0], "example", "4420", "12345"):
            assert fragment not in cid
        assert identity[0] not in cid


def test_customer_ids_do_not_collide_on_many_identities() -> None:
    ids = {customer_id_for(SALT, email(f"user{i}")) for i in range(5_000)}
    assert len(ids) == 5_000


# -- UnionFind -----------------------------------------------------------------------------


def test_union_find_basics() -> None:
    uf: UnionFind[str] = UnionFind()
    assert "a" not in uf
    assert uf.find("a") == "a"  # find adds
    assert "a" in uf
    uf.add("b")
    uf.add("b")  # idempotent
    assert uf.groups() == {"a": ["a"], "b": ["b"]}
    root = uf.union("a", "b")
    assert root in {"a", "b"}
    assert uf.find("a") == uf.find("b") == root
    assert uf.union("b", "a") == root  # already joined
    assert sorted(uf.groups()[root]) == ["a", "b"]


def test_union_find_union_by_size_keeps_the_bigger_root() -> None:
    uf: UnionFind[int] = UnionFind()
    for node in (1, 2, 3):
        uf.union(0, node)
    big = uf.find(0)
    assert uf.union(9, 3) == big  # 9 is a singleton; the root of the 4-set survives
    assert uf.union(big, 10) == big


def test_union_find_groups_match_connected_components() -> None:
    rng = random.Random(7)
    nodes = list(range(200))
    edges = [(rng.choice(nodes), rng.choice(nodes)) for _ in range(150)]
    uf: UnionFind[int] = UnionFind()
    for node in nodes:
        uf.add(node)
    for left, right in edges:
        uf.union(left, right)
    # Reference: breadth-first search over the same edges.
    neighbours: dict[int, set[int]] = {n: set() for n in nodes}
    for left, right in edges:
        neighbours[left].add(right)
        neighbours[right].add(left)
    expected: set[frozenset[int]] = set()
    seen: set[int] = set()
    for start in nodes:
        if start in seen:
            continue
        component, frontier = {start}, [start]
        while frontier:
            node = frontier.pop()
            for other in neighbours[node] - component:
                component.add(other)
                frontier.append(other)
        seen |= component
        expected.add(frozenset(component))
    got = {frozenset(members) for members in uf.groups().values()}
    assert got == expected
    assert sum(len(m) for m in uf.groups().values()) == len(nodes)


# -- resolve_components --------------------------------------------------------------------


def test_single_record_with_one_new_identity() -> None:
    ann = email("ann")
    result = resolve_components([[ann]], {}, {}, SALT)
    cid = customer_id_for(SALT, ann)
    assert result.customer_of == {ann: cid}
    assert result.new_customers == {cid: ann}
    assert result.merges == []
    assert result.new_identities == [ann]


def test_single_record_with_several_new_identities_takes_the_smallest() -> None:
    phone, ann, crm = ("phone", "+442079460958"), email("ann"), ("hubspot:contact", "7")
    for order in itertools.permutations([phone, ann, crm]):
        result = resolve_components([list(order)], {}, {}, SALT)
        cid = customer_id_for(SALT, ann)  # ("email", ...) sorts first
        assert result.customer_of == {phone: cid, ann: cid, crm: cid}
        assert result.new_customers == {cid: ann}
        assert result.merges == []
        assert set(result.new_identities) == {phone, ann, crm}


def test_records_sharing_an_identity_in_one_batch_are_one_customer() -> None:
    a, b, c, z = email("a"), email("b"), email("c"), email("z")
    result = resolve_components([[b, c], [z], [a, b], [z]], {}, {}, SALT)
    abc = customer_id_for(SALT, a)
    assert result.customer_of == {a: abc, b: abc, c: abc, z: customer_id_for(SALT, z)}
    assert result.new_customers == {abc: a, customer_id_for(SALT, z): z}
    assert result.merges == []


def test_identity_of_a_stored_customer_resolves_to_it() -> None:
    ann, new = email("ann"), email("new")
    known = {ann: "cus_stored"}
    ages = {"cus_stored": (100, "cus_stored")}
    alone = resolve_components([[ann]], known, ages, SALT)
    assert alone.customer_of == {ann: "cus_stored"}
    assert alone.new_customers == {}
    assert alone.new_identities == []
    together = resolve_components([[new, ann]], known, ages, SALT)
    assert together.customer_of == {ann: "cus_stored", new: "cus_stored"}
    assert together.new_customers == {}
    assert together.new_identities == [new]
    assert together.merges == []


def test_record_linking_two_stored_customers_merges_into_the_oldest() -> None:
    a, b, z = email("a"), email("b"), email("z")
    # cus_b is older even though its id sorts later: age decides, not the id.
    known = {a: "cus_a", b: "cus_b"}
    ages = {"cus_a": (200, "cus_a"), "cus_b": (100, "cus_b")}
    records = [[z], [a], [b], [a, b]]
    result = resolve_components(records, known, ages, SALT)
    assert result.merges == [("cus_b", "cus_a", 3)]  # record 3 is the evidence
    assert result.customer_of[a] == result.customer_of[b] == "cus_b"
    assert result.customer_of[z] == customer_id_for(SALT, z)
    assert result.new_customers == {customer_id_for(SALT, z): z}
    assert result.new_identities == [z]


def test_merge_survivor_does_not_depend_on_record_order() -> None:
    a, b = email("a"), email("b")
    known = {a: "cus_a", b: "cus_b"}
    ages = {"cus_a": (200, "cus_a"), "cus_b": (100, "cus_b")}
    for identities in ([a, b], [b, a]):
        result = resolve_components([identities], known, ages, SALT)
        assert result.merges == [("cus_b", "cus_a", 0)]


def test_same_age_merge_keeps_the_smaller_customer_id() -> None:
    a, b = email("a"), email("b")
    known = {a: "cus_2", b: "cus_1"}
    ages = {"cus_1": (100, "cus_1"), "cus_2": (100, "cus_2")}
    result = resolve_components([[a, b]], known, ages, SALT)
    assert result.merges == [("cus_1", "cus_2", 0)]
    assert set(result.customer_of.values()) == {"cus_1"}


def test_merge_evidence_points_at_the_linking_record() -> None:
    a, b, x, y = email("a"), email("b"), email("x"), email("y")
    known = {a: "cus_a", b: "cus_b"}
    ages = {"cus_a": (100, "cus_a"), "cus_b": (200, "cus_b")}
    records = [[x, y], [a], [x], [y, b], [a, x]]
    result = resolve_components(records, known, ages, SALT)
    ((survivor, merged, evidence),) = result.merges
    assert (survivor, merged) == ("cus_a", "cus_b")
    # The evidence is a record of the linking component that asserts several identities.
    assert 0 <= evidence < len(records)
    assert len(records[evidence]) > 1
    assert set(records[evidence]) & {a, b, x, y}
    assert set(result.customer_of.values()) == {"cus_a"}


def test_chain_across_three_stored_customers_merges_into_the_oldest() -> None:
    a, b, c, d = email("a"), email("b"), email("c"), email("d")
    known = {a: "cus_1", b: "cus_2", c: "cus_3"}
    ages = {
        "cus_1": (300, "cus_1"),
        "cus_2": (200, "cus_2"),
        "cus_3": (100, "cus_3"),  # the oldest
    }
    records = [[a, d], [d, b], [b, c]]
    for order in itertools.permutations(records):
        result = resolve_components(list(order), known, ages, SALT)
        assert sorted(m[:2] for m in result.merges) == [("cus_3", "cus_1"), ("cus_3", "cus_2")]
        for _survivor, _merged, evidence in result.merges:
            assert 0 <= evidence < len(records)
            assert len(order[evidence]) > 1
        assert {result.customer_of[i] for i in (a, b, c, d)} == {"cus_3"}
        assert result.new_customers == {}
        assert result.new_identities == [d]


def test_chain_through_a_stored_customer_with_two_identities() -> None:
    # Two records that share no identity are linked only because the store already holds
    # b and c as one customer: a-b and c-d must end as one customer.
    a, b, c, d = email("a"), email("b"), email("c"), email("d")
    known = {a: "cus_1", b: "cus_2", c: "cus_2", d: "cus_3"}
    ages = {"cus_1": (300, "cus_1"), "cus_2": (200, "cus_2"), "cus_3": (100, "cus_3")}
    result = resolve_components([[a, b], [c, d]], known, ages, SALT)
    assert sorted(m[:2] for m in result.merges) == [("cus_3", "cus_1"), ("cus_3", "cus_2")]
    assert {result.customer_of[i] for i in (a, b, c, d)} == {"cus_3"}


def test_identity_asserted_alone_follows_its_merged_customer() -> None:
    a, x, b = email("a"), email("x"), email("b")
    known = {a: "cus_1", x: "cus_1", b: "cus_2"}
    ages = {"cus_1": (200, "cus_1"), "cus_2": (100, "cus_2")}
    result = resolve_components([[a], [x, b]], known, ages, SALT)
    assert result.merges == [("cus_2", "cus_1", 1)]
    assert result.customer_of == {a: "cus_2", x: "cus_2", b: "cus_2"}


def test_unrelated_components_stay_apart() -> None:
    a, b, c, d = email("a"), email("b"), email("c"), email("d")
    known = {a: "cus_1", c: "cus_2"}
    ages = {"cus_1": (100, "cus_1"), "cus_2": (50, "cus_2")}
    result = resolve_components([[a, b], [c, d]], known, ages, SALT)
    assert result.merges == []
    assert result.customer_of == {a: "cus_1", b: "cus_1", c: "cus_2", d: "cus_2"}
    assert result.new_customers == {}
    assert sorted(result.new_identities) == [b, d]


def test_new_component_id_is_derived_from_its_smallest_identity() -> None:
    m, n, p = email("m"), email("n"), ("phone", "+442079460958")
    records = [[p, n], [n], [m, p]]
    for order in itertools.permutations(records):
        result = resolve_components(list(order), {}, {}, SALT)
        cid = customer_id_for(SALT, m)
        assert result.new_customers == {cid: m}
        assert set(result.customer_of.values()) == {cid}


# -- merge_traits --------------------------------------------------------------------------

TraitRow = tuple[dict[str, Any], int | None, str, str]


def assert_order_free(rows: list[TraitRow], expected: dict[str, Any]) -> None:
    for order in itertools.permutations(rows):
        assert merge_traits(order) == expected


def test_merge_traits_newest_wins_per_trait() -> None:
    rows: list[TraitRow] = [
        ({"plan": "free", "city": "Oslo", "seats": 1}, 100, "crm", "a"),
        ({"plan": "pro"}, 300, "shop", "b"),
        ({"city": "Bergen", "seats": 5}, 200, "survey", "c"),
    ]
    expected = {"city": "Bergen", "plan": "pro", "seats": 5}
    assert_order_free(rows, expected)
    assert list(merge_traits(rows)) == ["city", "plan", "seats"]


def test_merge_traits_undated_ranks_lowest() -> None:
    rows: list[TraitRow] = [
        ({"plan": "enterprise", "only_undated": True}, None, "zzz", "z"),
        ({"plan": "free"}, -5_000_000, "aaa", "a"),  # dated before 1970 still beats undated
    ]
    assert_order_free(rows, {"only_undated": True, "plan": "free"})


def test_merge_traits_ties_broken_by_source_and_source_id() -> None:
    rows: list[TraitRow] = [
        ({"plan": "crm-a"}, 100, "crm", "a"),
        ({"plan": "crm-b"}, 100, "crm", "b"),
        ({"plan": "alpha"}, 100, "alpha", "z"),
    ]
    # The greatest (source, source_id) among the newest wins, whatever the input order.
    assert_order_free(rows, {"plan": "crm-b"})
    undated: list[TraitRow] = [
        ({"plan": "x"}, None, "shop", "1"),
        ({"plan": "y"}, None, "crm", "9"),
    ]
    assert_order_free(undated, {"plan": "x"})


def test_merge_traits_keeps_falsy_values_and_empty_input() -> None:
    rows: list[TraitRow] = [
        ({"vip": True, "note": "hi"}, 1, "crm", "a"),
        ({"vip": False, "note": None}, 2, "crm", "b"),
    ]
    assert_order_free(rows, {"note": None, "vip": False})
    assert merge_traits([]) == {}
