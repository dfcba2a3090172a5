from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Q
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.admin import APIKeyModelAdmin

from clearance import console, identifiers, selectors
from clearance.admin.actions import ReasonForm, confirm_and_apply
from clearance.admin.colours import CHANNEL_COLOURS, NEUTRAL, STATUS_COLOURS, badge
from clearance.admin.gate import ReadOnlyAdmin, coefficients_in_words
from clearance.admin.work import RowAction
from clearance.audit import Actor
from clearance.models import (
    AuditAnchor,
    AuditRecord,
    Check,
    CheckReason,
    Company,
    CompanyAPIKey,
    CompanyViolation,
    Container,
    CrossingLeg,
    CustomsDeclaration,
    Declaration,
    DeclarationEvent,
    Fee,
    GateDecision,
    GoodsLine,
    HealthReason,
    HsRiskRule,
    Inspection,
    QuarantineCertificate,
    ReferencePrice,
    RevokedCertificate,
    RiskSettings,
    WatchlistEntry,
)
from clearance.roles import FORCE_ROLES, can_act_for_force, is_gate_operator, is_supervisor
from clearance.services.dispatch import declaration_call_forward
from clearance.services.inspections import declaration_reject_held, declaration_release, inspection_record_result
from clearance.services.legs import handover_record
from clearance.services.yard import arrival_hold_waive, declaration_turn_back
from vehicles.history import ReasonedHistoryAdmin
from vehicles.models import LOCAL_TZ, Direction, Lane, Movement, Yard
from vehicles.names import fold_name
from vehicles.plates import normalize_plate

# Reason codes with plain words in English and Vietnamese (the health check's, and the empty return's).
REASON_WORDS = {**dict(HealthReason.choices), **dict(CheckReason.choices)}


@admin.register(Company)
class CompanyAdmin(ReasonedHistoryAdmin):
    list_display = ["name", "tax_code", "country", "compliance_rating", "is_active", "created_at"]
    list_filter = ["country", "compliance_rating", "is_active"]
    search_fields = ["name", "tax_code"]


@admin.register(CompanyAPIKey)
class CompanyAPIKeyAdmin(APIKeyModelAdmin):
    """Keys are issued with `manage.py create_api_key` (shown once); here they are listed and revoked."""

    list_display = [*APIKeyModelAdmin.list_display, "company"]
    list_filter = [*APIKeyModelAdmin.list_filter, "company"]
    search_fields = [*APIKeyModelAdmin.search_fields, "company__name", "company__tax_code"]
    list_select_related = ["company"]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        return self.fields  # auto-set fields (timestamps) cannot be form fields


class CustomsDeclarationInline(ReadOnlyInline):
    model = CustomsDeclaration
    fields = ["number", "type", "is_active"]


class ContainerInline(ReadOnlyInline):
    model = Container
    fields = ["number", "size", "seals"]


class GoodsLineInline(ReadOnlyInline):
    model = GoodsLine
    fields = ["hs_code", "description", "quantity", "unit", "gross_weight_kg", "value", "currency", "origin_country"]


class QuarantineCertificateInline(ReadOnlyInline):
    model = QuarantineCertificate
    fields = ["number", "issued_on", "expires_on"]


class CheckInline(ReadOnlyInline):
    model = Check
    fields = ["version", "kind", "status", "outcome", "reasons", "attempts", "started_at", "finished_at"]
    ordering = ["-version", "kind"]


class InspectionInline(ReadOnlyInline):
    model = Inspection
    fields = ["version", "force", "kind", "status", "reasons", "notes", "resolved_by", "resolved_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("resolved_by")


class DeclarationEventInline(ReadOnlyInline):
    """The declaration's audit trail, hash-chained: who, what, why, and the link to the event before."""

    model = DeclarationEvent
    fields = ["seq", "at", "actor_kind", "actor", "event", "reason", "version", "data", "chain_link"]
    readonly_fields = ["chain_link"]
    ordering = ["seq"]

    @admin.display(description=_("hash"))
    def chain_link(self, event):
        return f"{event.hash[:12]}… ← {event.prev_hash[:12]}…"


class CrossingLegInline(ReadOnlyInline):
    """A crossing in legs: each vehicle, its driver or safety driver, where it handed over and when."""

    model = CrossingLeg
    fields = [
        "seq",
        "vehicle",
        "driver",
        "safety_driver",
        "crosses",
        "transfer_point",
        "handover_method",
        "arrived_at",
        "handed_over_at",
    ]
    ordering = ["seq"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("vehicle", "driver", "safety_driver", "transfer_point")


class GateDecisionInline(ReadOnlyInline):
    model = GateDecision
    fields = ["decided_at", "lane", "plate_read", "decision", "reasons", "confidence"]
    ordering = ["-id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("lane")


class QueueChangeList(ChangeList):
    """Computes the queue positions of the page's rows in one query, not one per row."""

    def get_results(self, request):
        super().get_results(request)
        # Kept on the rows themselves: the admin instance is shared by concurrent requests.
        positions = selectors.queue_positions(self.result_list)
        for declaration in self.result_list:
            declaration.queue_position_now = positions.get(declaration.id, (None, None))[0]


class LaneChoiceForm(ReasonForm):
    lane = forms.ModelChoiceField(label=_("Lane"), queryset=Lane.objects.none())

    def __init__(self, *args, lanes=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the lanes the selected vehicles may use (route, current direction, kind of vehicle).
        self.fields["lane"].queryset = lanes if lanes is not None else Lane.objects.filter(is_open=True)


class HandoverForm(forms.Form):
    """An officer at a transfer point records the containers handed over to the selected vehicle."""

    transfer_point = forms.ModelChoiceField(
        label=_("Transfer point"), queryset=Yard.objects.filter(kind__in=Yard.TRANSFER_POINTS).order_by("code")
    )
    from_plate = forms.CharField(label=_("Brought by (plate)"), max_length=20)
    containers = forms.CharField(
        label=_("Containers handed over"), max_length=200, help_text=_("Container numbers, separated by commas.")
    )

    def clean_containers(self) -> list[str]:
        numbers = [number.strip() for number in self.cleaned_data["containers"].split(",") if number.strip()]
        if not numbers:
            raise forms.ValidationError(_("Give at least one container number."))
        return [identifiers.container_number(number) for number in numbers]


@admin.register(Declaration)
class DeclarationAdmin(admin.ModelAdmin):
    """Declarations change only through the services: the admin shows them and offers the actions each
    role may take; it never edits status or stage."""

    list_display = [
        "reference",
        "plate",
        "company",
        "route_direction",
        "status_badge",
        "channel_badge",
        "stage",
        "queue_position",
        "waiting",
        "expected_arrival",
    ]
    list_filter = [
        "status",
        "channel",
        "stage",
        "route",
        "direction",
        "kind",
        "needs_quarantine",
        "smart_lane_eligible",
        "created_at",
    ]
    search_fields = [
        "reference",
        "vehicle__normalized_plate",
        "trailer__normalized_plate",
        "company__name",
        "company__tax_code",
        "containers__number",
        "customs_declarations__number",
    ]
    list_select_related = ["vehicle", "company", "route"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    list_per_page = 50
    actions = ["call_forward", "turn_back", "record_handover", "release_held", "reject_held", "waive_arrival_hold"]
    readonly_fields = ["movements", "fee_summary"]
    inlines = [
        CustomsDeclarationInline,
        ContainerInline,
        GoodsLineInline,
        QuarantineCertificateInline,
        CrossingLegInline,
        CheckInline,
        InspectionInline,
        GateDecisionInline,
        DeclarationEventInline,
    ]

    change_form_template = "admin/clearance/declaration/change_form.html"

    def get_changelist(self, request, **kwargs):
        return QueueChangeList

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The page an officer reads in ten seconds comes first; every recorded field stays below it.
        sheet = None
        if object_id and object_id.isdigit() and self.get_queryset(request).filter(id=object_id).exists():
            sheet = console.declaration_sheet(declaration_id=int(object_id))
        extra_context = {**(extra_context or {}), "sheet": sheet}
        if sheet is not None:
            declaration = sheet["declaration"]
            extra_context["status_badge"] = self.status_badge(declaration)
            extra_context["channel_badge"] = self.channel_badge(declaration) if declaration.channel else ""
            extra_context["sheet_actions"] = self.sheet_actions(request, sheet)
        return super().change_view(request, object_id, form_url, extra_context)

    def sheet_actions(self, request, sheet: dict) -> list[dict]:
        """The actions this officer may take on this declaration in its present state, and no other: the
        admin actions (posted to the list, which shows their confirmation) and the inspections to record."""
        declaration = sheet["declaration"]
        Status, Stage = Declaration.Status, Declaration.Stage
        offered = []
        if is_gate_operator(request.user):
            if declaration.stage == Stage.IN_YARD and declaration.status in {Status.CLEARED, Status.INSPECTION}:
                offered.append({"name": "call_forward", "label": _("Call forward to a lane")})
            if declaration.stage in {Stage.EXPECTED, Stage.IN_YARD, Stage.CALLED, Stage.IN_LANE}:
                offered.append({"name": "turn_back", "label": _("Turn back"), "danger": True})
        if is_supervisor(request.user):
            if declaration.status == Status.HELD:
                offered.append({"name": "release_held", "label": _("Release held declaration")})
                offered.append({"name": "reject_held", "label": _("Reject held declaration"), "danger": True})
            if declaration.stage == Stage.IN_YARD and declaration.is_held_after_early_arrival:
                offered.append({"name": "waive_arrival_hold", "label": _("Waive the early-arrival hold")})
        back = request.path
        for inspection in sheet["inspections"]:
            if (
                inspection.status == Inspection.Status.OPEN
                and inspection.version == declaration.version
                and can_act_for_force(request.user, inspection.force)
            ):
                for action, label, danger in (
                    (RowAction.PASS, _("Pass"), False),
                    (RowAction.FAIL, _("Fail"), True),
                ):
                    url = reverse("admin:work-action", args=[inspection.id, action])
                    offered.append(
                        {
                            "name": f"inspection-{action.value}",
                            "label": f"{inspection.get_kind_display()}: {label}",
                            "url": f"{url}?back={back}",
                            "danger": danger,
                        }
                    )
        return offered

    def history_view(self, request, object_id, extra_context=None):
        # A declaration's history is its hash-chained audit trail (the admin's own log never records it:
        # declarations change only through the services).
        return redirect(f"{reverse('admin:clearance_declarationevent_changelist')}?declaration__id__exact={object_id}")

    def get_search_results(self, request, queryset, search_term):
        # A plate written any way finds its declarations.
        filtered = queryset  # the list filters chosen stay in force
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term:
            queryset |= filtered.filter(vehicle__normalized_plate=normalize_plate(search_term))
            # A driver's name written without diacritics, in any case: "nguyen van" finds Nguyễn Văn Đức.
            words = fold_name(search_term).split()
            if words:
                by_name = Q()
                for word in words:
                    by_name &= Q(driver__name_key__contains=word)
                queryset |= filtered.filter(by_name)
        return queryset, may_have_duplicates

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields] + list(self.readonly_fields)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # read-only detail; actions carry the changes

    @admin.display(description=_("plate"), ordering="vehicle__normalized_plate")
    def plate(self, declaration):
        return declaration.vehicle.plate

    @admin.display(description=_("route"), ordering="route__code")
    def route_direction(self, declaration):
        arrow = "→ CN" if declaration.direction == Direction.EXPORT else "→ VN"
        return f"{declaration.route.code} {arrow}"

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, declaration):
        return badge(declaration.get_status_display(), STATUS_COLOURS.get(declaration.status, NEUTRAL))

    @admin.display(description=_("channel"), ordering="channel")
    def channel_badge(self, declaration):
        if not declaration.channel:
            return "—"
        return badge(declaration.get_channel_display(), CHANNEL_COLOURS[declaration.channel])

    @admin.display(description=_("queue"))
    def queue_position(self, declaration):
        if declaration.status == Declaration.Status.HELD:
            return _("held: not called")  # it keeps its arrival time, but waits for a supervisor
        position = getattr(declaration, "queue_position_now", None)
        if position is None:
            return "—"
        marks = " · ".join(
            str(mark)
            for applies, mark in (
                (declaration.is_perishable_in_queue, _("perishable")),
                (declaration.is_priority_in_queue, "AEO"),
                (declaration.is_on_time_in_queue, _("on time")),
            )
            if applies
        )
        if declaration.is_held_after_early_arrival:
            until = declaration.arrival_held_until.astimezone(LOCAL_TZ).strftime("%H:%M")
            marks = f"{marks} · {_('early, held until')} {until}".lstrip(" ·")
        return f"{position} {marks}".strip()

    @admin.display(description=_("waiting"), ordering="arrived_at")
    def waiting(self, declaration):
        if declaration.stage != Declaration.Stage.IN_YARD or declaration.arrived_at is None:
            return "—"
        minutes = int((timezone.now() - declaration.arrived_at).total_seconds() // 60)
        return f"{minutes // 60} h {minutes % 60:02d} min"

    @admin.display(description=_("movements"))
    def movements(self, declaration):
        rows = Movement.objects.filter(
            normalized_plate=declaration.vehicle.normalized_plate, occurred_at__gte=declaration.created_at
        ).select_related("yard", "lane")[:50]
        return (
            format_html_join(
                mark_safe("<br>"),
                "{} · {} · {}",
                (
                    (
                        m.occurred_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"),
                        m.get_kind_display(),
                        m.yard or m.lane,
                    )
                    for m in rows
                ),
            )
            or "—"
        )

    @admin.display(description=_("fee"))
    def fee_summary(self, declaration):
        fee = Fee.objects.filter(declaration=declaration).first()
        if fee is None:
            return "—"
        return f"{fee.amount_vnd:,} VND · {fee.get_status_display()} · {fee.tariff} · {coefficients_in_words(fee)}"

    def get_actions(self, request):
        actions = super().get_actions(request)
        allowed = set()
        if is_gate_operator(request.user):
            allowed |= {"call_forward", "turn_back", "record_handover"}
        if is_supervisor(request.user):
            allowed |= {"release_held", "reject_held", "waive_arrival_hold"}
        return {name: action for name, action in actions.items() if name in allowed or name not in self.actions}

    @admin.action(description=_("Call forward to a lane"))
    def call_forward(self, request, queryset):
        return confirm_and_apply(
            self,
            request,
            queryset,
            title=_("Call forward to a lane"),
            form_class=LaneChoiceForm,
            form_kwargs={"lanes": selectors.lanes_for_call_forward(queryset)},
            apply=lambda d, data: declaration_call_forward(
                declaration_id=d.id, lane_id=data["lane"].id, actor=Actor.for_user(request.user)
            ),
        )

    @admin.action(description=_("Record a hand-over at a transfer point"))
    def record_handover(self, request, queryset):
        return confirm_and_apply(
            self,
            request,
            queryset,
            title=_("Record a hand-over at a transfer point"),
            form_class=HandoverForm,
            apply=lambda d, data: handover_record(
                yard=data["transfer_point"],
                plate=d.vehicle.plate,
                from_plate=data["from_plate"],
                containers=data["containers"],
                occurred_at=timezone.now(),
                actor=Actor.for_user(request.user),
            ),
        )

    @admin.action(description=_("Turn back"))
    def turn_back(self, request, queryset):
        return confirm_and_apply(
            self,
            request,
            queryset,
            title=_("Turn back"),
            apply=lambda d, data: declaration_turn_back(
                declaration_id=d.id, actor=Actor.for_user(request.user), reason=data["reason"]
            ),
        )

    @admin.action(description=_("Release held declaration"))
    def release_held(self, request, queryset):
        return confirm_and_apply(
            self,
            request,
            queryset,
            title=_("Release held declaration"),
            apply=lambda d, data: declaration_release(declaration_id=d.id, user=request.user, reason=data["reason"]),
        )

    @admin.action(description=_("Reject held declaration"))
    def reject_held(self, request, queryset):
        return confirm_and_apply(
            self,
            request,
            queryset,
            title=_("Reject held declaration"),
            apply=lambda d, data: declaration_reject_held(
                declaration_id=d.id, user=request.user, reason=data["reason"]
            ),
        )

    @admin.action(description=_("Waive the early-arrival hold"))
    def waive_arrival_hold(self, request, queryset):
        return confirm_and_apply(
            self,
            request,
            queryset,
            title=_("Waive the early-arrival hold"),
            apply=lambda d, data: arrival_hold_waive(declaration_id=d.id, user=request.user, reason=data["reason"]),
        )


@admin.register(DeclarationEvent)
class DeclarationEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "declaration", "seq", "event", "actor_kind", "actor", "version", "reason"]
    list_filter = ["event", "actor_kind"]
    search_fields = ["declaration__reference", "actor", "reason"]
    list_select_related = ["declaration"]


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    """The chains of lane actions, reference-data changes and the barrier's decisions (services.ledger)."""

    list_display = ["at", "chain", "seq", "kind", "subject", "actor", "short_hash"]
    list_filter = ["kind"]
    search_fields = ["chain", "subject", "actor"]

    @admin.display(description=_("hash"))
    def short_hash(self, record):
        return f"{record.hash[:16]}…"


@admin.register(AuditAnchor)
class AuditAnchorAdmin(ReadOnlyAdmin):
    """The signed roots over every chain; ``manage.py verify_audit`` proves them."""

    list_display = ["created_at", "chains", "events", "last_event_id", "last_record_id", "root"]


@admin.register(RiskSettings)
class RiskSettingsAdmin(ReasonedHistoryAdmin):
    list_display = ["__str__", "yellow_threshold", "red_threshold", "random_rate_percent", "random_rate_floor_percent"]

    def has_add_permission(self, request) -> bool:
        # One row of settings, added only by those allowed to change them.
        return super().has_add_permission(request) and not RiskSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(HsRiskRule)
class HsRiskRuleAdmin(ReasonedHistoryAdmin):
    list_display = ["hs_prefix", "weight", "description", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["hs_prefix", "description"]


@admin.register(ReferencePrice)
class ReferencePriceAdmin(ReasonedHistoryAdmin):
    list_display = ["hs_heading", "price_per_kg", "currency"]
    list_filter = ["currency"]
    search_fields = ["hs_heading"]


@admin.register(CompanyViolation)
class CompanyViolationAdmin(admin.ModelAdmin):
    list_display = ["company", "occurred_on", "description", "recorded_by"]
    search_fields = ["company__name", "company__tax_code", "description"]
    autocomplete_fields = ["company"]
    readonly_fields = ["recorded_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(WatchlistEntry)
class WatchlistEntryAdmin(ReasonedHistoryAdmin):
    list_display = ["__str__", "kind", "action", "document_number", "plate", "added_by", "added_at", "expires_at"]
    list_filter = ["kind", "action"]
    search_fields = ["full_name", "name_key", "document_number", "plate", "normalized_plate", "reason"]
    readonly_fields = ["added_by", "added_at"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # an entry is ended (its expiry, with a reason), never deleted: it is evidence

    def save_model(self, request, obj, form, change):
        if not change:
            obj.added_by = request.user  # who put someone on the list is part of the record
        super().save_model(request, obj, form, change)


@admin.register(RevokedCertificate)
class RevokedCertificateAdmin(ReasonedHistoryAdmin):
    list_display = ["number", "reason", "added_by", "revoked_at"]
    search_fields = ["number"]
    readonly_fields = ["added_by", "revoked_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.added_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Check)
class CheckAdmin(ReadOnlyAdmin):
    list_display = ["declaration", "kind", "version", "status", "outcome", "attempts", "started_at", "finished_at"]
    list_filter = ["kind", "status", "outcome"]
    search_fields = ["declaration__reference"]
    list_select_related = ["declaration"]


@admin.register(Inspection)
class InspectionAdmin(admin.ModelAdmin):
    """Each force sees its own inspections and records their results; supervisors see all."""

    list_display = ["declaration", "force", "kind", "status", "created_at", "resolved_by", "resolved_at"]
    list_filter = ["force", "kind", "status"]
    search_fields = ["declaration__reference", "declaration__vehicle__normalized_plate"]
    list_select_related = ["declaration", "resolved_by"]
    actions = ["record_pass", "record_fail"]
    fields = [
        "declaration",
        "version",
        "force",
        "kind",
        "status",
        "reasons_in_words",
        "reasons",
        "notes",
        "resolved_by",
        "resolved_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("reasons in plain words"))
    def reasons_in_words(self, inspection: Inspection) -> str:
        """Reason codes that have plain words are shown in the officer's language; others as written."""
        return format_html_join(
            mark_safe("<br>"),
            "{}",
            ((REASON_WORDS.get(reason.get("code"), reason.get("message", "")),) for reason in inspection.reasons),
        )

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if is_supervisor(request.user):
            return queryset
        forces = [force for force in FORCE_ROLES if can_act_for_force(request.user, force)]
        return queryset.filter(force__in=forces)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _record(self, request, queryset, *, passed: bool, title: str):
        return confirm_and_apply(
            self,
            request,
            queryset,
            title=title,
            apply=lambda inspection, data: inspection_record_result(
                inspection_id=inspection.id, user=request.user, passed=passed, notes=data["reason"]
            ),
        )

    @admin.action(description=_("Record result: passed"), permissions=["change"])
    def record_pass(self, request, queryset):
        return self._record(request, queryset, passed=True, title=_("Record result: passed"))

    @admin.action(description=_("Record result: failed (hold)"), permissions=["change"])
    def record_fail(self, request, queryset):
        return self._record(request, queryset, passed=False, title=_("Record result: failed (hold)"))
