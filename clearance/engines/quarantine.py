"""Quarantine: agri-food goods (HS chapters 01–24) need a valid certificate that is not revoked."""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from clearance.engines import Reason, Verdict
from clearance.models import Check, Declaration, QuarantineCertificate, RevokedCertificate
from vehicles.compiled import CompiledQuery
from vehicles.models import local_date

# The certificates and whether each is revoked, in one query; run for most checks of a fruit season's
# declarations, so compiled once (vehicles.compiled): Django's building of it cost more than running it.
_CERTIFICATES = CompiledQuery(
    lambda declaration_id: QuarantineCertificate.objects.filter(declaration_id=declaration_id).annotate(
        revoked=Exists(RevokedCertificate.objects.filter(number=OuterRef("number")))
    ),
    declaration_id=int,
)


def quarantine_assess(declaration: Declaration) -> Verdict:
    if not declaration.needs_quarantine:
        return Verdict(Check.Outcome.PASS, [Reason(Check.Outcome.NOT_REQUIRED, "No goods of HS chapters 01–24.")])
    certificates = _CERTIFICATES.all(declaration_id=declaration.id)
    revoked = {certificate.number for certificate in certificates if certificate.revoked}
    if revoked:
        return Verdict(
            Check.Outcome.DENY,
            [Reason("certificate_revoked", f"Certificate {number} has been revoked.") for number in sorted(revoked)],
        )
    if not certificates:
        return Verdict(
            Check.Outcome.INSPECTION,
            [Reason("certificate_missing", "Goods of HS chapters 01–24 need a quarantine certificate.")],
        )
    arrival_day = local_date(declaration.expected_arrival)
    valid = [c for c in certificates if c.issued_on <= arrival_day <= c.expires_on]
    if not valid:
        return Verdict(
            Check.Outcome.INSPECTION,
            [Reason("certificate_expired", f"No certificate is valid on the crossing day {arrival_day}.")],
        )
    return Verdict(
        Check.Outcome.PASS,
        [Reason("certificate_valid", f"Certificate {valid[0].number} valid until {valid[0].expires_on}.")],
    )
