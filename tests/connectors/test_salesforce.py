"""The salesforce connector against a fake Salesforce REST API.

The fake is shaped on Salesforce's published reference:

- QueryAll: https://developer.salesforce.com/docs/platform/api-rest/guide/resources-queryall.md
  (``GET /services/data/vXX.X/queryAll?q=...``; ``totalSize``, ``done``, ``nextRecordsUrl``,
  ``records`` with an ``attributes`` object ``{"type", "url"}``; soft-deleted and merged
  records included; "although the nextRecordsUrl has query in the URL, it still provides the
  remaining results from the initial QueryAll request")
- Query More Results:
  https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query-more-results.md
  and https://developer.salesforce.com/docs/platform/api-rest/guide/dome-query.md
  (``nextRecordsUrl`` is ``/services/data/vXX.X/query/<locator>-<offset>``, fetched with no
  parameters)
- Execute a SOQL Query that Includes Deleted Items:
  https://developer.salesforce.com/docs/platform/api-rest/guide/dome-queryall.md
- SOQL date formats (unquoted ``YYYY-MM-DDThh:mm:ssZ`` literals, whole seconds):
  https://developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-soql-select-dateformats.md
- Status codes and error responses (body ``[{"message", "errorCode"}]``; 401
  ``INVALID_SESSION_ID``; "403 ... If the error code is REQUEST_LIMIT_EXCEEDED, you've exceeded
  API request limits in your org"):
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
- API request limits (rolling 24-hour allocation, concurrent long-request limit, both
  ``REQUEST_LIMIT_EXCEEDED``):
  https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-api.html
- Limit Info header (``Sforce-Limit-Info: api-usage=18/5000``):
  https://developer.salesforce.com/docs/atlas.en-us.200.0.api_rest.meta/api_rest/headers_api_usage.htm
- OAuth 2.0 refresh token flow (``POST /services/oauth2/token``, ``grant_type=refresh_token``;
  answer ``access_token``, ``instance_url``, ``id``, ``token_type``, ``issued_at``,
  ``signature``, no ``expires_in``; an expired session answers "Session expired or invalid"):
  https://developer.salesforce.com/docs/atlas.en-us.222.0.api_rest.meta/api/intro_understanding_refresh_token_oauth.htm
  and https://help.salesforce.com/apex/HTViewHelpDoc?id=remoteaccess_oauth_refresh_token_flow.htm

Salesforce's REST API does not document a 429; the 429 test covers the generic HTTP path.
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import httpx
import pandas as pd
import pytest

import cxm
from cxm.connectors.http import RetryPolicy
from cxm.connectors.salesforce import SalesforceConnector, soql_datetime
from cxm.testing import ConnectorContract, Interrupted, interrupted

INSTANCE = "https://acme.my.salesforce.com"
CLIENT_ID = "3MVG9-acme-consumer-key"
CLIENT_SECRET = "sf-consumer-secret-31c7"
REFRESH_TOKEN = "5Aep861-refresh-token-9e1"
ACCESS_TOKEN = "00D5g000004-access-token-7f2"
NO_WAIT = RetryPolicy(attempts=2, sleep=lambda seconds: None)
_SOQL = re.compile(
    r"SELECT (?P<fields>.+?) FROM (?P<object>\w+)"
    r"(?: WHERE SystemModstamp (?P<op>>=?) (?P<since>\S+))?"
    r"(?: ORDER BY SystemModstamp ASC)?(?: LIMIT (?P<limit>\d+))?"
)
_LITERAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def stamp(day: int, hour: int) -> str:
    """A Salesforce date-time as the API writes it."""
    return f"2024-03-{day:02d}T{hour:02d}:00:00.000+0000"


def sample_org() -> dict[str, list[dict[str, Any]]]:
    """Contacts, cases, tasks and e-mails of a small org, one change an hour."""
    contacts = [
        {
            "Id": f"003D00000{i:06d}",
            "FirstName": f"Customer{i}",
            "LastName": "Doe",
            "Email": f"customer{i}@example.com",
            "Phone": "+44 20 7946 0958" if i == 1 else None,
            "MobilePhone": "12" if i == 2 else None,  # not a phone number: left out, noted
            "Title": None,
            "AccountId": "001D000000AAAAA",
            "LeadSource": "Web",
            "MailingCountry": "GB",
            "CreatedDate": stamp(1, i),
            "SystemModstamp": stamp(2, i),
            "IsDeleted": False,
            "MasterRecordId": None,
        }
        for i in range(1, 8)
    ]
    # Contact 7 was merged into contact 1: Salesforce deletes the loser.
    contacts[6].update(IsDeleted=True, MasterRecordId="003D00000000001")
    cases = [
        {
            "Id": f"500D00000{i:06d}",
            "CaseNumber": f"0000100{i}",
            "ContactId": f"003D00000{i:06d}" if i != 4 else None,
            "SuppliedEmail": "walkin@example.com" if i == 4 else None,
            "Subject": f"Order {i} arrived damaged",
            "Description": f"The parcel for order {i} was crushed.",
            "Status": "Closed" if i % 2 else "New",
            "Priority": "High",
            "Origin": "Email",
            "Type": "Problem",
            "IsClosed": bool(i % 2),
            "ClosedDate": stamp(4, i) if i % 2 else None,
            "CreatedDate": stamp(3, i),
            "SystemModstamp": stamp(4, i),
            "IsDeleted": i == 5,
        }
        for i in range(1, 6)
    ]
    tasks = [
        {
            "Id": "00TD0000000000001",
            "WhoId": "003D00000000001",
            "WhatId": "500D00000000001",
            "Subject": "Call",
            "Description": "Customer called about the refund.",
            "Status": "Completed",
            "TaskSubtype": "Call",
            "CallType": "Inbound",
            "CallDurationInSeconds": 340,
            "ActivityDate": "2024-03-05",
            "CreatedDate": stamp(5, 1),
            "SystemModstamp": stamp(5, 1),
            "IsDeleted": False,
        },
        {
            "Id": "00TD0000000000002",
            "WhoId": "00QD0000000000009",
            "WhatId": None,
            "Subject": "Email: Your quote",
            "Description": None,
            "Status": "Completed",
            "TaskSubtype": "Email",
            "CallType": None,
            "CallDurationInSeconds": None,
            "ActivityDate": "2024-03-05",
            "CreatedDate": stamp(5, 2),
            "SystemModstamp": stamp(5, 2),
            "IsDeleted": False,
        },
        {
            "Id": "00TD0000000000003",
            "WhoId": None,
            "WhatId": "001D000000AAAAA",
            "Subject": "Prepare renewal",
            "Description": None,
            "Status": "Not Started",
            "TaskSubtype": "Task",
            "CallType": None,
            "CallDurationInSeconds": None,
            "ActivityDate": None,
            "CreatedDate": stamp(5, 3),
            "SystemModstamp": stamp(5, 3),
            "IsDeleted": False,
        },
    ]
    emails = [
        {
            "Id": "02sD0000000000001",
            "ParentId": "500D00000000001",
            "Parent": {"attributes": {"type": "Case"}, "ContactId": "003D00000000001"},
            "Subject": "Order 1 arrived damaged",
            "TextBody": "The box was crushed.",
            "FromAddress": "customer1@example.com",
            "ToAddress": "support@acme.example",
            "Incoming": True,
            "Status": "1",
            "MessageDate": stamp(6, 1),
            "CreatedDate": stamp(6, 1),
            "SystemModstamp": stamp(6, 1),
            "IsDeleted": False,
        },
        {
            "Id": "02sD0000000000002",
            "ParentId": "500D00000000004",
            "Parent": {"attributes": {"type": "Case"}, "ContactId": None},
            "Subject": "RE: your order",
            "TextBody": "We are sending a replacement.",
            "FromAddress": "support@acme.example",
            "ToAddress": "walkin@example.com",
            "Incoming": False,
            "Status": "3",
            "MessageDate": stamp(6, 2),
            "CreatedDate": stamp(6, 2),
            "SystemModstamp": stamp(6, 2),
            "IsDeleted": False,
        },
    ]
    return {"Contact": contacts, "Case": cases, "Task": tasks, "EmailMessage": emails}


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class FakeSalesforce:
    """The REST API: OAuth 2 token endpoint, SOQL queryAll with query locators, recorded."""

    def __init__(
        self, org: dict[str, list[dict[str, Any]]] | None = None, page_size: int = 3
    ) -> None:
        self.org = sample_org() if org is None else org
        self.page_size = page_size
        self.requests: list[httpx.Request] = []
        self.token_forms: list[dict[str, list[str]]] = []
        self.served: list[str | None] = []  # the Id of every record answered, in order
        self.access_token = ACCESS_TOKEN
        self._locators: dict[str, list[dict[str, Any]]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/services/oauth2/token":
            return self._token(request)
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return httpx.Response(
                401,
                json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
            )
        found = re.fullmatch(r"/services/data/v60\.0/(query|queryAll)(?:/(.+))?", path)
        if not found:
            return httpx.Response(404, json=[{"errorCode": "NOT_FOUND", "message": path}])
        if found[2]:
            return self._batch(found[2])
        return self._query(request.url.params["q"], include_deleted=found[1] == "queryAll")

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        self.token_forms.append(form)
        grant = form.get("grant_type", [""])[0]
        good = form.get("client_id") == [CLIENT_ID] and form.get("client_secret") == [CLIENT_SECRET]
        if grant == "refresh_token":
            good = good and form.get("refresh_token") == [REFRESH_TOKEN]
        if not good:
            return httpx.Response(
                400, json={"error": "invalid_grant", "error_description": "authentication failure"}
            )
        return httpx.Response(
            200,
            json={
                "access_token": self.access_token,
                "instance_url": INSTANCE,
                "id": f"https://login.salesforce.com/id/00D/005{CLIENT_ID[:4]}",
                "token_type": "Bearer",
                "issued_at": "1709280000000",
                "signature": "c2lnbmF0dXJl",
            },
        )

    def _query(self, soql: str, *, include_deleted: bool) -> httpx.Response:
        parsed = _SOQL.fullmatch(soql)
        if parsed is None or (parsed["since"] and not _LITERAL.fullmatch(parsed["since"])):
            return httpx.Response(
                400, json=[{"message": f"unexpected token: {soql}", "errorCode": "MALFORMED_QUERY"}]
            )
        fields = [field.strip() for field in parsed["fields"].split(",")]
        rows = sorted(self.org.get(parsed["object"], []), key=lambda r: r["SystemModstamp"])
        if parsed["since"]:
            since = _at(parsed["since"])
            rows = [
                r
                for r in rows
                if _at(r["SystemModstamp"]) > since
                or (parsed["op"] == ">=" and _at(r["SystemModstamp"]) == since)
            ]
        if not include_deleted:
            rows = [r for r in rows if not r.get("IsDeleted")]
        if parsed["limit"]:
            rows = rows[: int(parsed["limit"])]
        selected = [self._select(parsed["object"], row, fields) for row in rows]
        locator = f"01gD0000000{len(self._locators):04d}"
        self._locators[locator] = selected
        return self._batch(f"{locator}-0")

    def _select(self, sobject: str, row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attributes": {
                "type": sobject,
                "url": f"/services/data/v60.0/sobjects/{sobject}/{row.get('Id')}",
            }
        }
        for field in fields:
            if "." in field:
                relation, _ = field.split(".", 1)
                out[relation] = row.get(relation)
            else:
                out[field] = row.get(field)
        return out

    def _batch(self, locator: str) -> httpx.Response:
        key, _, offset = locator.rpartition("-")
        rows = self._locators.get(key)
        if rows is None:
            return httpx.Response(
                400,
                json=[{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}],
            )
        start = int(offset)
        following = start + self.page_size
        body: dict[str, Any] = {
            "totalSize": len(rows),
            "done": following >= len(rows),
            "records": rows[start:following],
        }
        if following < len(rows):
            body["nextRecordsUrl"] = f"/services/data/v60.0/query/{key}-{following}"
        self.served.extend(row.get("Id") for row in body["records"])
        return httpx.Response(200, json=body, headers={"Sforce-Limit-Info": "api-usage=18/5000"})

    def queries(self) -> list[str]:
        """The SOQL of every first-batch query sent, in order."""
        return [r.url.params["q"] for r in self.requests if "q" in r.url.params]


def connector(api: Any, **options: Any) -> SalesforceConnector:
    settings: dict[str, Any] = {
        "instance_url": INSTANCE,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        "transport": httpx.MockTransport(api),
        "retry": NO_WAIT,
        **options,
    }
    return SalesforceConnector(**settings)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[cxm.Workspace]:
    workspace = cxm.Workspace.open(tmp_path / "cxm.db")
    yield workspace
    workspace.close()


class TestSalesforceContract(ConnectorContract):
    connector_class = SalesforceConnector
    invalid_options: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"instance_url": "acme.my.salesforce.com"}, "instance_url"),
        ({"api_version": "60"}, "api_version"),
        ({"start": "last tuesday"}, "start"),
        ({"client_secret": ""}, "client_secret"),
        ({"client_id": " "}, "client_id"),
        ({"source": "Salesforce EU"}, "source"),
        ({"phone_region": "gb"}, "phone_region"),
        ({"token_url": "login.salesforce.com"}, "token_url"),
    ]

    def options(self, tmp_path: Path) -> dict[str, Any]:
        return {
            "instance_url": INSTANCE,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
            "transport": httpx.MockTransport(FakeSalesforce()),
            "retry": NO_WAIT,
        }

    def failing_options(self, tmp_path: Path, status: int) -> dict[str, Any]:
        return {
            **self.options(tmp_path),
            "transport": httpx.MockTransport(lambda request: httpx.Response(status)),
        }


def test_streams_page_through_query_locators_and_map_records(ws: cxm.Workspace) -> None:
    api = FakeSalesforce(page_size=3)
    report = ws.sync(connector(api))
    assert report.ok, str(report)
    counts = {s.stream: (s.new, s.quarantined) for s in report.streams}
    assert counts == {
        "contacts": (7, 0),
        "cases": (5, 0),
        "tasks": (3, 0),
        "email_messages": (2, 0),
    }
    # 7 contacts in batches of 3: the first query, then two nextRecordsUrl follow-ups.
    contact_batches = [
        r.url.path for r in api.requests if r.url.path.startswith("/services/data/v60.0/query")
    ]
    assert "/services/data/v60.0/query/01gD00000000000-3" in contact_batches
    assert "/services/data/v60.0/query/01gD00000000000-6" in contact_batches
    assert all(
        r.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
        for r in api.requests
        if r.url.path != "/services/oauth2/token"
    )
    # The refresh-token grant, once per sync; the token is reused for every stream and page.
    assert [f["grant_type"] for f in api.token_forms] == [["refresh_token"]]

    tickets = ws.interactions(kind="ticket", attributes=["case_number", "status", "closed"])
    first = tickets[tickets["source_id"] == "500D00000000001"].iloc[0]
    assert first["channel"] == "support"
    assert first["direction"] == "inbound"
    assert first["text"] == "The parcel for order 1 was crushed."
    assert first["occurred_at"] == pd.Timestamp("2024-03-03T01:00:00Z")
    assert first["updated_at"] == pd.Timestamp("2024-03-04T01:00:00Z")
    assert (first["attr_case_number"], first["attr_status"], first["attr_closed"]) == (
        "00001001",
        "Closed",
        True,
    )
    customers = ws.customers()
    ann = customers[customers["email"] == "customer1@example.com"]
    assert len(ann) == 1
    # Contact 1's case, call and e-mail land on contact 1's customer.
    journey = ws.interactions()
    mine = journey[journey["customer_id"] == ann["customer_id"].iloc[0]]
    assert set(mine["source_id"]) == {"500D00000000001", "00TD0000000000001", "02sD0000000000001"}


def test_interactions_carry_only_the_customers_identities() -> None:
    api = FakeSalesforce()
    sf = connector(api)
    emails = [
        sf.parse_email_message(r)
        for r in sf.stream("email_messages").read(None)
        if isinstance(r, dict)
    ]
    incoming, reply = emails
    assert [i.key for i in incoming.identities] == [("salesforce:contact", "003D00000000001")]
    assert incoming.direction == "inbound"
    # No case contact: the recipient of an outgoing mail, never the agent's From address.
    assert [i.key for i in reply.identities] == [("email", "walkin@example.com")]
    assert reply.direction == "outbound"
    tasks = {t["Id"]: sf.parse_task(t) for t in sample_org()["Task"]}
    call = tasks["00TD0000000000001"]
    assert (call.channel, call.kind, call.direction) == ("phone", "call", "inbound")
    assert call.attributes["call_duration_seconds"] == 340
    lead_mail = tasks["00TD0000000000002"]
    assert [i.key for i in lead_mail.identities] == [("salesforce:lead", "00QD0000000000009")]
    assert (lead_mail.channel, lead_mail.direction) == ("email", "outbound")
    assert tasks["00TD0000000000003"].identities == ()
    walk_in = sf.parse_case(sample_org()["Case"][3])
    assert [i.key for i in walk_in.identities] == [("email", "walkin@example.com")]


def test_contacts_become_customer_records_with_problems_noted() -> None:
    sf = connector(FakeSalesforce())
    contacts = sample_org()["Contact"]
    one = sf.parse_contact(contacts[0])
    assert {i.key for i in one.identities} == {
        ("salesforce:contact", "003D00000000001"),
        ("email", "customer1@example.com"),
        ("phone", "+442079460958"),
    }
    assert one.traits["first_name"] == "Customer1"
    assert one.updated_at == datetime.fromisoformat("2024-03-02T01:00:00+00:00")
    two = sf.parse_contact(contacts[1])
    assert ("phone", "12") not in {i.key for i in two.identities}
    assert two.traits["identity_problems"][0].startswith("MobilePhone='12'")


def test_deleted_records_are_kept_and_marked(ws: cxm.Workspace) -> None:
    assert ws.sync(connector(FakeSalesforce())).ok
    merged = connector(FakeSalesforce()).parse_contact(sample_org()["Contact"][6])
    assert merged.traits["deleted"] is True
    assert merged.traits["merged_into"] == "003D00000000001"
    cases = ws.interactions(kind="ticket", attributes=["case_number", "deleted"])
    cases = cases.set_index("source_id")
    assert cases.loc["500D00000000005", "attr_deleted"] is True
    assert cases.loc["500D00000000005", "attr_case_number"] == "00001005"
    assert cases.loc["500D00000000001", "attr_deleted"] is None  # alive: no flag at all
    customers = ws.customers()
    merged_away = customers[customers["email"] == "customer7@example.com"]
    assert len(merged_away) == 1  # kept, marked deleted, not silently dropped


def test_the_query_uses_queryall_an_unquoted_literal_and_the_start(ws: cxm.Workspace) -> None:
    api = FakeSalesforce()
    assert ws.sync(connector(api, start="2024-03-02T04:30:00+00:00"), streams="contacts").ok
    (soql,) = api.queries()
    assert soql == (
        "SELECT Id, FirstName, LastName, Email, Phone, MobilePhone, Title, AccountId, "
        "LeadSource, MailingCountry, CreatedDate, SystemModstamp, IsDeleted, MasterRecordId "
        "FROM Contact WHERE SystemModstamp >= 2024-03-02T04:30:00Z ORDER BY SystemModstamp ASC"
    )
    assert all("/queryAll" in r.url.path for r in api.requests if "q" in r.url.params)
    assert len(ws.customers()) == 3  # contacts 5, 6 and 7 (merged, deleted) were stamped later


def test_second_sync_asks_only_for_records_stamped_after_the_cursor(ws: cxm.Workspace) -> None:
    org = sample_org()
    first_api = FakeSalesforce(org)
    assert ws.sync(connector(first_api)).ok
    second_api = FakeSalesforce(org)
    second = ws.sync(connector(second_api))
    assert second.ok
    since = {
        q.split(" FROM ")[1].split()[0]: q.split("SystemModstamp >= ")[1].split()[0]
        for q in second_api.queries()
    }
    assert since == {
        "Contact": "2024-03-02T07:00:00Z",
        "Case": "2024-03-04T05:00:00Z",
        "Task": "2024-03-05T03:00:00Z",
        "EmailMessage": "2024-03-06T02:00:00Z",
    }
    # Only the newest record of each object (stamped in the cursor's second) comes back.
    assert second_api.served == [
        "003D00000000007",
        "500D00000000005",
        "00TD0000000000003",
        "02sD0000000000002",
    ]
    assert (second.new, second.updated, second.unchanged) == (0, 0, 4)
    # A case changed later is the only record the third sync reads.
    org["Case"][0] = {**org["Case"][0], "Status": "Reopened", "SystemModstamp": stamp(9, 0)}
    third = ws.sync(connector(FakeSalesforce(org)))
    assert (third.new, third.updated) == (0, 1)
    assert third.stream("cases").updated == 1
    state = ws.sync_state(connector(FakeSalesforce(org))).set_index("stream")
    assert "2024-03-09T00:00:00.000Z" in str(state.loc["cases"].to_dict())


def test_full_refresh_reads_everything_again_without_duplicates(ws: cxm.Workspace) -> None:
    assert ws.sync(connector(FakeSalesforce())).ok
    api = FakeSalesforce()
    again = ws.sync(connector(api), full_refresh=True)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 17)
    assert all(">= 1970-01-01T00:00:00Z" in q for q in api.queries())
    assert len(ws.interactions()) == 10


def test_429_waits_as_retry_after_says() -> None:
    # Salesforce documents 403 REQUEST_LIMIT_EXCEEDED for its limits; a 429 with Retry-After
    # (from a proxy in front of the org, or a future API) is still waited out and retried.
    api = FakeSalesforce()
    answered: list[int] = []

    def throttled(request: httpx.Request) -> httpx.Response:
        if "q" in request.url.params and not answered:
            answered.append(429)
            return httpx.Response(
                429,
                headers={"Retry-After": "7"},
                json=[{"message": "slow down", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
            )
        return api(request)

    slept: list[float] = []
    sf = connector(throttled, retry=RetryPolicy(attempts=3, sleep=slept.append, jitter=False))
    records = [r for r in sf.stream("contacts").read(None) if isinstance(r, dict)]
    assert len(records) == 7
    assert slept == [7.0]


def test_a_5xx_is_retried() -> None:
    api = FakeSalesforce()
    failures = [503]

    def flaky(request: httpx.Request) -> httpx.Response:
        if "q" in request.url.params and failures:
            return httpx.Response(failures.pop(), text="Service Unavailable")
        return api(request)

    slept: list[float] = []
    sf = connector(flaky, retry=RetryPolicy(attempts=3, sleep=slept.append, jitter=False))
    records = [r for r in sf.stream("cases").read(None) if isinstance(r, dict)]
    assert len(records) == 5
    assert slept == [0.5]


@pytest.mark.parametrize(
    ("options", "where"),
    [
        ({"refresh_token": "revoked-refresh-token-000"}, "/services/oauth2/token"),
        ({"client_secret": "wrong-consumer-secret-000"}, "/services/oauth2/token"),
    ],
)
def test_refused_credentials_raise_auth_error_without_the_secret(
    options: dict[str, Any], where: str
) -> None:
    sf = connector(FakeSalesforce(), **options)
    with pytest.raises(cxm.AuthError) as raised:
        sf.check()
    error = raised.value
    assert error.connector == "salesforce"
    assert where in (error.request or "")
    assert "invalid_grant" in str(error)
    for value in options.values():
        assert value not in str(error)
        assert value not in repr(error)


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (401, "INVALID_SESSION_ID", "Session expired or invalid"),
        (403, "API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization."),
        (403, "INSUFFICIENT_ACCESS", "insufficient access rights on object id"),
    ],
)
def test_api_401_and_403_are_auth_errors(status: int, code: str, message: str) -> None:
    api = FakeSalesforce()

    def refusing(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/services/oauth2/token":
            return api(request)
        return httpx.Response(status, json=[{"message": message, "errorCode": code}])

    with pytest.raises(cxm.AuthError) as raised:
        connector(refusing).check()
    error = raised.value
    assert not isinstance(error, cxm.RateLimitedError)
    assert error.connector == "salesforce"
    assert error.status == status
    assert code in str(error)
    assert (error.request or "").startswith(f"GET {INSTANCE}/services/data/v60.0/queryAll")
    for value in (ACCESS_TOKEN, CLIENT_SECRET, REFRESH_TOKEN):
        assert value not in str(error)
        assert value not in repr(error)
        assert value not in (error.request or "")


def test_client_credentials_grant_without_a_refresh_token() -> None:
    api = FakeSalesforce()
    sf = SalesforceConnector(
        instance_url=INSTANCE,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        transport=httpx.MockTransport(api),
        retry=NO_WAIT,
    )
    sf.check()
    assert api.token_forms[0]["grant_type"] == ["client_credentials"]
    assert str(api.requests[0].url) == f"{INSTANCE}/services/oauth2/token"
    assert api.requests[1].url.params["q"] == "SELECT Id FROM Contact LIMIT 1"


def test_a_malformed_record_is_quarantined_and_the_rest_land(ws: cxm.Workspace) -> None:
    org = sample_org()
    broken = copy.deepcopy(org["Case"][1])
    broken.update(Id="500D00000000099", CreatedDate="yesterday")
    org["Case"].append(broken)
    renamed = copy.deepcopy(org["Case"][2])
    del renamed["Id"]  # as if the API renamed the field
    renamed["SystemModstamp"] = stamp(4, 20)
    org["Case"].append(renamed)
    report = ws.sync(connector(FakeSalesforce(org)))
    cases = report.stream("cases")
    assert (cases.new, cases.quarantined) == (5, 2)
    reasons = sorted(ws.quarantined()["reason"])
    assert any("salesforce.CreatedDate='yesterday'" in r for r in reasons), reasons
    assert any("salesforce.Id" in r and "missing" in r for r in reasons), reasons
    assert set(ws.quarantined()["stream"]) == {"cases"}


def test_soql_datetime_cuts_fractions_and_converts_to_utc() -> None:
    assert soql_datetime("2024-03-02T07:00:00.999+0000") == "2024-03-02T07:00:00Z"
    assert soql_datetime("2024-03-02T09:00:00+02:00") == "2024-03-02T07:00:00Z"
    with pytest.raises(cxm.ValidationError):
        soql_datetime("2024-03-02 07:00")


def limit_exceeded() -> httpx.Response:
    """Salesforce's answer once the org's rolling 24-hour API allowance is spent."""
    return httpx.Response(
        403,
        headers={"Sforce-Limit-Info": "api-usage=5001/5000"},
        json=[{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
    )


def test_request_limit_exceeded_403_is_a_rate_limit_not_an_auth_error(ws: cxm.Workspace) -> None:
    api = FakeSalesforce(page_size=3)

    def spent_after_first_batch(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/services/data/v60.0/query/"):
            return limit_exceeded()  # the allowance ran out between two batches
        return api(request)

    slept: list[float] = []
    retry = RetryPolicy(attempts=3, sleep=slept.append, jitter=False)
    report = ws.sync(connector(spent_after_first_batch, retry=retry), streams="contacts")
    assert not report.ok
    (failed,) = report.failed
    error = failed.exception
    assert isinstance(error, cxm.RateLimitedError)
    assert not isinstance(error, cxm.AuthError)
    assert (error.connector, error.stream, error.status) == ("salesforce", "contacts", 403)
    assert "REQUEST_LIMIT_EXCEEDED" in str(error)
    assert "api-usage=5001/5000" in str(error)
    assert slept == []  # a daily allowance does not come back in seconds: no retry
    for value in (ACCESS_TOKEN, CLIENT_SECRET, REFRESH_TOKEN):
        assert value not in str(error)
        assert value not in (error.request or "")
    # The first batch and its checkpoint were kept: the next sync goes on from there.
    assert len(ws.customers()) == 3
    assert failed.cursor_after == {"system_modstamp": "2024-03-02T03:00:00.000Z"}


def test_check_reports_a_spent_allowance_as_rate_limited() -> None:
    api = FakeSalesforce()

    def spent(request: httpx.Request) -> httpx.Response:
        return api(request) if request.url.path == "/services/oauth2/token" else limit_exceeded()

    with pytest.raises(cxm.RateLimitedError) as raised:
        connector(spent).check()
    assert raised.value.connector == "salesforce"
    assert isinstance(raised.value.__cause__, httpx.HTTPStatusError)
    assert raised.value.__cause__.response.headers["Sforce-Limit-Info"] == "api-usage=5001/5000"


def tied_org(count: int) -> dict[str, list[dict[str, Any]]]:
    """``count`` live contacts changed by one bulk update: all share one SystemModstamp."""
    org = sample_org()
    org["Contact"] = [
        {**contact, "SystemModstamp": stamp(2, 5), "IsDeleted": False, "MasterRecordId": None}
        for contact in org["Contact"][:count]
    ]
    return org


def test_interrupted_between_batches_of_one_second_resumes_without_loss(tmp_path: Path) -> None:
    # Five contacts stamped in the same second, two a batch. The sync is killed after the
    # first record of the second batch, which the engine stored with the first batch's
    # checkpoint. A "SystemModstamp >" cursor would now skip the last two for good.
    org = tied_org(5)
    ws = cxm.Workspace.open(tmp_path / "cxm.db")
    try:
        with contextlib.suppress(Interrupted):
            ws.sync(
                interrupted(connector(FakeSalesforce(org, page_size=2)), 4),
                streams="contacts",
                batch_size=1,
            )
        assert len(ws.customers()) == 3
        state = ws.sync_state(connector(FakeSalesforce(org))).set_index("stream")
        assert state.loc["contacts", "cursor"] == {"system_modstamp": "2024-03-02T05:00:00.000Z"}
        api = FakeSalesforce(org, page_size=2)
        resumed = ws.sync(connector(api), streams="contacts")
        assert resumed.ok, str(resumed)
        assert api.queries()[0].endswith(
            "WHERE SystemModstamp >= 2024-03-02T05:00:00Z ORDER BY SystemModstamp ASC"
        )
        assert (resumed.new, resumed.unchanged) == (2, 3)
        assert len(ws.customers()) == 5
    finally:
        ws.close()


def test_a_change_in_the_cursors_own_second_is_read_on_the_next_sync(ws: cxm.Workspace) -> None:
    org = sample_org()
    assert ws.sync(connector(FakeSalesforce(org)), streams="contacts").ok
    # Contact 3 changes in the same second as the newest record of the first sync.
    org["Contact"][2] = {**org["Contact"][2], "Title": "CTO", "SystemModstamp": stamp(2, 7)}
    again = ws.sync(connector(FakeSalesforce(org)), streams="contacts")
    assert (again.new, again.updated, again.unchanged) == (0, 1, 1)
    customers = ws.customers()
    assert len(customers) == 7


def test_an_expired_session_is_renewed_once_and_the_sync_goes_on() -> None:
    api = FakeSalesforce(page_size=3)
    presented: list[str | None] = []  # the bearer token of every API request, as sent

    def expiring(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/services/oauth2/token":
            presented.append(request.headers.get("authorization"))
            if len(presented) == 2:
                # The session timed out: the old token is refused, a refresh gets a new one.
                api.access_token = "00D5g000004-access-token-renewed"
        return api(request)

    records = [r for r in connector(expiring).stream("contacts").read(None) if isinstance(r, dict)]
    assert len(records) == 7
    assert [f["grant_type"] for f in api.token_forms] == [["refresh_token"]] * 2
    renewed = "Bearer 00D5g000004-access-token-renewed"
    # The first batch; the second batch refused (401) and sent again once with a new token.
    assert presented == [f"Bearer {ACCESS_TOKEN}", f"Bearer {ACCESS_TOKEN}", renewed, renewed]
