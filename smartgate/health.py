from django.db import connection
from django.http import JsonResponse


def health(request):
    """Liveness and database reachability, for load balancers and docker compose health checks."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def ping(request):
    """The smallest JSON view: the baseline the gate-decision benchmark compares itself with."""
    return JsonResponse({"pong": True})
