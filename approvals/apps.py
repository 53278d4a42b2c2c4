from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "approvals"

    def ready(self) -> None:
        from . import policy

        policy.install()  # every staff movement passes its one policy (wallets.staff_gate)
