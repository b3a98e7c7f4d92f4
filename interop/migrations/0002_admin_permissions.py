"""The admin role may record and produce subject access requests and see bulk export jobs
(the roles themselves are made by notifications/0002_roles)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMIN_PERMISSIONS = {
    "subjectaccessrequest": ["view", "add", "change"],
    "bulkexportjob": ["view"],
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("interop")
    # Migration state apps have no models module; the real registry (tests) keeps its own.
    kept = getattr(app_config, "models_module", None)
    app_config.models_module = kept or True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = kept
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin, _ = Group.objects.get_or_create(name="admin")
    for model, actions in ADMIN_PERMISSIONS.items():
        for action in actions:
            admin.permissions.add(
                Permission.objects.get(content_type__app_label="interop", codename=f"{action}_{model}")
            )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="admin"):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="interop"))


class Migration(migrations.Migration):
    dependencies = [
        ("interop", "0001_initial"),
        ("notifications", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
