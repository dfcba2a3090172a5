"""Customs risk: a rules engine behind a small gateway interface, so a real customs system can replace it.

Each rule that fires adds its weight to a score and a reason; thresholds turn the score into a channel
(green: release on documents, yellow: officer reviews documents, red: physical inspection). A random
selection, reproducible per declaration, raises the channel for a share of crossings.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.module_loading import import_string

from clearance.engines import Reason, Verdict, reference
from clearance.models import Check, Company, CompanyViolation, Container, Declaration
from vehicles.models import local_date

# The customs check answers a channel; a random selection only ever raises it.
CHANNEL_ORDER = [Check.Outcome.GREEN, Check.Outcome.YELLOW, Check.Outcome.RED]


class CustomsGatewayUnavailable(Exception):
    """The customs system did not answer: a transient error, retried, never a verdict."""


class CustomsGateway(Protocol):
    def assess(self, declaration: Declaration) -> Verdict: ...


def customs_gateway() -> CustomsGateway:
    return import_string(settings.SMARTGATE_CUSTOMS_GATEWAY)()


def random_draw(declaration: Declaration) -> Decimal:
    """A number in [0, 100) fixed for the vehicle and the day it was declared: re-running, amending, or
    cancelling and declaring again that day does not re-roll it, and the server's secret keeps
    forwarders from predicting it."""
    basis = f"customs-random:{declaration.vehicle.normalized_plate}:{local_date(declaration.created_at)}"
    digest = hmac.new(settings.SECRET_KEY.encode(), basis.encode(), hashlib.sha256)
    return Decimal(int.from_bytes(digest.digest()[:8], "big") % 10_000) / 100


def _count(queryset: QuerySet, *, correlated_on: str) -> Coalesce:
    """A correlated count of ``queryset`` (filtered on the outer row by ``correlated_on``) as an
    annotation; 0 when nothing matches."""
    counted = queryset.order_by().values(correlated_on).annotate(n=Count("id")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def violations_since() -> date:
    """The first day whose company violations count against a declaration assessed now."""
    return local_date(timezone.now()) - timedelta(days=reference.risk_settings().violation_window_days)


def rules_prepare(declarations: QuerySet[Declaration], *, since: date) -> QuerySet[Declaration]:
    """One query for the declaration, its company, its vehicle's weighed tare, its company's violations
    from ``since`` and its unsealed containers (counted by the database); a second for its goods lines.
    It reads nothing but its arguments: the check compiles it once (``CheckEngine``)."""
    return (
        declarations.select_related("company", "vehicle")
        .prefetch_related("goods")
        .annotate(
            recent_violations=_count(
                CompanyViolation.objects.filter(company_id=OuterRef("company_id"), occurred_on__gte=since),
                correlated_on="company_id",
            ),
            unsealed_containers=_count(
                Container.objects.filter(declaration_id=OuterRef("id"), seals=[]), correlated_on="declaration_id"
            ),
        )
    )


class RulesCustomsGateway:
    """The built-in risk engine over the rules officers edit in the admin."""

    def prepare(self, declarations: QuerySet[Declaration]) -> QuerySet[Declaration]:
        return rules_prepare(declarations, since=violations_since())

    def assess(self, declaration: Declaration) -> Verdict:
        risk = reference.risk_settings()
        fired: list[tuple[int, Reason]] = []
        fired += self._hs_rules(declaration)
        fired += self._company(declaration, risk)
        fired += self._valuation(declaration, risk)
        fired += self._weight(declaration, risk)
        fired += self._seals(declaration, risk)

        score = sum(weight for weight, _reason in fired)
        if score >= risk.red_threshold:
            channel = Check.Outcome.RED
        elif score >= risk.yellow_threshold:
            channel = Check.Outcome.YELLOW
        else:
            channel = Check.Outcome.GREEN
        reasons = [reason for _weight, reason in fired]
        rate = risk.random_rate_for(declaration.company.compliance_rating)
        if random_draw(declaration) < rate:
            reasons.append(Reason("random_selection", f"Selected at random ({rate}% of crossings are)."))
            channel = max(channel, Check.Outcome(risk.random_channel), key=CHANNEL_ORDER.index)
        reasons.append(
            Reason("score", f"Risk score {score} (yellow from {risk.yellow_threshold}, red from {risk.red_threshold}).")
        )
        return Verdict(outcome=channel, reasons=reasons)

    def _hs_rules(self, declaration):
        codes = [line.hs_code for line in declaration.goods.all()]
        fired = []
        for rule in reference.hs_risk_rules():
            matching = [code for code in codes if code.startswith(rule.hs_prefix)]
            if matching:
                fired.append(
                    (
                        rule.weight,
                        Reason(
                            "hs_risk",
                            f"HS {', '.join(matching)} matches risk rule {rule.hs_prefix} "
                            f"({rule.description}, {rule.weight:+d}).",
                        ),
                    )
                )
        return fired

    def _company(self, declaration, risk):
        company = declaration.company
        fired = []
        if company.compliance_rating == Company.Rating.UNDER_WATCH:
            fired.append((risk.under_watch_weight, Reason("company_under_watch", f"{company.name} is under watch.")))
        elif company.compliance_rating == Company.Rating.PRIORITY:
            fired.append(
                (risk.priority_weight, Reason("company_priority", f"{company.name} is a priority (AEO) company."))
            )
        since = local_date(timezone.now()) - timedelta(days=risk.violation_window_days)
        violations = getattr(declaration, "recent_violations", None)
        if violations is None:  # not loaded by ``prepare``
            violations = CompanyViolation.objects.filter(company=company, occurred_on__gte=since).count()
        if violations:
            fired.append(
                (
                    risk.violation_weight * violations,
                    Reason(
                        "company_violations",
                        f"{violations} violation(s) in the last {risk.violation_window_days} days.",
                    ),
                )
            )
        return fired

    def _valuation(self, declaration, risk):
        goods = list(declaration.goods.all())
        prices = reference.reference_prices()
        fired = []
        for line in goods:
            reference_price = prices.get((line.hs_code[:4], line.currency))
            if reference_price is None or not line.gross_weight_kg:
                continue
            per_kg = line.value / line.gross_weight_kg
            if per_kg < reference_price * risk.undervaluation_ratio:
                fired.append(
                    (
                        risk.undervaluation_weight,
                        Reason(
                            "undervaluation",
                            f"HS {line.hs_code} declared at {per_kg:.2f} {line.currency}/kg, below "
                            f"{risk.undervaluation_ratio:.0%} of the reference {reference_price} {line.currency}/kg.",
                        ),
                    )
                )
        return fired

    def _weight(self, declaration, risk):
        vehicle = declaration.declared_vehicle
        goods_kg = sum((line.gross_weight_kg for line in declaration.goods.all()), Decimal(0))
        total = goods_kg + (declaration.vehicle.tare_weight_kg or 0)  # the tare is weighed: the registry's
        if total > vehicle.max_gross_weight_kg:
            return [
                (
                    risk.overweight_weight,
                    Reason(
                        "overweight",
                        f"Goods {goods_kg} kg with the vehicle's tare make {total} kg, above its maximum of "
                        f"{vehicle.max_gross_weight_kg} kg.",
                    ),
                )
            ]
        return []

    def _seals(self, declaration, risk):
        if getattr(declaration, "unsealed_containers", None) == 0:  # counted by ``prepare``: nothing to name
            return []
        unsealed = [container.number for container in declaration.containers.all() if not container.seals]
        if unsealed:
            return [
                (
                    risk.unsealed_container_weight,
                    Reason("container_unsealed", f"Container(s) without seals: {', '.join(unsealed)}."),
                )
            ]
        return []
