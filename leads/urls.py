"""Pages of this app."""

from django.urls import path  # noqa: F401

from leads import views

urlpatterns = [
    path("definitions/", views.definition_list, name="definition-list"),
    path("definitions/new/", views.definition_new, name="definition-create"),
    path("definitions/<int:pk>/", views.definition_detail, name="definition-detail"),
    path("definitions/<int:pk>/edit/", views.definition_edit, name="definition-edit"),
    path("definitions/<int:pk>/try/", views.definition_try, name="definition-try"),
]
