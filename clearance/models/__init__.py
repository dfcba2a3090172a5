from clearance.models.checks import Check, Inspection
from clearance.models.declarations import (
    ACTIVE_DECLARATION,
    Company,
    CompanyAPIKey,
    Container,
    CustomsDeclaration,
    Declaration,
    DeclarationEvent,
    GoodsLine,
    IdempotencyRecord,
    QuarantineCertificate,
    TransitionNotAllowed,
)
from clearance.models.gate import Fee, GateDecision, Handover, Payment, Tariff, TariffCoefficient, TariffRate
from clearance.models.queue import ArrivalSlot, LaneCall, LaneEvent, QueueTurn, UnmatchedArrival
from clearance.models.rules import (
    CompanyViolation,
    HsRiskRule,
    ReferencePrice,
    RevokedCertificate,
    RiskSettings,
    WatchlistEntry,
)

__all__ = [
    "Fee", "GateDecision", "Handover", "Payment", "Tariff", "TariffCoefficient", "TariffRate",
    "ArrivalSlot", "LaneCall", "LaneEvent", "QueueTurn", "UnmatchedArrival",
    "ACTIVE_DECLARATION", "Check", "Company", "CompanyAPIKey", "CompanyViolation", "Container", "CustomsDeclaration",
    "Declaration", "DeclarationEvent", "GoodsLine", "HsRiskRule", "IdempotencyRecord", "Inspection",
    "QuarantineCertificate", "ReferencePrice", "RevokedCertificate", "RiskSettings", "TransitionNotAllowed",
    "WatchlistEntry",
]
