from django.apps import AppConfig


class WalletsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "wallets"

    def ready(self) -> None:
        from . import token_use
        from .tokens import connect_revocations

        connect_revocations()
        token_use.connect()  # a token's last use, written at most once a minute per token and process
