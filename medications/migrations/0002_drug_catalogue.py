"""Seeds the drug catalogue (filled in by the medications issue)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("medications", "0001_initial")]

    operations: list = []
