"""The three roles as Django groups with their permissions.

Lives in the last app so every model's permissions exist; create_permissions runs first
because Django normally creates permissions only after all migrations (post_migrate)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

NURSE_PERMISSIONS = {
    "patients": {"careteam": ["view"], "patient": ["view", "add", "change"]},
    "medications": {
        "drug": ["view"],
        "prescription": ["view", "add", "change"],
        "prescriptionevent": ["view", "add"],
        "prescriptionhold": ["view", "add", "change"],
        "expecteddose": ["view"],
        "doselog": ["view", "add"],
        "infusioncourse": ["view", "add", "change"],
        "infusionappointment": ["view", "change"],
        "symptomreport": ["view", "add"],
        "triageruleset": ["view"],
    },
    "notifications": {"alert": ["view", "change"], "alertevent": ["view"]},
}
ADMIN_APPS = ["patients", "medications", "notifications", "authtoken", "axes"]


def create_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    Group.objects.get_or_create(name="patient")

    nurse, _ = Group.objects.get_or_create(name="nurse")
    nurse_perms = []
    for app_label, models in NURSE_PERMISSIONS.items():
        for model, actions in models.items():
            for action in actions:
                nurse_perms.append(
                    Permission.objects.get(
                        content_type__app_label=app_label, codename=f"{action}_{model}"
                    )
                )
    nurse.permissions.set(nurse_perms)

    admin, _ = Group.objects.get_or_create(name="admin")
    admin_perms = Permission.objects.filter(content_type__app_label__in=ADMIN_APPS) | Permission.objects.filter(
        content_type__app_label="auth", content_type__model__in=["user", "group"]
    )
    admin.permissions.set(admin_perms)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["patient", "nurse", "admin"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("axes", "0010_accessattemptexpiration"),
        ("patients", "0001_initial"),
        ("medications", "0001_initial"),
        ("notifications", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
