"""The built-in connectors and sentiment analyzer, registered through the hooks plugins use."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cxm.connectors.hookspecs import hookimpl

if TYPE_CHECKING:
    from cxm.connectors.base import Connector


@hookimpl
def cxm_register_connectors(register: Callable[[type[Connector]], None]) -> None:
    """Register the built-in connectors: files, mail and the vendors' APIs."""
    from cxm.connectors.delighted import DelightedConnector
    from cxm.connectors.files import CsvConnector, JsonlConnector
    from cxm.connectors.google_business_profile import GoogleBusinessProfileConnector
    from cxm.connectors.hubspot import HubSpotConnector
    from cxm.connectors.imap import ImapConnector
    from cxm.connectors.mail import EmlConnector, MboxConnector
    from cxm.connectors.salesforce import SalesforceConnector
    from cxm.connectors.surveymonkey import SurveyMonkeyConnector
    from cxm.connectors.trustpilot import TrustpilotConnector
    from cxm.connectors.typeform import TypeformConnector
    from cxm.connectors.yelp import YelpConnector
    from cxm.connectors.zendesk import ZendeskConnector

    register(CsvConnector)
    register(JsonlConnector)
    register(MboxConnector)
    register(EmlConnector)
    register(ImapConnector)
    register(TrustpilotConnector)
    register(HubSpotConnector)
    register(GoogleBusinessProfileConnector)
    register(YelpConnector)
    register(SalesforceConnector)
    register(ZendeskConnector)
    register(TypeformConnector)
    register(DelightedConnector)
    register(SurveyMonkeyConnector)


@hookimpl
def cxm_register_sentiment_analyzers(register: Callable[[Any], None]) -> None:
    """Register the default sentiment analyzer, VADER."""
    from cxm.metrics.sentiment import VaderAnalyzer

    register(VaderAnalyzer)
