"""Token login for API clients."""

from axes.exceptions import AxesBackendPermissionDenied
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.auth import token_issue
from accounts.models import User

LOCKED_OUT = (
    "Too many failed logins for this account or from this address: logging in is paused "
    "for a while. Try again later, or ask an admin to reset the password."
)


class ObtainTokenView(ObtainAuthToken):
    """Exchange a username and password for an API token (throttled per client)."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=inline_serializer(
            "TokenRequest",
            {"username": serializers.CharField(), "password": serializers.CharField()},
        ),
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            400: OpenApiResponse(description="Wrong username or password."),
            429: OpenApiResponse(description="Too many failed logins: locked out for a while."),
        },
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except (ValidationError, AxesBackendPermissionDenied):
            # django-axes refused (authenticate() turns its refusal into "no user"): say so.
            if getattr(request, "axes_locked_out", False) or getattr(
                request._request, "axes_locked_out", False
            ):
                return Response({"detail": LOCKED_OUT}, status=status.HTTP_429_TOO_MANY_REQUESTS)
            raise
        token = token_issue(serializer.validated_data["user"])
        return Response({"token": token.key})


class RevokeTokenView(APIView):
    """End the caller's API tokens (every one they hold); the next request must log in."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request, *args, **kwargs):
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(source="get_full_name", read_only=True)
    teams = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = User
        fields = ["username", "full_name", "role", "teams"]


class MeView(generics.RetrieveAPIView):
    """Who the caller is: username, role and teams."""

    serializer_class = MeSerializer

    def get_object(self):
        return self.request.user
