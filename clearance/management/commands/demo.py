"""The embedded default's demo: one login per role, and realistic traffic put through the real services."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from clearance import roles
from clearance.audit import Actor
from clearance.models import Company, Declaration, Fee, HsRiskRule, RiskSettings, WatchlistEntry
from clearance.services.companies import company_create
from clearance.services.declarations import declaration_submit
from clearance.services.dispatch import dispatch_run
from clearance.services.fees import payment_record
from clearance.services.gate import gate_decide
from clearance.services.yard import yard_arrival_record
from vehicles.models import Direction, Driver, GateDevice, Route, Yard
from vehicles.plates import parse_plate

DEMO_PASSWORD = "smartgate-demo"
USERS = [
    ("officer", None),  # superuser: sees everything
    # One login per force, named after it: customs, borderguard, quarantine.
    *((force.replace("_", ""), role) for force, role in roles.FORCE_ROLES.items()),
    ("operator", roles.GATE_OPERATOR),
    ("supervisor", roles.SUPERVISOR),
    ("fees", roles.FEE_ADMINISTRATOR),
]
GOODS = [
    ("08106000", "Sầu riêng tươi / fresh durian"),
    ("08109050", "Thanh long / dragon fruit"),
    ("07099990", "Rau tươi / fresh vegetables"),
    ("85171300", "Điện thoại di động / mobile phones"),
    ("94036090", "Đồ gỗ / wooden furniture"),
    ("08030000", "Chuối / bananas"),
]


class Command(BaseCommand):
    help = "Create one demo login per role (DEBUG only) and, with --traffic, a living gate."

    def add_arguments(self, parser):
        parser.add_argument("--traffic", action="store_true", help="put demo declarations through the services")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("Demo logins have a published password; they are only created with DJANGO_DEBUG on.")
        call_command("setup_roles", verbosity=0)
        User = get_user_model()
        for username, role in USERS:
            user, _created = User.objects.get_or_create(username=username)
            user.is_staff = True
            user.is_superuser = role is None
            user.set_password(DEMO_PASSWORD)
            user.save()
            if role:
                user.groups.set([Group.objects.get(name=role)])
        self.stdout.write("Demo logins at http://127.0.0.1:8000/admin/ (password for all: smartgate-demo):")
        for username, role in USERS:
            self.stdout.write(f"  {username:12} {role or 'superuser (everything)'}")
        if options["traffic"]:
            self.stdout.write(self.traffic())

    def traffic(self) -> str:
        if Declaration.objects.exists():
            return "Demo traffic: declarations exist already; left as they are."
        call_command("load_tariff", verbosity=0)
        RiskSettings.current()
        company = Company.objects.filter(tax_code="0101234565").first() or company_create(
            tax_code_text="0101234565", name="Công ty TNHH Vận tải Hữu Nghị"
        )
        company_create(
            tax_code_text="0100109106", name="Tổng công ty Kho vận Đồng Đăng", compliance_rating=Company.Rating.PRIORITY
        ) if not Company.objects.filter(tax_code="0100109106").exists() else None
        aeo = Company.objects.get(tax_code="0100109106")
        HsRiskRule.objects.get_or_create(
            hs_prefix="8517", defaults={"weight": 35, "description": "Phones: value fraud"}
        )
        HsRiskRule.objects.get_or_create(hs_prefix="9403", defaults={"weight": 65, "description": "Furniture: origin"})
        WatchlistEntry.objects.get_or_create(
            kind=WatchlistEntry.Kind.VEHICLE,
            plate="12C-999.99",
            defaults={"action": WatchlistEntry.Action.DENY, "reason": "Demo: stolen vehicle report"},
        )
        actor = Actor.system("demo")
        route = Route.objects.select_related("gate").get(code="1119-1120")
        arrival = timezone.now() + timedelta(hours=4)
        created = []
        for index in range(24):
            hs_code, description = GOODS[index % len(GOODS)]
            plate = "12C-999.99" if index == 23 else f"12C-{100 + index:03d}.{index:02d}"
            direction = Direction.IMPORT if index % 4 == 3 else Direction.EXPORT
            created.append(
                declaration_submit(
                    company=aeo if index % 5 == 0 else company,
                    actor=actor,
                    data={
                        "direction": direction,
                        "route": route,
                        "expected_arrival": arrival,
                        "customs_declarations": [
                            {"number": f"30599{index:07d}", "type": "B11" if direction == Direction.EXPORT else "A12"}
                        ],
                        "vehicle": {
                            "plate": parse_plate(plate, country="VN"),
                            "max_gross_weight_kg": 40000,
                            "permit_number": f"VN-CN-2026-{index:05d}",
                            "permit_expires": arrival.date() + timedelta(days=200),
                        },
                        "driver": {
                            "full_name": ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Đức Dũng"][index % 4],
                            "nationality": "VN",
                            "document_type": Driver.DocumentType.PASSPORT,
                            "document_number": f"C{index:07d}",
                            "document_expires": arrival.date() + timedelta(days=900),
                        },
                        "containers": [],
                        "goods": [
                            {
                                "hs_code": hs_code,
                                "description": description,
                                "quantity": Decimal(10000),
                                "unit": "KGM",
                                "gross_weight_kg": Decimal(12000),
                                "value": Decimal(30000),
                                "currency": "USD",
                                "origin_country": "VN",
                            }
                        ],
                        "quarantine_certificates": []
                        if index % 7 == 6
                        else [
                            {
                                "number": f"KD-2026-{index:06d}",
                                "issued_on": arrival.date() - timedelta(days=2),
                                "expires_on": arrival.date() + timedelta(days=20),
                            }
                        ],
                    },
                )
            )
        yards = {
            Direction.EXPORT: Yard.objects.get(code="1119-export-yard"),
            Direction.IMPORT: Yard.objects.get(code="1119-import-yard"),
        }
        # Sixteen of the trucks were declared yesterday, so their notice has run when they reach the yard;
        # the last two arriving come within their notice and wait under an early-arrival hold.
        Declaration.objects.filter(id__in=[d.id for d in created[:16]]).update(
            created_at=timezone.now() - timedelta(days=1)
        )
        for declaration in created[:18]:
            declaration.refresh_from_db(fields=["created_at"])
            yard_arrival_record(
                plate_read=declaration.vehicle.plate,
                yard=yards[declaration.direction],
                occurred_at=timezone.now() - timedelta(minutes=5 * (18 - created.index(declaration))),
                source="demo",
                actor=actor,
            )
        for fee in Fee.objects.select_related("declaration")[:8]:
            payment_record(
                provider_payment_id=f"demo-{fee.id}",
                reference=fee.declaration.reference,
                amount_vnd=Decimal(fee.amount_vnd),
                payload={"demo": True},
            )
        called = dispatch_run()
        device, _ = GateDevice.objects.get_or_create(
            kind=GateDevice.Kind.LANE_GATE, name="demo camera EX1", lane=route.lanes.get(code="1119-EX1")
        )
        for declaration in called[:2]:
            if declaration.lane_id == device.lane_id:
                gate_decide(
                    device=device, plate=declaration.vehicle.plate, read_at=timezone.now(), confidence=Decimal("0.98")
                )
        statuses = {status: Declaration.objects.filter(status=status).count() for status in Declaration.Status.values}
        # Counted from the record: the dispatcher asked for after each arrival has called most of them already.
        at_lanes = Declaration.objects.filter(
            stage__in=[Declaration.Stage.CALLED, Declaration.Stage.IN_LANE, Declaration.Stage.CROSSED]
        ).count()
        held = Declaration.objects.filter(arrival_held_until__gt=timezone.now()).count()
        return (
            f"Demo traffic: {len(created)} declarations {statuses}; {at_lanes} called to lanes; {held} waiting "
            f"under an early-arrival hold."
        )
