"""Dose reminders on by default, and on for every existing patient (issue 14; adherence.md,
"Dose reminders": "On by default for every patient"). Until now they were off unless an admin
chose e-mail or SMS for a patient; the channel is no longer chosen (push, then SMS, then
e-mail, whichever can reach the patient), so the old choice goes."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def reminders_on_for_everyone(apps, schema_editor):
    apps.get_model("patients", "Patient").objects.update(reminders_enabled=True)


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0002_audit_event_snapshots"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PushSubscription",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("endpoint", models.URLField(max_length=1000, unique=True)),
                ("p256dh", models.CharField(max_length=128, verbose_name="public key (p256dh)")),
                ("auth", models.CharField(max_length=64, verbose_name="auth secret")),
                ("device", models.CharField(blank=True, max_length=80)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("last_success_at", models.DateTimeField(blank=True, null=True)),
                ("last_failure_at", models.DateTimeField(blank=True, null=True)),
                ("consecutive_failures", models.PositiveIntegerField(default=0)),
            ],
            options={
                "ordering": ["created_at", "id"],
            },
        ),
        migrations.AddField(
            model_name="patient",
            name="reminder_minutes_before",
            field=models.PositiveSmallIntegerField(
                default=0,
                validators=[django.core.validators.MaxValueValidator(60)],
                verbose_name="remind this many minutes before the due time",
            ),
        ),
        migrations.AddField(
            model_name="patient",
            name="reminders_enabled",
            field=models.BooleanField(default=True, verbose_name="dose reminders on"),
        ),
        migrations.RunPython(reminders_on_for_everyone, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="patient",
            name="dose_reminders",
        ),
        migrations.AddField(
            model_name="patient",
            name="reminders_failing_since",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="patient",
            name="reminders_reached_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(
                condition=models.Q(
                    ("reminders_enabled", True), ("reminders_failing_since__isnull", False)
                ),
                fields=["reminders_failing_since"],
                name="patient_reminders_failing",
            ),
        ),
        migrations.AddField(
            model_name="pushsubscription",
            name="patient",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="push_subscriptions",
                to="patients.patient",
            ),
        ),
    ]
