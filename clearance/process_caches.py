"""The clearance rows kept in each web process's memory (see vehicles/process_cache.py for how they stay
fresh): verified forwarders' and customs systems' keys, the companies that subscribe to webhooks, and the
reference data the declaration API asks of every declaration (the epidemic periods, the smart-lane goods
groups). The checks read the tables themselves, so a period switched on is applied by the health check
even in the second before an API process drops its copy."""

from __future__ import annotations

from datetime import datetime

from clearance.models import (
    Company,
    CompanyAPIKey,
    CustomsSystemAPIKey,
    CustomsSystemClient,
    EpidemicMode,
    SmartLaneGoodsGroup,
    WebhookSubscription,
)
from vehicles.process_cache import ProcessCache, invalidate_on_change

# Company keys verified in this process, with their company.
company_keys = ProcessCache("company-keys")
# Customs system keys verified in this process, with their client.
customs_keys = ProcessCache("customs-keys")
# The ids of the companies with at least one active webhook subscription (one entry, key None).
webhook_subscribers = ProcessCache("webhook-subscribers")
# The province's epidemic periods, latest first (one entry, key None).
epidemic_periods = ProcessCache("epidemic-periods")
# The goods groups eligible for the smart lanes (one entry, key None).
smart_lane_goods_groups = ProcessCache("smart-lane-goods-groups")


def company_ids_with_subscriptions() -> frozenset[int]:
    """Companies whose events have somewhere to go: the others' events need no fan-out."""
    ids = webhook_subscribers.get(None)
    if ids is None:
        ids = frozenset(
            WebhookSubscription.objects.filter(is_active=True).values_list("company_id", flat=True).distinct()
        )
        webhook_subscribers.set(None, ids)
    return ids


def epidemic_period_at(moment: datetime) -> EpidemicMode | None:
    """The period in force at ``moment`` (the latest started, if two overlap), as EpidemicMode.at."""
    periods = epidemic_periods.get(None)
    if periods is None:
        periods = list(EpidemicMode.objects.order_by("-valid_from", "-id"))
        epidemic_periods.set(None, periods)
    for period in periods:
        if period.valid_from <= moment and (period.valid_until is None or moment < period.valid_until):
            return period
    return None


def smart_lane_groups() -> list[SmartLaneGoodsGroup]:
    """The goods groups eligible for the smart lanes now."""
    groups = smart_lane_goods_groups.get(None)
    if groups is None:
        groups = list(SmartLaneGoodsGroup.objects.filter(is_active=True).order_by("name"))
        smart_lane_goods_groups.set(None, groups)
    return groups


def connect_invalidation() -> None:
    invalidate_on_change(company_keys, Company, CompanyAPIKey)
    invalidate_on_change(customs_keys, CustomsSystemClient, CustomsSystemAPIKey)
    invalidate_on_change(webhook_subscribers, WebhookSubscription)
    invalidate_on_change(epidemic_periods, EpidemicMode)
    invalidate_on_change(smart_lane_goods_groups, SmartLaneGoodsGroup)
