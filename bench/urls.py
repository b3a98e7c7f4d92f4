"""The product's URLs plus one baseline endpoint that exists only in benchmark runs.

`POST /bench/constant/` goes through the same middleware, token authentication,
permission check and throttling as every API view and answers a constant: the cost of the
framework alone, against which the dose-logging endpoint is compared.
"""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker.urls import urlpatterns as product_urlpatterns


class ConstantView(APIView):
    def post(self, request):
        return Response({"ok": True, "user": request.user.pk}, status=201)


urlpatterns = [
    path("bench/constant/", ConstantView.as_view(), name="bench-constant"),
    *product_urlpatterns,
]
