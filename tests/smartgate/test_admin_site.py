"""The admin site is smartgate's own, installed as Django's default: registrations and the gate's screens
live on the one site every `admin.site` reference means."""

from django.contrib import admin
from django.urls import reverse

from clearance.models import Declaration
from smartgate.admin import SmartgateAdminSite
from vehicles.models import Lane


def test_the_default_admin_site_is_smartgates():
    assert isinstance(admin.site, SmartgateAdminSite)
    assert admin.site.is_registered(Declaration) and admin.site.is_registered(Lane)


def test_the_gate_screens_are_on_the_admin_site():
    assert reverse("admin:lane-board", args=[7]) == "/admin/board/7/"
    assert reverse("admin:lane-board-data", args=[7]) == "/admin/board/7/data.json"
    assert reverse("admin:lane-action", args=[3, "close"]) == "/admin/board/lane/3/close/"
    assert reverse("admin:dashboard") == "/admin/dashboard/"


def test_the_admin_index_carries_the_gates_header_and_a_dashboard_link(admin_client):
    response = admin_client.get("/admin/")

    assert response.status_code == 200
    assert response.context["site_header"] == "smartgate — Hữu Nghị smart border gate"
    assert response.context["title"] == "Gate administration"
    assert reverse("admin:dashboard").encode() in response.content


def test_the_dashboard_needs_a_staff_login(client, db):
    response = client.get(reverse("admin:dashboard"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_dashboard_colours_each_customs_channel(admin_client):
    content = admin_client.get(reverse("admin:dashboard")).content.decode()

    assert all(colour in content for colour in ("#198754", "#ffc107", "#dc3545"))
