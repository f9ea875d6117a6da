from django.apps import AppConfig


class CommonConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "common"
    verbose_name = "Shared"

    def ready(self) -> None:
        from django.conf import settings

        from common.api.authentication import connect_revocation_signals
        from common.db import install_query_deadline

        # In every process (web, workers, commands): revoking a token anywhere reaches all of them.
        connect_revocation_signals()

        install_query_deadline(deadline=float(getattr(settings, "VCP_DB_QUERY_DEADLINE_SECONDS", 0.0)))
