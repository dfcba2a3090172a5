import io

from django.core.management import call_command


def test_admin_login_page_renders(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert b"smartgate" in response.content


def test_demo_officer_logs_in_and_sees_routes_with_lanes(client, reference, settings):
    settings.DEBUG = True  # pytest-django turns DEBUG off; the demo officer exists only in the embedded default
    out = io.StringIO()
    call_command("demo", stdout=out)
    assert "smartgate-demo" in out.getvalue()
    username, password = "officer", "smartgate-demo"

    response = client.post("/admin/login/?next=/admin/", {"username": username, "password": password}, follow=True)
    assert response.status_code == 200
    assert response.context["user"].username == username

    routes = client.get("/admin/vehicles/route/")
    assert b"1119-1120" in routes.content and b"1088/2-1089" in routes.content
    lanes = client.get("/admin/vehicles/lane/?q=1119-")
    assert b"1119-AV1" in lanes.content and b"1119-REV1" in lanes.content


def test_admin_list_pages_of_the_physical_world_render(admin_client, reference):
    for page in ["bordergate", "route", "lane", "yard", "vehicle", "trailer", "driver", "movement"]:
        response = admin_client.get(f"/admin/vehicles/{page}/?q=12C-123.45")
        assert response.status_code == 200, page


def test_health_endpoint(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_admin_pages_of_clearance_render(admin_client, reference):
    for page in [
        "company",
        "companyapikey",
        "declaration",
        "declarationevent",
        "risksettings",
        "hsriskrule",
        "referenceprice",
        "companyviolation",
        "watchlistentry",
        "revokedcertificate",
        "check",
        "inspection",
    ]:
        assert admin_client.get(f"/admin/clearance/{page}/?q=12C-123.45").status_code == 200, page
        assert admin_client.get(f"/admin/clearance/{page}/").status_code == 200, page


def test_watchlist_entry_records_who_added_it(admin_client, admin_user, db):
    from clearance.models import WatchlistEntry

    response = admin_client.post(
        "/admin/clearance/watchlistentry/add/",
        {
            "kind": "person",
            "full_name": "Nguyễn Văn Bình",
            "action": "deny",
            "reason": "Court order 12/2026",
            "document_number": "",
            "plate": "",
            "expires_at_0": "",
            "expires_at_1": "",
            "change_reason": "Court order received",
        },
    )

    assert response.status_code == 302
    entry = WatchlistEntry.objects.get()
    assert (entry.added_by, entry.name_key) == (admin_user, "nguyen van binh")
