"""Read and tidy in the admin; endpoints and sources are made on the Integrations page,
which shows their secret once."""

from django.contrib import admin

from integrations.models import EventSource, InboundEvent, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "active", "consecutive_failures", "disabled_at", "created_at"]
    exclude = ["secret_encrypted", "previous_secret_encrypted"]
    readonly_fields = ["previous_secret_expires_at", "failing_since", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "endpoint", "state", "attempts", "last_status_code", "sent_at"]
    list_filter = ["state"]
    raw_id_fields = ["event", "endpoint"]


@admin.register(EventSource)
class EventSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "agreement", "user", "active", "last_seen_at"]
    exclude = ["secret_encrypted", "previous_secret_encrypted"]
    readonly_fields = ["previous_secret_expires_at", "created_at", "last_seen_at"]

    def has_add_permission(self, request):
        return False


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    list_display = ["external_id", "source", "type", "lead", "applied_at"]
    raw_id_fields = ["lead"]
