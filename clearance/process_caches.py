"""The clearance rows kept in each web process's memory (see vehicles/process_cache.py for how they stay
fresh): verified forwarders' and customs systems' keys, and the companies that subscribe to webhooks."""

from __future__ import annotations

from clearance.models import (
    Company,
    CompanyAPIKey,
    CustomsSystemAPIKey,
    CustomsSystemClient,
    WebhookSubscription,
)
from vehicles.process_cache import ProcessCache, invalidate_on_change

# Company keys verified in this process, with their company.
company_keys = ProcessCache("company-keys")
# Customs system keys verified in this process, with their client.
customs_keys = ProcessCache("customs-keys")
# The ids of the companies with at least one active webhook subscription (one entry, key None).
webhook_subscribers = ProcessCache("webhook-subscribers")


def company_ids_with_subscriptions() -> frozenset[int]:
    """Companies whose events have somewhere to go: the others' events need no fan-out."""
    ids = webhook_subscribers.get(None)
    if ids is None:
        ids = frozenset(
            WebhookSubscription.objects.filter(is_active=True).values_list("company_id", flat=True).distinct()
        )
        webhook_subscribers.set(None, ids)
    return ids


def connect_invalidation() -> None:
    invalidate_on_change(company_keys, Company, CompanyAPIKey)
    invalidate_on_change(customs_keys, CustomsSystemClient, CustomsSystemAPIKey)
    invalidate_on_change(webhook_subscribers, WebhookSubscription)
