"""Nurses (a proxy of the user: the admin's "Add nurse" form), and the admin role's
permissions on it (the roles are made by notifications/0002_roles)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    app_config = apps.get_app_config("patients")
    # Migration state apps have no models module; the real registry (tests) keeps its own.
    kept = getattr(app_config, "models_module", None)
    app_config.models_module = kept or True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = kept
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin, _ = Group.objects.get_or_create(name="admin")
    admin.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="patients",
            content_type__model="nurse",
            codename__in=["view_nurse", "add_nurse", "change_nurse"],
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("patients", "0004_idempotency_records"),
        ("notifications", "0002_roles"),
    ]

    operations = [
        migrations.CreateModel(
            name="Nurse",
            fields=[],
            options={
                "verbose_name": "nurse",
                "verbose_name_plural": "nurses",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("auth.user",),
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
