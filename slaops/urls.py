from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as accounts_views
from accounts.api import MeView, ObtainTokenView, RevokeTokenView
from accounts.api_urls import urlpatterns as accounts_api
from calendars.api_urls import urlpatterns as calendars_api
from funnel.api_urls import urlpatterns as funnel_api
from health.views import healthz
from integrations.api_urls import urlpatterns as integrations_api
from leads.api_urls import urlpatterns as leads_api
from sla.api_urls import urlpatterns as sla_api
from slaops import views

api_patterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("auth/token/revoke/", RevokeTokenView.as_view(), name="api-token-revoke"),
    path("me/", MeView.as_view(), name="api-me"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # The apps' routes share the "api" namespace so their names ("lead-list") never
    # collide with the pages' names.
    path(
        "",
        include(
            (
                [
                    *calendars_api,
                    *accounts_api,
                    *funnel_api,
                    *leads_api,
                    *sla_api,
                    *integrations_api,
                ],
                "api",
            )
        ),
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("", include("calendars.urls")),
    path("", include("funnel.urls")),
    path("", include("leads.urls")),
    path("", include("sla.urls")),
    path("", include("integrations.urls")),
    path("", include("accounts.urls")),
]

urlpatterns += [
    path("settings/", accounts_views.person_settings, name="person-settings"),
]

handler500 = "slaops.views.server_error"
handler404 = "core.api.not_found"
handler400 = "core.api.bad_request"
