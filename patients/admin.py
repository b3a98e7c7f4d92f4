from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from .models import AuditEvent, CareTeam, Patient, PushSubscription
from .tokens import user_sign_out_everywhere


@admin.action(
    description="Sign out everywhere (end all sessions and API tokens)", permissions=["change"]
)
def sign_out_everywhere(modeladmin, request, queryset):
    """A lost phone, a shared password: end every session and API token of these users."""
    tokens = sessions = 0
    for user in queryset:
        ended = user_sign_out_everywhere(user=user)
        tokens += ended["tokens"]
        sessions += ended["sessions"]
    modeladmin.message_user(
        request,
        f"Signed out {queryset.count()} user(s) everywhere: {sessions} session(s) and "
        f"{tokens} API token(s) ended.",
        messages.SUCCESS,
    )


class TrackerUserAdmin(UserAdmin):
    actions = [sign_out_everywhere]


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), TrackerUserAdmin)


@admin.register(CareTeam)
class CareTeamAdmin(admin.ModelAdmin):
    list_display = ["name", "advice_line_phone", "advice_line_email", "member_count"]
    search_fields = ["name"]
    filter_horizontal = ["members"]

    @admin.display(description="nurses")
    def member_count(self, obj: CareTeam) -> int:
        return obj.members.count()


class PushSubscriptionInline(admin.TabularInline):
    """The patient's devices subscribed to notifications. The endpoint is a capability URL
    and stays out of view; a device can be removed here (the patient can too)."""

    model = PushSubscription
    fields = ["device", "created_at", "last_success_at", "last_failure_at", "consecutive_failures"]
    readonly_fields = fields
    extra = 0
    can_delete = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = [
        "family_name",
        "given_name",
        "nhs_number",
        "care_team",
        "child_pugh_class",
        "performance_status",
        "timezone",
    ]
    list_filter = ["care_team", "child_pugh_class", "performance_status", "reminders_enabled"]
    search_fields = ["family_name", "given_name", "nhs_number", "user__username"]
    autocomplete_fields = ["user", "care_team"]
    list_select_related = ["care_team"]
    readonly_fields = [
        "created_at",
        "updated_at",
        "reminders_reached_at",
        "reminders_failing_since",
    ]
    inlines = [PushSubscriptionInline]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Append-only: visible and searchable, never editable or deletable here."""

    list_display = [
        "at",
        "actor_username",
        "actor_role",
        "action",
        "what",
        "patient_ref",
        "patient",
        "method",
        "status_code",
        "ip_address",
    ]
    list_filter = ["action", "actor_role", "method"]
    search_fields = [
        "what",
        "path",
        "actor_username",
        "=patient_ref",
        "=ip_address",
        "patient__nhs_number",
        "patient__family_name",
    ]
    date_hierarchy = "at"
    list_select_related = ["actor", "patient"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
