"""Pages of the integrations app (admin role)."""

from django.urls import path

from integrations import views

urlpatterns = [
    path("integrations/", views.integrations_home, name="integrations"),
    path("integrations/webhooks/new/", views.endpoint_new, name="integrations-endpoint-new"),
    path("integrations/webhooks/<int:pk>/", views.endpoint_detail, name="integrations-endpoint"),
    path(
        "integrations/webhooks/<int:pk>/test/",
        views.endpoint_send_test,
        name="integrations-endpoint-test",
    ),
    path(
        "integrations/webhooks/<int:pk>/rotate/",
        views.endpoint_rotate,
        name="integrations-endpoint-rotate",
    ),
    path(
        "integrations/webhooks/<int:pk>/toggle/",
        views.endpoint_toggle,
        name="integrations-endpoint-toggle",
    ),
    path("integrations/sources/new/", views.source_new, name="integrations-source-new"),
    path(
        "integrations/sources/<int:pk>/rotate/",
        views.source_rotate,
        name="integrations-source-rotate",
    ),
    path(
        "integrations/sources/<int:pk>/toggle/",
        views.source_toggle,
        name="integrations-source-toggle",
    ),
]
