from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    """Liveness: answers while the web process can serve a request; touches nothing else."""
    return JsonResponse({"status": "ok"})
