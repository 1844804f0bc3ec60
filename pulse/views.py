import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

# The classic text format every Prometheus version reads; generate_latest writes exactly that.
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from pulse import health


@never_cache
@require_GET
def healthz(request):
    """Liveness: answers while the web process can serve a request; touches nothing else."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Readiness: database, Redis, a worker answering ping, a fresh beat heartbeat. 503 when any fails."""
    report = health.readiness()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


@never_cache
@require_GET
def metrics(request):
    """Prometheus text format; when PULSE_METRICS_TOKEN is set, only with that bearer token."""
    from pulse.metrics import registry

    token = settings.PULSE_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            response = HttpResponse(
                "Send the metrics token as 'Authorization: Bearer <PULSE_METRICS_TOKEN>'.\n",
                status=401,
                content_type="text/plain",
            )
            response["WWW-Authenticate"] = 'Bearer realm="pulse-metrics"'
            return response
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4)
