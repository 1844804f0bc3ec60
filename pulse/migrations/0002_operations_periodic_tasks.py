"""Schedule pulse.check_alerts (every minute) and pulse.cleanup_history (nightly) once.

Rows that already exist are left as they are, so admin edits survive every later migrate.
"""

from django.db import migrations


def create_periodic_tasks(apps, schema_editor):
    from pulse.maintenance import operations_periodic_tasks_ensure

    operations_periodic_tasks_ensure(
        periodic_task_model=apps.get_model("django_celery_beat", "PeriodicTask"),
        interval_model=apps.get_model("django_celery_beat", "IntervalSchedule"),
        crontab_model=apps.get_model("django_celery_beat", "CrontabSchedule"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("pulse", "0001_alerts"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_periodic_tasks, migrations.RunPython.noop)]
