"""Admin for alerts (with their history), delivery channels (with a "send test" action and
their failing status) and the delivery log (with every attempt).

Alerts change only through the services (acknowledge, resolve, the sweeps), so every change
is a conditional update with an event; here they are read-only apart from the acknowledge
action. A failing channel is shown (list column, filter), never switched off by the system.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils import timezone
from django.utils.html import format_html

from . import services
from .models import (
    Alert,
    AlertEvent,
    AlertStatus,
    Channel,
    ChannelKind,
    Delivery,
    DeliveryAttempt,
    DeliveryPurpose,
    DeliveryStatus,
)


class OverdueFilter(admin.SimpleListFilter):
    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "Overdue (open past its deadline)"), ("no", "Not overdue")]

    def queryset(self, request, queryset):
        overdue = {"status": AlertStatus.OPEN, "due_by__lte": timezone.now()}
        if self.value() == "yes":
            return queryset.filter(**overdue)
        if self.value() == "no":
            return queryset.exclude(**overdue)
        return queryset


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "actor", "data"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = [
        "channel",
        "purpose",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "level",
        "kind",
        "status",
        "patient",
        "care_team",
        "occurrences",
        "created_at",
        "due_by",
        "is_overdue_column",
        "escalated_at",
    ]
    list_filter = ["level", "kind", "status", "care_team", OverdueFilter]
    list_select_related = ["patient", "care_team"]
    search_fields = ["=id", "=patient__nhs_number", "dedup_key"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    inlines = [AlertEventInline, DeliveryInline]
    actions = ["acknowledge_selected"]
    readonly_fields = [f.name for f in Alert._meta.fields]

    @admin.display(boolean=True, description="overdue")
    def is_overdue_column(self, alert: Alert) -> bool:
        return alert.is_overdue()

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the record of what the team was told is kept

    @admin.action(description="Acknowledge selected open alerts")
    def acknowledge_selected(self, request, queryset):
        done = 0
        for alert in queryset.filter(status=AlertStatus.OPEN):
            services.alert_acknowledge(alert=alert, user=request.user)
            done += 1
        self.message_user(request, f"{done} alert(s) acknowledged.", messages.SUCCESS)


class FailingFilter(admin.SimpleListFilter):
    title = "delivery health"
    parameter_name = "failing"

    def lookups(self, request, model_admin):
        return [("yes", "Failing"), ("no", "Working")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(consecutive_failures__gte=Channel.FAILING_AFTER)
        if self.value() == "no":
            return queryset.filter(consecutive_failures__lt=Channel.FAILING_AFTER)
        return queryset


class ChannelForm(forms.ModelForm):
    class Meta:
        model = Channel
        fields = [
            "name",
            "care_team",
            "kind",
            "purpose",
            "target",
            "secret",
            "min_level",
            "is_active",
        ]

    def clean(self):
        data = super().clean()
        kind, target = data.get("kind"), (data.get("target") or "").strip()
        try:
            if kind == ChannelKind.EMAIL:
                EmailValidator()(target)
            elif kind == ChannelKind.WEBHOOK:
                URLValidator(schemes=["https", "http"])(target)
                if not data.get("secret"):
                    self.add_error("secret", "A webhook needs a secret: receivers verify it.")
            elif kind == ChannelKind.SMS and not target.replace("+", "").replace(" ", "").isdigit():
                raise ValidationError("Give a phone number, e.g. +44 7700 900123.")
        except ValidationError as exc:
            self.add_error("target", exc)
        return data


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = [
        "name",
        "care_team",
        "kind",
        "purpose",
        "min_level",
        "is_active",
        "failing_column",
        "consecutive_failures",
        "last_success_at",
        "last_failure_at",
    ]
    list_filter = [FailingFilter, "kind", "purpose", "is_active", "care_team"]
    list_select_related = ["care_team"]
    search_fields = ["name", "target"]
    readonly_fields = [
        "consecutive_failures",
        "last_success_at",
        "last_failure_at",
        "last_error",
        "created_at",
    ]
    actions = ["send_test"]

    @admin.display(description="health", ordering="consecutive_failures")
    def failing_column(self, channel: Channel) -> str:
        if channel.is_failing:
            return format_html(
                '<strong style="color:#b00020">FAILING</strong> ({} in a row: {})',
                channel.consecutive_failures,
                channel.last_error[:80],
            )
        return "working" if channel.last_success_at else "not used yet"

    @admin.action(description="Send a test message through the selected channels")
    def send_test(self, request, queryset):
        for channel in queryset:
            delivery = services.channel_send_test(channel=channel)
            if delivery.status == DeliveryStatus.SENT:
                self.message_user(request, f"{channel}: test message sent.", messages.SUCCESS)
            else:
                self.message_user(
                    request,
                    f"{channel}: test message failed ({delivery.last_error}); "
                    "it will be retried like any delivery.",
                    messages.ERROR,
                )


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["started_at", "finished_at", "route", "ok", "status_code", "error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "alert",
        "channel",
        "patient_id",
        "purpose",
        "route",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", "purpose", "route", "channel__kind", "channel__care_team"]
    list_select_related = ["alert", "channel"]
    search_fields = ["=id", "=alert__id", "=patient__id"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [DeliveryAttemptInline]
    actions = ["retry_now"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Retry now (failed or waiting deliveries)")
    def retry_now(self, request, queryset):
        # A reminder starts its channels again from the first (push, then SMS, then e-mail).
        queryset.filter(
            purpose=DeliveryPurpose.REMINDER,
            status__in=[DeliveryStatus.FAILED, DeliveryStatus.PENDING],
        ).update(route="")
        count = queryset.filter(status__in=[DeliveryStatus.FAILED, DeliveryStatus.PENDING]).update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=timezone.now(),
            attempts=0,
        )
        self.message_user(
            request, f"{count} deliver(ies) queued; the delivery sweep sends them.", messages.INFO
        )
