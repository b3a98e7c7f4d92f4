from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db.models import Count

from . import services
from .invites import invite_path
from .models import AuditEvent, CareTeam, Nurse, Patient, PushSubscription, Role
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


def staff_users():
    """Who may be a care team's member: nurses and admins, never patients."""
    return (
        User.objects.filter(groups__name__in=[Role.NURSE, Role.ADMIN], is_active=True)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def person_label(user) -> str:
    name = user.get_full_name()
    return f"{name} ({user.username})" if name else user.username


class StaffChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return person_label(obj)


@admin.register(CareTeam)
class CareTeamAdmin(admin.ModelAdmin):
    list_display = ["name", "advice_line_phone", "advice_line_email", "member_count"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_total=Count("members"))

    @admin.display(description="members", ordering="member_total")
    def member_count(self, obj: CareTeam) -> int:
        return obj.member_total

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "members":
            kwargs["queryset"] = staff_users()
            kwargs["form_class"] = StaffChoiceField
            # A list of ticks: a team has a handful of staff, and Django's two-box picker
            # puts ARIA on a plain span (axe: serious).
            kwargs["widget"] = forms.CheckboxSelectMultiple
            kwargs["help_text"] = (
                "Nurses (and admins) who work this team's advice line. Patients are not listed: "
                "a patient's team is set on the patient."
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


INVITE, SET_PASSWORD = "invite", "password"


class AddNurseForm(forms.ModelForm):
    """One form for a new nurse: name, sign-in, teams; the nurse group is added for you."""

    first_name = forms.CharField(label="First name", max_length=150)
    last_name = forms.CharField(label="Last name", max_length=150)
    email = forms.EmailField(label="E-mail", help_text="Work e-mail address.")
    access = forms.ChoiceField(
        label="How will they sign in?",
        choices=[
            (INVITE, "Make an invite link: they choose their own password"),
            (SET_PASSWORD, "Set a password now"),
        ],
        initial=INVITE,
        widget=forms.RadioSelect,
    )
    password1 = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Only if you set a password now: at least 10 characters, not a common one.",
    )
    password2 = forms.CharField(
        label="Password again",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    teams = forms.ModelMultipleChoiceField(
        label="Care teams",
        queryset=CareTeam.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        help_text="The nurse sees these teams' patients and alerts.",
        error_messages={"required": "Choose at least one care team."},
    )

    class Meta:
        model = Nurse
        fields = ["first_name", "last_name", "username", "email"]

    def clean_username(self):
        # Across every user, not only nurses (the proxy's manager sees only nurses).
        username = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError("This username is already taken.")
        return username

    def clean(self):
        data = super().clean()
        if data.get("access") == SET_PASSWORD:
            first, second = data.get("password1"), data.get("password2")
            if not first:
                self.add_error("password1", "Type the password, or choose an invite link.")
            elif first != second:
                self.add_error("password2", "The two passwords are not the same.")
            else:
                someone = User(
                    username=data.get("username") or "",
                    first_name=data.get("first_name") or "",
                    last_name=data.get("last_name") or "",
                    email=data.get("email") or "",
                )
                try:
                    validate_password(first, someone)
                except ValidationError as exc:
                    self.add_error("password1", exc.messages)
        return data

    def password(self) -> str | None:
        data = self.cleaned_data
        return data["password1"] if data.get("access") == SET_PASSWORD else None


class NurseChangeForm(forms.ModelForm):
    teams = forms.ModelMultipleChoiceField(
        label="Care teams",
        queryset=CareTeam.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Nurse
        fields = ["first_name", "last_name", "email", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["teams"].initial = list(self.instance.care_teams.all())


ADD_NURSE_FIELDSETS = [
    (None, {"fields": ["first_name", "last_name", "username", "email"]}),
    ("Signing in", {"fields": ["access", "password1", "password2"]}),
    ("Care teams", {"fields": ["teams"]}),
]


@admin.register(Nurse)
class NurseAdmin(admin.ModelAdmin):
    """Nurses: the user, the nurse group and the team memberships made in one form (the
    service `nurse_create`, one transaction)."""

    list_display = ["username", "full_name", "email", "team_names", "is_active", "last_login"]
    list_filter = ["is_active", "care_teams"]
    search_fields = ["username", "first_name", "last_name", "email"]
    actions = [sign_out_everywhere]
    readonly_fields = ["username", "last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["username", "first_name", "last_name", "email", "is_active"]}),
        ("Care teams", {"fields": ["teams"]}),
        ("Activity", {"fields": ["last_login", "date_joined"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("care_teams")

    @admin.display(description="name", ordering="last_name")
    def full_name(self, obj) -> str:
        return obj.get_full_name()

    @admin.display(description="care teams")
    def team_names(self, obj) -> str:
        return ", ".join(team.name for team in obj.care_teams.all()) or "None"

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = AddNurseForm if obj is None else NurseChangeForm
        kwargs["fields"] = None
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        return ADD_NURSE_FIELDSETS if obj is None else self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            obj.care_teams.set(form.cleaned_data["teams"])
            return
        data = form.cleaned_data
        created = services.nurse_create(
            username=data["username"],
            given_name=data["first_name"],
            family_name=data["last_name"],
            email=data["email"],
            teams=list(data["teams"]),
            password=form.password(),
        )
        obj.pk = created.pk
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})
        if form.password() is None:
            link = request.build_absolute_uri(invite_path(created))
            self.message_user(
                request,
                f"Send this invite link to {created.get_full_name()}: {link} . It works once, "
                "for 3 days; they choose their own password with it.",
                messages.WARNING,
            )

    def save_related(self, request, form, formsets, change):
        pass  # teams are set by the service (add) or save_model (change)


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


class ChangesOrReadsFilter(admin.SimpleListFilter):
    """The audit list opens on changes (creates, updates, deletes): reads of a record are most
    of the trail and would bury them. Reads, or everything, are one click away."""

    title = "what happened"
    parameter_name = "kind"
    CHANGES, READS, EVERYTHING = "changes", "reads", "all"

    def lookups(self, request, model_admin):
        return [
            (self.CHANGES, "Changes (create, update, delete)"),
            (self.READS, "Reads"),
            (self.EVERYTHING, "Everything"),
        ]

    def choices(self, changelist):
        current = self.value() or self.CHANGES
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value() or self.CHANGES
        if value == self.READS:
            return queryset.filter(action="read")
        if value == self.EVERYTHING:
            return queryset
        return queryset.exclude(action="read")


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
    list_filter = [ChangesOrReadsFilter, "action", "actor_role", "method"]
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
