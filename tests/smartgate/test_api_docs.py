"""The browsable API docs load nothing from another site, under a Content-Security-Policy."""

import re

from django.contrib.staticfiles import finders


def csp(response) -> dict:
    return {
        part.split()[0]: part.split()[1:]
        for part in (p.strip() for p in response["Content-Security-Policy"].split(";"))
        if part
    }


def test_swagger_ui_comes_from_this_site_under_a_csp(client, db):
    page = client.get("/api/v1/docs/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "https://" not in html and "//cdn" not in html
    sources = re.findall(r'<script src="([^"]+)"', html)
    assert any("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in src for src in sources)
    assert "<script>" not in html  # no inline script: the init script is a URL of its own
    policy = csp(page)
    assert policy["script-src"][0] == "'self'" and "'unsafe-inline'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    init = client.get(next(src for src in sources if "script" in src.split("?")[-1]))
    assert init.status_code == 200 and "SwaggerUIBundle" in init.content.decode()
    for src in sources:
        if src.startswith("/static/"):
            assert finders.find(src.removeprefix("/static/")), src


def test_redoc_loads_no_web_fonts(client, db):
    page = client.get("/api/v1/redoc/")

    assert page.status_code == 200
    assert "https://" not in page.content.decode()
    assert "drf_spectacular_sidecar/redoc" in page.content.decode()


def test_admin_pages_run_only_their_nonced_script(admin_client):
    page = admin_client.get("/admin/")

    nonce = re.search(r"'nonce-([^']+)'", page["Content-Security-Policy"]).group(1)
    assert f'<script nonce="{nonce}">' in page.content.decode()
    assert "onchange=" not in page.content.decode()
