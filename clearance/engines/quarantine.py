"""Quarantine: agri-food goods (HS chapters 01–24) need a valid certificate that is not revoked."""

from __future__ import annotations

from clearance.engines import Reason, Verdict
from clearance.models import Declaration, RevokedCertificate
from vehicles.models import local_date


def quarantine_assess(declaration: Declaration) -> Verdict:
    if not declaration.needs_quarantine:
        return Verdict("pass", [Reason("not_required", "No goods of HS chapters 01–24.")])
    certificates = list(declaration.quarantine_certificates.all())
    revoked = set(
        RevokedCertificate.objects.filter(number__in=[c.number for c in certificates]).values_list("number", flat=True)
    )
    if revoked:
        return Verdict(
            "deny",
            [Reason("certificate_revoked", f"Certificate {number} has been revoked.") for number in sorted(revoked)],
        )
    if not certificates:
        return Verdict(
            "inspection", [Reason("certificate_missing", "Goods of HS chapters 01–24 need a quarantine certificate.")]
        )
    arrival_day = local_date(declaration.expected_arrival)
    valid = [c for c in certificates if c.issued_on <= arrival_day <= c.expires_on]
    if not valid:
        return Verdict(
            "inspection", [Reason("certificate_expired", f"No certificate is valid on the crossing day {arrival_day}.")]
        )
    return Verdict(
        "pass", [Reason("certificate_valid", f"Certificate {valid[0].number} valid until {valid[0].expires_on}.")]
    )
