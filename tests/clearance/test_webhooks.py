"""Webhook subscriptions and deliveries, against a real HTTP receiver that verifies every delivery with
the standardwebhooks library."""

from datetime import timedelta

import pytest
import standardwebhooks
from django.test import override_settings
from django.utils import timezone
from prometheus_client import REGISTRY

from clearance.models import CompanyEvent, Declaration, IdempotencyRecord, WebhookDelivery, WebhookSubscription
from clearance.services import webhooks
from tests.factories import DeclarationFactory
from tests.webhook_receiver import Receiver

Type = CompanyEvent.Type
HOOKS = "/api/v1/webhooks/"


@pytest.fixture
def receiver():
    made = []

    def make(answers=()):
        made.append(Receiver(answers=list(answers)))
        return made[-1]

    yield make
    for one in made:
        one.close()


def subscribe(api, url, events=("*",), **extra):
    response = api.post(HOOKS, {"url": url, "events": list(events), **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def deliver_all(*, at=None):
    """What the sweep does every few seconds: fan out what is written, send what is due (tasks run
    in-process here)."""
    webhooks.webhooks_sweep(now=(at or timezone.now()) + timedelta(minutes=1))


# --- Subscriptions ---------------------------------------------------------------------------------------


def test_the_secret_is_shown_once_and_never_read_back(api, receiver):
    created = subscribe(api, receiver().url, events=[Type.VEHICLE_CROSSED], description="ERP")

    assert created["secret"].startswith("whsec_")
    standardwebhooks.Webhook(created["secret"])  # a secret every Standard Webhooks SDK takes
    assert created["events"] == [Type.VEHICLE_CROSSED] and created["is_active"] is True
    listed = api.get(HOOKS).json()
    assert [hook["id"] for hook in listed] == [created["id"]]
    assert "secret" not in listed[0] and "secret" not in api.get(f"{HOOKS}{created['id']}/").json()
    stored = WebhookSubscription.objects.get()
    assert created["secret"] not in stored.secret_encrypted  # encrypted at rest


def test_unknown_event_types_are_refused_by_name(api, receiver):
    response = api.post(HOOKS, {"url": receiver().url, "events": ["vehicle.flew"]}, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "events[0]"


def test_another_companys_subscription_is_404_everywhere(api, other_api, receiver):
    theirs = subscribe(other_api, receiver().url)["id"]

    assert api.get(HOOKS).json() == []
    assert api.get(f"{HOOKS}{theirs}/").status_code == 404
    assert api.patch(f"{HOOKS}{theirs}/", {"description": "mine"}, format="json").status_code == 404
    assert api.post(f"{HOOKS}{theirs}/rotate-secret/").status_code == 404
    assert api.post(f"{HOOKS}{theirs}/test/").status_code == 404
    assert api.get(f"{HOOKS}{theirs}/deliveries/").status_code == 404
    assert api.delete(f"{HOOKS}{theirs}/").status_code == 404
    assert WebhookSubscription.objects.filter(id=theirs, description="").exists()


def test_patch_and_delete(api, receiver):
    hook = subscribe(api, receiver().url)

    changed = api.patch(f"{HOOKS}{hook['id']}/", {"events": [Type.FEE_PAID], "is_active": False}, format="json")

    assert changed.status_code == 200
    assert (changed.json()["events"], changed.json()["is_active"]) == ([Type.FEE_PAID], False)
    assert api.delete(f"{HOOKS}{hook['id']}/").status_code == 204
    assert not WebhookSubscription.objects.exists()


@override_settings(SMARTGATE_WEBHOOK_ALLOW_PRIVATE=False)
@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hooks",  # not https
        "https://127.0.0.1/hooks",  # loopback
        "https://10.1.2.3/hooks",  # private
        "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
        "https://[::1]/hooks",
        "https://localhost/hooks",
        "https://user:pw@93.184.215.14/hooks",  # credentials in the URL
        "https://no-such-host.invalid/hooks",
    ],
)
def test_targets_must_be_https_and_public(api, url):
    response = api.post(HOOKS, {"url": url, "events": ["*"]}, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["errors"][0]["field"] == "url"
    assert response.json()["errors"][0]["code"] in {"webhook_target_refused", "invalid"}
    assert not WebhookSubscription.objects.exists()


@override_settings(SMARTGATE_WEBHOOK_ALLOW_PRIVATE=False)
def test_a_public_https_target_is_accepted(api, monkeypatch):
    monkeypatch.setattr(webhooks.socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("93.184.215.14", 443))])

    assert api.post(HOOKS, {"url": "https://erp.example.com/hooks", "events": ["*"]}, format="json").status_code == 201


def test_the_target_is_checked_again_at_delivery_time(api, receiver, settings, reference):
    target = receiver()
    subscribe(api, target.url)
    settings.SMARTGATE_WEBHOOK_ALLOW_PRIVATE = False  # as if the name now resolved to a private address

    DeclarationFactory(stage=Declaration.Status.CHECKING)
    deliver_all()

    assert target.received == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING and delivery.attempts == 1
    assert "https" in delivery.attempt_log.get().error


# --- Delivery ----------------------------------------------------------------------------------------------


def test_every_event_of_a_journey_arrives_signed_and_verifies(api, receiver, reference, tariff):
    target = receiver()
    secret = subscribe(api, target.url)["secret"]

    declaration = DeclarationFactory(stage=Declaration.Stage.CROSSED)
    deliver_all()

    payloads = target.payloads(secret)  # each one verified with standardwebhooks
    events = list(CompanyEvent.objects.filter(declaration_id=declaration.id).order_by("id"))
    assert sorted(p["data"]["id"] for p in payloads) == sorted(e.public_id for e in events)
    assert {request.webhook_id for request in target.received} == {e.public_id for e in events}
    crossed = next(p for p in payloads if p["type"] == Type.VEHICLE_CROSSED)
    assert crossed["data"]["declaration"] == {"id": declaration.id, "reference": declaration.reference}
    assert crossed["timestamp"].endswith("Z") and crossed["data"]["stage"] == "crossed"
    assert {request.path for request in target.received} == {"/hooks"}
    assert WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DELIVERED).count() == len(events)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        target.received[0].verified(webhooks.secret_new())  # another secret does not verify


def test_only_the_types_subscribed_are_sent(api, receiver, reference, tariff):
    target = receiver()
    secret = subscribe(api, target.url, events=[Type.DECLARATION_CLEARED, Type.VEHICLE_ARRIVED])["secret"]

    DeclarationFactory(stage=Declaration.Stage.IN_YARD)
    deliver_all()

    assert [p["type"] for p in target.payloads(secret)] == [Type.DECLARATION_CLEARED, Type.VEHICLE_ARRIVED]


def test_500_three_times_then_2xx_is_the_same_webhook_id_each_time(api, receiver, reference, time_machine):
    target = receiver(answers=[500, 500, 500])
    target.secret = subscribe(api, target.url, events=[Type.DECLARATION_CREATED])["secret"]
    time_machine.move_to(timezone.now(), tick=True)

    DeclarationFactory(stage=Declaration.Status.CHECKING)
    deliver_all()
    delivery = WebhookDelivery.objects.get()
    for _ in range(3):
        delivery.refresh_from_db()
        time_machine.move_to(delivery.next_attempt_at + timedelta(seconds=1), tick=True)
        deliver_all()

    assert [request.webhook_id for request in target.received] == [target.received[0].webhook_id] * 4
    assert [request.verify_error for request in target.received] == [""] * 4  # verified on arrival
    assert len({request.payload["data"]["id"] for request in target.received}) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.DELIVERED, 4)
    log = api.get(f"{HOOKS}{delivery.subscription_id}/deliveries/").json()["results"][0]
    assert [a["status_code"] for a in log["attempt_log"]] == [500, 500, 500, 200]
    assert log["attempt_log"][0]["response_body"] == "answered 500"
    assert log["event_id"] == target.received[0].webhook_id


def test_backoff_grows_with_jitter_over_more_than_a_day():
    delays = [webhooks.retry_delay(n) for n in range(1, webhooks.MAX_ATTEMPTS)]

    assert all(later > earlier for earlier, later in zip(delays[:4], delays[1:5], strict=True))
    assert sum(delays, timedelta()) >= timedelta(hours=24)
    assert len({webhooks.retry_delay(3) for _ in range(5)}) > 1  # jitter


def test_a_delivery_that_keeps_failing_is_given_up_after_the_last_attempt(api, receiver, reference, time_machine):
    target = receiver(answers=[503] * 20)
    subscribe(api, target.url, events=[Type.DECLARATION_CREATED])
    time_machine.move_to(timezone.now(), tick=True)

    DeclarationFactory(stage=Declaration.Status.CHECKING)
    deliver_all()
    delivery = WebhookDelivery.objects.get()
    while delivery.next_attempt_at is not None:
        time_machine.move_to(delivery.next_attempt_at + timedelta(seconds=1), tick=True)
        deliver_all()
        delivery.refresh_from_db()

    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.FAILED, webhooks.MAX_ATTEMPTS)
    assert len(target.received) == webhooks.MAX_ATTEMPTS
    assert delivery.attempt_log.last().at - delivery.attempt_log.first().at >= timedelta(hours=24)


def test_410_disables_the_subscription_and_tells_its_alert_address(
    api, receiver, reference, mailoutbox, django_capture_on_commit_callbacks
):
    target = receiver(answers=[410])
    hook = subscribe(api, target.url, alert_email="it@forwarder.example")

    DeclarationFactory(stage=Declaration.Status.CHECKING)
    with django_capture_on_commit_callbacks(execute=True):
        deliver_all()
    deliver_all()

    assert len(target.received) == 1
    body = api.get(f"{HOOKS}{hook['id']}/").json()
    assert body["is_active"] is False and "410" in body["disabled_reason"]
    assert [mail.to for mail in mailoutbox] == [["it@forwarder.example"]]
    assert target.url in mailoutbox[0].subject and "410" in mailoutbox[0].body


def test_a_redirect_is_not_followed(api, receiver, reference):
    elsewhere = receiver()
    target = receiver(answers=[302])
    target.redirect_to = elsewhere.url
    subscribe(api, target.url, events=[Type.DECLARATION_CREATED])

    DeclarationFactory(stage=Declaration.Status.CHECKING)
    deliver_all()

    assert len(target.received) == 1 and elsewhere.received == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.attempt_log.get().status_code == 302


def test_a_company_never_receives_another_companys_event(api, other_api, other_company, receiver, reference):
    ours, theirs = receiver(), receiver()
    our_secret = subscribe(api, ours.url)["secret"]
    their_secret = subscribe(other_api, theirs.url)["secret"]

    mine = DeclarationFactory(n=1, stage=Declaration.Status.CHECKING)
    other = DeclarationFactory(n=2, stage=Declaration.Status.CHECKING, company=other_company)
    deliver_all()

    assert {p["data"]["declaration"]["id"] for p in ours.payloads(our_secret)} == {mine.id}
    assert {p["data"]["declaration"]["id"] for p in theirs.payloads(their_secret)} == {other.id}


def test_a_failing_receiver_does_not_hold_back_another(api, other_api, other_company, receiver, reference):
    failing, working = receiver(answers=[500] * 10), receiver()
    subscribe(api, failing.url)
    secret = subscribe(other_api, working.url)["secret"]

    DeclarationFactory(n=1, stage=Declaration.Status.CHECKING)
    other = DeclarationFactory(n=2, stage=Declaration.Status.CHECKING, company=other_company)
    deliver_all()

    assert {p["data"]["declaration"]["id"] for p in working.payloads(secret)} == {other.id}
    assert not WebhookDelivery.objects.filter(
        subscription__company=other_company, status=WebhookDelivery.Status.PENDING
    ).exists()


def test_after_a_rotation_both_secrets_verify_for_a_day(api, receiver, reference):
    target = receiver()
    hook = subscribe(api, target.url)
    rotated = api.post(f"{HOOKS}{hook['id']}/rotate-secret/")
    assert rotated.status_code == 200 and rotated.json()["secret"] != hook["secret"]

    api.post(f"{HOOKS}{hook['id']}/test/")
    deliver_all()

    ping = target.received[-1]
    assert ping.verified(hook["secret"])["type"] == Type.PING
    assert ping.verified(rotated.json()["secret"])["type"] == Type.PING
    subscription = WebhookSubscription.objects.get()
    later = subscription.previous_secret_expires_at + timedelta(seconds=1)
    assert len(webhooks.signing_secrets(subscription, now=later)) == 1


def test_ping_then_redeliver_sends_the_same_webhook_id(api, receiver, django_capture_on_commit_callbacks):
    target = receiver()
    hook = subscribe(api, target.url)

    with django_capture_on_commit_callbacks(execute=True):
        ping = api.post(f"{HOOKS}{hook['id']}/test/")
    assert ping.status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        again = api.post(f"{HOOKS}{hook['id']}/deliveries/{ping.json()['id']}/redeliver/")

    assert again.status_code == 202
    assert [r.webhook_id for r in target.received] == [ping.json()["event_id"]] * 2
    assert target.payloads(hook["secret"])[0]["data"]["subscription"] == hook["id"]
    assert CompanyEvent.objects.filter(type=Type.PING).count() == 1  # one event, sent twice


# --- The officers' screens ---------------------------------------------------------------------------------


def test_a_supervisor_reads_subscriptions_and_deliveries_without_the_secret(api, receiver, client, reference):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.urls import reverse

    call_command("setup_roles", stdout=open("/dev/null", "w"))
    target = receiver(answers=[500])
    hook = subscribe(api, target.url)
    DeclarationFactory(stage=Declaration.Status.CHECKING)
    deliver_all()
    user = get_user_model().objects.create_user(username="sup", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Supervisor"))
    client.force_login(user)
    delivery = WebhookDelivery.objects.get()

    subscriptions = client.get(reverse("admin:clearance_webhooksubscription_changelist"))
    detail = client.get(reverse("admin:clearance_webhooksubscription_change", args=[hook["id"]]))
    deliveries = client.get(reverse("admin:clearance_webhookdelivery_changelist"))
    one = client.get(reverse("admin:clearance_webhookdelivery_change", args=[delivery.id]))

    assert [r.status_code for r in (subscriptions, detail, deliveries, one)] == [200] * 4
    assert target.url in subscriptions.content.decode()
    assert hook["secret"] not in detail.content.decode()
    assert "answered 500" in one.content.decode()
    assert client.post(reverse("admin:clearance_webhooksubscription_delete", args=[hook["id"]])).status_code == 403


def test_a_subscription_failing_for_three_days_is_disabled(api, receiver, reference, time_machine):
    target = receiver(answers=[500] * 20)
    hook = subscribe(api, target.url, events=[Type.DECLARATION_CREATED])
    time_machine.move_to(timezone.now(), tick=True)
    DeclarationFactory(n=1, stage=Declaration.Status.CHECKING)
    deliver_all()
    assert WebhookSubscription.objects.get().failing_since is not None

    time_machine.move_to(timezone.now() + timedelta(days=3, minutes=1), tick=True)
    DeclarationFactory(n=2, stage=Declaration.Status.CHECKING)
    deliver_all()

    body = api.get(f"{HOOKS}{hook['id']}/").json()
    assert body["is_active"] is False and "3 days" in body["disabled_reason"]
    sent = len(target.received)
    deliver_all(at=timezone.now() + timedelta(days=1))
    assert len(target.received) == sent  # nothing goes to a disabled subscription

    resumed = api.patch(f"{HOOKS}{hook['id']}/", {"is_active": True}, format="json").json()
    assert resumed["is_active"] is True and resumed["disabled_reason"] == ""


def test_a_slow_receiver_holds_only_its_share_of_the_workers(
    api, other_api, other_company, receiver, reference, settings
):
    settings.SMARTGATE_WEBHOOK_MAX_IN_FLIGHT = 2
    slow, other = receiver(), receiver()
    subscribe(api, slow.url, events=[Type.DECLARATION_CREATED])
    secret = subscribe(other_api, other.url, events=[Type.DECLARATION_CREATED])["secret"]
    for n in (1, 2, 3):
        DeclarationFactory(n=n, stage=Declaration.Status.CHECKING)
    DeclarationFactory(n=4, stage=Declaration.Status.CHECKING, company=other_company)
    for event in CompanyEvent.objects.order_by("id"):
        webhooks.event_fan_out(event_id=event.id)
    slow_deliveries = list(WebhookDelivery.objects.exclude(subscription__company=other_company).order_by("id"))
    # Two attempts of the slow receiver are still running (claimed by workers).
    WebhookDelivery.objects.filter(id__in=[d.id for d in slow_deliveries[:2]]).update(
        claimed_until=timezone.now() + timedelta(seconds=30)
    )

    assert webhooks.webhook_deliver(delivery_id=slow_deliveries[2].id) is None  # waits for a free slot
    deliver_all()

    assert slow.received == []
    assert len(other.payloads(secret)) == 1  # another company's delivery is not held back


def test_delivery_attempts_are_counted_for_prometheus_by_outcome(api, receiver, reference, time_machine):
    target = receiver(answers=[500])
    target.secret = subscribe(api, target.url, events=[Type.DECLARATION_CREATED])["secret"]
    time_machine.move_to(timezone.now(), tick=True)
    before = {outcome: _attempts(outcome) for outcome in ("delivered", "refused")}

    DeclarationFactory(stage=Declaration.Status.CHECKING)
    deliver_all()
    delivery = WebhookDelivery.objects.get()
    time_machine.move_to(delivery.next_attempt_at + timedelta(seconds=1), tick=True)
    deliver_all()

    assert _attempts("refused") - before["refused"] == 1
    assert _attempts("delivered") - before["delivered"] == 1


def _attempts(outcome: str) -> float:
    return REGISTRY.get_sample_value("smartgate_webhook_attempts_total", {"outcome": outcome}) or 0.0


def test_a_subscription_sent_again_with_its_idempotency_key_is_created_once(api, other_api, receiver):
    body = {"url": receiver().url, "events": ["*"], "description": "ERP"}

    first = api.post(HOOKS, body, format="json", HTTP_IDEMPOTENCY_KEY="hook-1")
    again = api.post(HOOKS, body, format="json", HTTP_IDEMPOTENCY_KEY="hook-1")
    changed = api.post(HOOKS, {**body, "description": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY="hook-1")
    theirs = other_api.post(HOOKS, body, format="json", HTTP_IDEMPOTENCY_KEY="hook-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert changed.status_code == 422
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]  # keys are per company
    assert WebhookSubscription.objects.count() == 2
    # The replay reads the secret again from the subscription: the idempotency record never holds it.
    assert all("secret" not in (record.response_body or {}) for record in IdempotencyRecord.objects.all())
    assert first.json()["secret"] not in str(list(IdempotencyRecord.objects.values_list("response_body", flat=True)))
