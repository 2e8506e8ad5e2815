"""Vendor connector benchmark: what each API connector costs over storing its records.

For each vendor connector, a fake of the vendor's API (the one its tests use, shaped on the
published reference) is scaled up to ``--records`` items. A first pass records every answer;
the timed passes replay them from memory, so what is measured is cxm's own work (HTTP client,
paging, decoding, ``pick``, building validated records, the sync engine) and not the fake's.
Measured, per connector, each against the others in the same process:

- ``parse``: every stream read and parsed into records, no database;
- ``ingest``: ``ws.ingest`` of the very records the streams built, already in a list, into a
  fresh SQLite file (the baseline: the store's write path alone);
- ``sync``: ``ws.sync`` into another fresh SQLite file, end to end;
- ``second sync``: the incremental run right after, with nothing new: the requests it makes and
  its time (it should read a page or so per stream, not everything again).

Run ``python bench/vendor_sync.py [--records N] [--only NAME]``; :func:`run` returns the
figures as a dict for ``bench/run.py``. Figures are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _table
import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the fakes live in the test suite
    sys.path.insert(0, str(ROOT))

import cxm  # noqa: E402
from cxm.connectors import Checkpoint, Connector, Rejected  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "vendor_sync.json"


class Replay:
    """A transport that records the fake's answers on first use, then replays them."""

    def __init__(self, fake: Callable[[httpx.Request], httpx.Response]) -> None:
        self.fake = fake
        self.answers: dict[tuple[str, str, bytes], tuple[int, dict[str, str], bytes]] = {}
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        key = (request.method, str(request.url), request.content)
        answer = self.answers.get(key)
        if answer is None:
            response = self.fake(request)
            response.read()
            answer = (response.status_code, dict(response.headers), response.content)
            self.answers[key] = answer
        status, headers, content = answer
        return httpx.Response(status, headers=headers, content=content)


# -- the connectors, each with its fake scaled to n records ---------------------------------


def hubspot(n: int) -> tuple[Callable[..., Connector], Callable[[httpx.Request], httpx.Response]]:
    """HubSpot: n/2 contacts, n/2 activities across the five activity types."""
    from tests.connectors.test_hubspot import TOKEN, FakeHubSpot, at, no_wait_limiter, record

    from cxm.connectors.http import RetryPolicy
    from cxm.connectors.hubspot import HubSpotConnector

    contacts = [
        record(
            100_000 + i,
            "lastmodifieddate",
            at(i / 60),
            email=f"customer{i}@example.com",
            firstname=f"Ann{i}",
            lastname="Lee",
            lifecyclestage="customer",
            createdate=at(0),
        )
        for i in range(n // 2)
    ]
    per_type = max(1, n // 2 // 5)
    data: dict[str, list[dict[str, Any]]] = {"contacts": contacts}
    data["notes"] = [
        record(
            200_000 + i,
            "hs_lastmodifieddate",
            at(i / 60),
            hs_timestamp=at(i / 60),
            hs_note_body=f"<p>Called about order {i}</p>",
        )
        for i in range(per_type)
    ]
    data["emails"] = [
        record(
            300_000 + i,
            "hs_lastmodifieddate",
            at(i / 60),
            hs_timestamp=at(i / 60),
            hs_email_direction="INCOMING_EMAIL",
            hs_email_subject=f"Re: order {i}",
            hs_email_text=f"About order {i}",
        )
        for i in range(per_type)
    ]
    data["calls"] = [
        record(
            400_000 + i,
            "hs_lastmodifieddate",
            at(i / 60),
            hs_timestamp=at(i / 60),
            hs_call_direction="INBOUND",
            hs_call_body="Discussed renewal",
        )
        for i in range(per_type)
    ]
    data["tickets"] = [
        record(
            500_000 + i,
            "hs_lastmodifieddate",
            at(i / 60),
            createdate=at(i / 60),
            subject=f"Broken item {i}",
            content=f"Item {i} arrived broken",
        )
        for i in range(per_type)
    ]
    data["feedback_submissions"] = [
        record(
            600_000 + i,
            "hs_lastmodifieddate",
            at(i / 60),
            hs_submission_timestamp=at(i / 60),
            hs_survey_type="NPS",
            hs_value=str(i % 11),
        )
        for i in range(per_type)
    ]
    links = {
        kind: {item["id"]: [100_000 + k % max(1, n // 2)] for k, item in enumerate(items)}
        for kind, items in data.items()
        if kind != "contacts"
    }
    fake = FakeHubSpot(data, links)

    def make(transport: httpx.BaseTransport) -> Connector:
        return HubSpotConnector(
            token=TOKEN,
            portal_id="62515",
            base_url="https://api.hubspot.test",
            page_size=200,
            transport=transport,
            rate_limit=no_wait_limiter(),  # paced on a fake clock: no sleeping
            retry=RetryPolicy(attempts=1),
        )

    return make, fake


def google_business_profile(
    n: int,
) -> tuple[Callable[..., Connector], Callable[[httpx.Request], httpx.Response]]:
    """Google Business Profile: n reviews over 10 locations, one in three answered."""
    from tests.connectors.test_google_business_profile import (
        BASE,
        CLIENT_ID,
        CLIENT_SECRET,
        REFRESH,
        TOKEN_URL,
        FakeGoogle,
    )

    from cxm.connectors.google_business_profile import GoogleBusinessProfileConnector
    from cxm.connectors.http import RetryPolicy

    locations = [f"accounts/111/locations/{300 + k}" for k in range(10)]
    reviews: dict[str, list[dict[str, Any]]] = {loc: [] for loc in locations}
    stars = ["ONE", "TWO", "THREE", "FOUR", "FIVE"]
    for i in range(n):
        loc = locations[i % len(locations)]
        minute = f"2026-03-{1 + i // 1440 % 28:02d}T{i // 60 % 24:02d}:{i % 60:02d}"
        review: dict[str, Any] = {
            "name": f"{loc}/reviews/r{i}",
            "reviewId": f"r{i}",
            "reviewer": {"displayName": f"Reviewer {i}", "isAnonymous": False},
            "starRating": stars[i % 5],
            "comment": f"Visit {i}: friendly staff, slow checkout",
            "createTime": f"{minute}:00Z",
            "updateTime": f"{minute}:{i % 60:02d}.5Z",
        }
        if i % 3 == 0:
            review["reviewReply"] = {"comment": "Thank you!", "updateTime": f"{minute}:59Z"}
        reviews[loc].append(review)
    fake = FakeGoogle(reviews)

    def make(transport: httpx.BaseTransport) -> Connector:
        return GoogleBusinessProfileConnector(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            refresh_token=REFRESH,
            locations=locations,
            base_url=BASE,
            token_url=TOKEN_URL,
            transport=transport,
            retry=RetryPolicy(attempts=1),
        )

    return make, fake


def trustpilot(
    n: int,
) -> tuple[Callable[..., Connector], Callable[[httpx.Request], httpx.Response]]:
    """Trustpilot, private (OAuth) endpoint: n reviews two hours apart, one in three answered."""
    from tests.connectors.test_trustpilot import (
        API_KEY,
        API_SECRET,
        BASE,
        REFRESH,
        TOKEN_URL,
        UNIT,
        FakeTrustpilot,
        make_reviews,
        no_wait_limiter,
    )

    from cxm.connectors.http import RetryPolicy
    from cxm.connectors.trustpilot import MAX_PAGE_SIZE, TrustpilotConnector

    fake = FakeTrustpilot(make_reviews(n))

    def make(transport: httpx.BaseTransport) -> Connector:
        return TrustpilotConnector(
            business_unit_id=UNIT,
            api_key=API_KEY,
            client_secret=API_SECRET,
            refresh_token=REFRESH,
            token_url=TOKEN_URL,
            base_url=BASE,
            page_size=MAX_PAGE_SIZE,
            transport=transport,
            rate_limit=no_wait_limiter(),  # paced on a fake clock: no sleeping
            retry=RetryPolicy(attempts=1),
        )

    return make, fake


def yelp(n: int) -> tuple[Callable[..., Connector], Callable[[httpx.Request], httpx.Response]]:
    """Yelp, paged (``page_size=50``): n reviews over n/500 businesses, ten minutes apart.

    Yelp pages no further than offset 1,000, hence many businesses of 500 reviews each.
    """
    from tests.connectors.test_yelp import API_KEY, BASE, FakeYelp

    from cxm.connectors.http import RetryPolicy
    from cxm.connectors.yelp import MAX_PAGE_SIZE, YelpConnector

    per_business = 500
    businesses = [f"bench-business-{k:04d}" for k in range(max(1, -(-n // per_business)))]
    start = datetime(2026, 4, 1)  # Pacific time, clear of daylight-saving changes
    reviews: dict[str, list[dict[str, Any]]] = {business: [] for business in businesses}
    for i in range(n):
        business = businesses[i // per_business]
        review_id = f"rv{i:08d}"
        reviews[business].append(
            {
                "id": review_id,
                "url": f"https://www.yelp.com/biz/{business}?hrid={review_id}",
                "text": f"Visit {i}: friendly staff, slow checkout...",
                "rating": i % 5 + 1,
                "time_created": str(start + timedelta(minutes=10 * (i % per_business))),
                "user": {
                    "id": f"user-{i:08d}",
                    "profile_url": f"https://www.yelp.com/user_details?userid=user-{i:08d}",
                    "image_url": None,
                    "name": f"Reviewer {i}.",
                },
            }
        )
    fake = FakeYelp(reviews, daily_limit=10**9)

    def make(transport: httpx.BaseTransport) -> Connector:
        return YelpConnector(
            api_key=API_KEY,
            business_ids=businesses,
            base_url=BASE,
            page_size=MAX_PAGE_SIZE,
            transport=transport,
            retry=RetryPolicy(attempts=1),
        )

    return make, fake


def salesforce(
    n: int,
) -> tuple[Callable[..., Connector], Callable[[httpx.Request], httpx.Response]]:
    """Salesforce: n/4 contacts, cases, tasks and e-mail messages, stamped a second apart."""
    from tests.connectors.test_salesforce import (
        CLIENT_ID,
        CLIENT_SECRET,
        INSTANCE,
        REFRESH_TOKEN,
        FakeSalesforce,
    )

    from cxm.connectors.http import RetryPolicy
    from cxm.connectors.salesforce import SalesforceConnector

    t0 = datetime(2024, 3, 1, tzinfo=UTC)

    def stamp(seconds: int) -> str:
        moment = t0 + timedelta(seconds=seconds)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")

    each = max(1, n // 4)

    def contact_id(i: int) -> str:
        return f"003D0{i % each:010d}"

    contacts = [
        {
            "Id": contact_id(i),
            "FirstName": f"Customer{i}",
            "LastName": "Doe",
            "Email": f"customer{i}@example.com",
            "Phone": "+44 20 7946 0958" if i % 10 == 0 else None,
            "MobilePhone": None,
            "Title": None,
            "AccountId": "001D000000AAAAA",
            "LeadSource": "Web",
            "MailingCountry": "GB",
            "CreatedDate": stamp(i),
            "SystemModstamp": stamp(each + i),
            "IsDeleted": False,
            "MasterRecordId": None,
        }
        for i in range(each)
    ]
    cases = [
        {
            "Id": f"500D0{i:010d}",
            "CaseNumber": f"{i:08d}",
            "ContactId": contact_id(i * 7),
            "SuppliedEmail": None,
            "Subject": f"Order {i} arrived damaged",
            "Description": f"The parcel for order {i} was crushed.",
            "Status": "Closed" if i % 2 else "New",
            "Priority": "High",
            "Origin": "Email",
            "Type": "Problem",
            "IsClosed": bool(i % 2),
            "ClosedDate": stamp(2 * each + i) if i % 2 else None,
            "CreatedDate": stamp(each + i),
            "SystemModstamp": stamp(2 * each + i),
            "IsDeleted": False,
        }
        for i in range(each)
    ]
    tasks = [
        {
            "Id": f"00TD0{i:010d}",
            "WhoId": contact_id(i * 3),
            "WhatId": f"500D0{i:010d}",
            "Subject": "Call",
            "Description": f"Customer called about refund {i}.",
            "Status": "Completed",
            "TaskSubtype": "Call" if i % 2 else "Email",
            "CallType": "Inbound" if i % 2 else None,
            "CallDurationInSeconds": 60 + i % 600 if i % 2 else None,
            "ActivityDate": "2024-03-05",
            "CreatedDate": stamp(2 * each + i),
            "SystemModstamp": stamp(3 * each + i),
            "IsDeleted": False,
        }
        for i in range(each)
    ]
    emails = [
        {
            "Id": f"02sD0{i:010d}",
            "ParentId": f"500D0{i:010d}",
            "Parent": {"attributes": {"type": "Case"}, "ContactId": contact_id(i * 7)},
            "Subject": f"Order {i} arrived damaged",
            "TextBody": "The box was crushed.",
            "FromAddress": f"customer{i * 7 % each}@example.com",
            "ToAddress": "support@acme.example",
            "Incoming": bool(i % 2),
            "Status": "1",
            "MessageDate": stamp(3 * each + i),
            "CreatedDate": stamp(3 * each + i),
            "SystemModstamp": stamp(4 * each + i),
            "IsDeleted": False,
        }
        for i in range(each)
    ]
    org = {"Contact": contacts, "Case": cases, "Task": tasks, "EmailMessage": emails}
    fake = FakeSalesforce(org, page_size=2000)  # Salesforce's default batch size

    def make(transport: httpx.BaseTransport) -> Connector:
        return SalesforceConnector(
            instance_url=INSTANCE,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            refresh_token=REFRESH_TOKEN,
            transport=transport,
            retry=RetryPolicy(attempts=1),
        )

    return make, fake


def zendesk(n: int) -> tuple[Callable[..., Connector], Callable[[httpx.Request], httpx.Response]]:
    """Zendesk: n tickets a minute apart from n/4 requesters (side-loaded), no comments."""
    from tests.connectors.test_zendesk import (
        AGENT_ID,
        API_TOKEN,
        BASE,
        EMAIL,
        SUBDOMAIN,
        FakeZendesk,
        make_ticket,
        make_user,
        no_wait,
    )

    from cxm.connectors.http import RetryPolicy
    from cxm.connectors.zendesk import ZendeskConnector

    people = max(1, n // 4)
    users = {100_000 + k: make_user(100_000 + k) for k in range(people)}
    users[AGENT_ID] = make_user(AGENT_ID, role="agent", email="agent@acme.example")
    ratings = [
        {"id": 1, "score": "good", "comment": "Quick and kind"},
        {"id": 2, "score": "bad", "comment": ""},
        {"score": "offered"},
        {"score": "unoffered"},
    ]
    tickets = [
        make_ticket(
            1_000_000 + i,
            100_000 + i % people,  # a requester's tickets are spread over the export
            i / 60,
            satisfaction_rating=ratings[i % 4],
            status="solved" if i % 3 else "open",
        )
        for i in range(n)
    ]
    fake = FakeZendesk(users, tickets)

    def make(transport: httpx.BaseTransport) -> Connector:
        return ZendeskConnector(
            subdomain=SUBDOMAIN,
            email=EMAIL,
            api_token=API_TOKEN,
            base_url=BASE,
            page_size=1000,
            comments=False,
            transport=transport,
            export_rate_limit=no_wait(),  # paced on a fake clock: no sleeping
            rate_limit=no_wait(),
            retry=RetryPolicy(attempts=1),
        )

    return make, fake


def delighted(n: int) -> tuple[Callable[..., Connector], Callable[[httpx.Request], httpx.Response]]:
    """Delighted: n NPS responses a minute apart from n/4 people (embedded), 100 a page."""
    from tests.connectors.test_delighted import API_KEY, BASE, T0, FakeDelighted, make_responses
    from tests.connectors.test_hubspot import no_wait_limiter

    from cxm.connectors.delighted import MAX_PER_PAGE, DelightedConnector
    from cxm.connectors.http import RetryPolicy

    people = max(1, n // 4)
    responses = make_responses(n)
    for i, response in enumerate(responses):
        k = i % people
        response["updated_at"] = response["created_at"] + 30  # one second each, in order
        response["person"] = {  # embedded, as expand[]=person answers
            "id": str(1000 + k),
            "email": f"person{k}@example.com",
            "name": f"Person {k}",
            "created_at": T0 - 86_400,
            "phone_number": None,
            "last_sent_at": T0 - 3_600,
        }
    fake = FakeDelighted(responses)

    def make(transport: httpx.BaseTransport) -> Connector:
        return DelightedConnector(
            api_key=API_KEY,
            project="acme-nps",
            base_url=BASE,
            per_page=MAX_PER_PAGE,
            transport=transport,
            rate_limit=no_wait_limiter(),  # paced on a fake clock: no sleeping
            retry=RetryPolicy(attempts=1),
        )

    return make, fake


def surveymonkey(
    n: int,
) -> tuple[Callable[..., Connector], Callable[[httpx.Request], httpx.Response]]:
    """SurveyMonkey: n responses, half to each of the two test surveys, a minute apart."""
    from tests.connectors.test_surveymonkey import (
        BASE,
        QUESTIONS,
        SURVEY_A,
        SURVEY_B,
        T0,
        T1,
        TOKEN,
        FakeSurveyMonkey,
        no_wait_limiter,
        response_a,
        response_b,
    )

    from cxm.connectors.http import RetryPolicy
    from cxm.connectors.surveymonkey import SurveyMonkeyConnector

    half = n // 2
    fake = FakeSurveyMonkey()
    fake.responses = {
        SURVEY_A: [response_a(i, T0 + timedelta(minutes=i)) for i in range(n - half)],
        SURVEY_B: [response_b(i, T1 + timedelta(minutes=i)) for i in range(half)],
    }

    def make(transport: httpx.BaseTransport) -> Connector:
        return SurveyMonkeyConnector(
            token=TOKEN,
            surveys=[SURVEY_A, SURVEY_B],
            questions=QUESTIONS,
            identity_variables={"customer_ref": "shop:customer"},
            account="acme",
            base_url=BASE,
            per_page=100,
            transport=transport,
            rate_limit=no_wait_limiter(),  # paced on a fake clock: no sleeping
            retry=RetryPolicy(attempts=1),
        )

    return make, fake


def typeform(n: int) -> tuple[Callable[..., Connector], Callable[[httpx.Request], httpx.Response]]:
    """Typeform: n completed responses a minute apart, 3/4 to the mapped survey, 1/4 to pulse."""
    from tests.connectors.test_typeform import (
        BASE,
        MAPPING,
        PULSE,
        SURVEY,
        TOKEN,
        FakeTypeform,
        no_wait_limiter,
        pulse_response,
        survey_response,
    )

    from cxm.connectors.http import RetryPolicy
    from cxm.connectors.typeform import MAX_PAGE_SIZE, TypeformConnector

    pulses = n // 4
    fake = FakeTypeform(
        {
            SURVEY: [survey_response(i, i) for i in range(n - pulses)],
            PULSE: [pulse_response(i, i) for i in range(pulses)],
        }
    )

    def make(transport: httpx.BaseTransport) -> Connector:
        return TypeformConnector(
            token=TOKEN,
            forms={SURVEY: MAPPING, PULSE: None},
            account_id="acme",
            base_url=BASE,
            page_size=MAX_PAGE_SIZE,
            transport=transport,
            rate_limit=no_wait_limiter(),  # paced on a fake clock: no sleeping
            retry=RetryPolicy(attempts=1),
        )

    return make, fake


CONNECTORS: dict[str, Callable[[int], tuple[Callable[..., Connector], Any]]] = {
    "hubspot": hubspot,
    "google-business-profile": google_business_profile,
    "trustpilot": trustpilot,
    "yelp": yelp,
    "salesforce": salesforce,
    "zendesk": zendesk,
    "delighted": delighted,
    "surveymonkey": surveymonkey,
    "typeform": typeform,
}


# -- measuring ------------------------------------------------------------------------------


def parse_all(connector: Connector) -> tuple[list[Any], int]:
    """Read and parse every stream without a database; return the records and rejects."""
    records: list[Any] = []
    rejected = 0
    for stream in connector.streams():
        for item in stream.read(None):
            if isinstance(item, Checkpoint):
                continue
            if isinstance(item, Rejected):
                rejected += 1
                continue
            parsed = stream.parse(item) if stream.parse is not None else item
            if parsed is None:
                continue
            if isinstance(parsed, list | tuple):
                records.extend(parsed)
            else:
                records.append(parsed)
    return records, rejected


def bench_connector(name: str, n: int) -> dict[str, Any]:
    """Measure one connector at ``n`` source records; return its figures."""
    make, fake = CONNECTORS[name](n)
    replay = Replay(fake)
    transport = httpx.MockTransport(replay)
    parse_all(make(transport))  # the recording pass (and warm-up)
    with tempfile.TemporaryDirectory() as scratch:
        ws = cxm.Workspace.open(Path(scratch) / "warm.db")  # warm the store's code paths
        ws.sync(make(transport))
        ws.close()
        replay.requests = 0
        started = time.perf_counter()
        records, rejected = parse_all(make(transport))
        parse_seconds = time.perf_counter() - started
        requests = replay.requests

        ws = cxm.Workspace.open(Path(scratch) / "ingest.db")
        started = time.perf_counter()
        ingested = ws.ingest(records)
        ingest_seconds = time.perf_counter() - started
        ws.close()

        ws = cxm.Workspace.open(Path(scratch) / "sync.db")
        started = time.perf_counter()
        report = ws.sync(make(transport))
        sync_seconds = time.perf_counter() - started
        replay.requests = 0
        started = time.perf_counter()
        second = ws.sync(make(transport))
        second_seconds = time.perf_counter() - started
        second_requests = replay.requests
        ws.close()
    stored = report.new + report.updated + report.unchanged
    return {
        "records": len(records),
        "rejected": rejected,
        "requests": requests,
        "parse_seconds": parse_seconds,
        "ingest_seconds": ingest_seconds,
        "sync_seconds": sync_seconds,
        "parse_per_second": len(records) / parse_seconds,
        "ingest_per_second": len(records) / ingest_seconds,
        "sync_per_second": stored / sync_seconds,
        "ratio": sync_seconds / ingest_seconds,
        "ingest_new": ingested.new,
        "sync_new": report.new,
        "sync_ok": report.ok,
        "second_new": second.new,
        "second_requests": second_requests,
        "second_seconds": second_seconds,
    }


def run(records: int = 20_000, only: list[str] | None = None) -> dict[str, Any]:
    """Benchmark every vendor connector (or ``only`` those); return the figures by name."""
    names = only or list(CONNECTORS)
    return {
        "config": {"records": records},
        "connectors": {name: bench_connector(name, records) for name in names},
    }


def rows(result: dict[str, Any]) -> list[list[str]]:
    """Rows for ``bench/run.py``'s table: suite, measurement, seconds, per second, ratio, target."""
    lines = []
    for name, figures in result["connectors"].items():
        n = figures["records"]
        check = (
            ""
            if figures["sync_ok"] and figures["sync_new"] == figures["ingest_new"]
            else (" CHECK: SYNC AND INGEST DIFFER")
        )
        lines += [
            [
                "vendor",
                f"{name}: ws.sync, {n:,} records in {figures['requests']:,} requests{check}",
                f"{figures['sync_seconds']:.2f}",
                f"{figures['sync_per_second']:,.0f}",
                f"{figures['ratio']:.2f}x",
                "",
            ],
            [
                "vendor",
                f"{name}: read + parse only (no store)",
                f"{figures['parse_seconds']:.2f}",
                f"{figures['parse_per_second']:,.0f}",
                f"{figures['parse_seconds'] / figures['ingest_seconds']:.2f}x",
                "",
            ],
            [
                "vendor",
                f"{name}: ws.ingest of the same records",
                f"{figures['ingest_seconds']:.2f}",
                f"{figures['ingest_per_second']:,.0f}",
                "1.00x",
                "baseline",
            ],
            [
                "vendor",
                f"{name}: second sync, nothing new: {figures['second_requests']} requests, "
                f"{figures['second_new']} new",
                f"{figures['second_seconds']:.3f}",
                "",
                "",
                "",
            ],
        ]
    return lines


def table(result: dict[str, Any]) -> str:
    """Render the figures as a plain-text table, in the layout of ``bench/run.py``."""
    header = ["suite", "measurement", "seconds", "records/s", "vs ingest", "target"]
    return _table.render(header, rows(result))


def main(argv: list[str] | None = None) -> None:
    """Run from the command line and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000, metavar="N")
    parser.add_argument("--only", action="append", choices=list(CONNECTORS))
    args = parser.parse_args(argv)
    result = run(args.records, args.only)
    print(table(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
