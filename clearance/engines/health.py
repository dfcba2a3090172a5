"""Border health quarantine (kiểm dịch y tế): the driver and crew. Outside an epidemic period the check is
not required (and recorded so); within one, the crossing needs a health declaration raising no concern,
and nobody aboard may be on the health force's list. pass / flag for a health screening / not required."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import translation

from clearance.engines import Reason, Verdict
from clearance.models import Check, Declaration, EpidemicMode, HealthFlag, HealthReason
from vehicles.names import fold_name


def _reason(code: HealthReason, detail: str = "") -> Reason:
    # Stored in English whatever language a request activated (checks may run in-process); the officers'
    # screens and the forwarder's Vietnamese come from the code.
    with translation.override("en"):
        return Reason(code.value, f"{code.label} {detail}".strip())


def _order_free(name_key: str) -> str:
    return " ".join(sorted(name_key.split()))


def people_aboard(declaration: Declaration) -> list[dict]:
    """The driver as declared, then the crew of the health declaration: name, folded name, document."""
    driver = declaration.declared_driver
    people = [{"full_name": driver.full_name, "document_number": driver.document_number}]
    people += [
        {"full_name": member["full_name"], "document_number": member.get("document_number", "")}
        for member in (declaration.health_declaration or {}).get("crew", [])
    ]
    return [{**person, "name_key": _order_free(fold_name(person["full_name"]))} for person in people]


def _flagged(people: list[dict]) -> list[tuple[dict, HealthFlag]]:
    """Each list entry in force that names someone aboard, by document number or folded name (any order)."""
    matches = []
    for flag in HealthFlag.objects.in_force().order_by("id"):
        flag_key = _order_free(flag.name_key)
        for person in people:
            if (flag.document_number and flag.document_number == person["document_number"]) or (
                flag_key and flag_key == person["name_key"]
            ):
                matches.append((person, flag))
                break
    return matches


def health_prepare(declarations: QuerySet[Declaration]) -> QuerySet[Declaration]:
    """Load with the declaration the id of the epidemic period in force at its expected arrival, if any
    (``EpidemicMode.at``'s choice): outside an epidemic period, the usual case, the check needs no query of
    its own."""
    in_force = (
        EpidemicMode.objects.in_force(OuterRef("expected_arrival")).order_by("-valid_from", "-id").values("id")[:1]
    )
    return declarations.annotate(epidemic_mode_in_force=Subquery(in_force))


def _mode(declaration: Declaration) -> EpidemicMode | None:
    if not hasattr(declaration, "epidemic_mode_in_force"):  # loaded without health_prepare
        return EpidemicMode.at(declaration.expected_arrival)
    if declaration.epidemic_mode_in_force is None:
        return None
    return EpidemicMode.objects.filter(id=declaration.epidemic_mode_in_force).first()


def health_assess(declaration: Declaration) -> Verdict:
    mode = _mode(declaration)
    if mode is None:
        return Verdict(Check.Outcome.NOT_REQUIRED, [_reason(HealthReason.NOT_REQUIRED)])
    flags: list[Reason] = []
    health = declaration.health_declaration
    if not health:
        flags.append(_reason(HealthReason.DECLARATION_MISSING, "Amend the declaration to add it."))
    else:
        people = [health, *health.get("crew", [])]
        if any(person.get("symptoms") for person in people):
            flags.append(_reason(HealthReason.SYMPTOMS))
        if any(person.get("close_contact") for person in people):
            flags.append(_reason(HealthReason.CLOSE_CONTACT))
        fevers = [
            Decimal(str(person["temperature_c"]))
            for person in people
            if person.get("temperature_c") is not None
            and Decimal(str(person["temperature_c"])) >= mode.fever_threshold_c
        ]
        if fevers:
            flags.append(_reason(HealthReason.FEVER, f"({max(fevers)} °C; threshold {mode.fever_threshold_c} °C)"))
    for person, flag in _flagged(people_aboard(declaration)):
        flags.append(
            _reason(HealthReason.TESTING_REQUIRED, f"{person['full_name']} (list entry {flag.pk}): {flag.reason}")
        )
    if flags:
        return Verdict(Check.Outcome.FLAG, flags)
    return Verdict(Check.Outcome.PASS, [_reason(HealthReason.DECLARATION_ACCEPTED)])
