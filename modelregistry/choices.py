"""Status values and actions of the model registry."""

from __future__ import annotations

from django.db import models


class Algorithm(models.TextChoices):
    XGBOOST = "xgboost", "XGBoost"
    LIGHTGBM = "lightgbm", "LightGBM"


class VersionStatus(models.TextChoices):
    CANDIDATE = "candidate", "Candidate"
    PRODUCTION = "production", "Production"
    ARCHIVED = "archived", "Archived"


class PromotionAction(models.TextChoices):
    REGISTER = "register", "Registered"
    PROMOTE = "promote", "Promoted"
    ROLLBACK = "rollback", "Rolled back"
    ARCHIVE = "archive", "Archived"
    # The promotion gate said no (promote_model --best, the monthly challenger): why is recorded.
    REFUSE = "refuse", "Promotion refused"


SYSTEM_ACTOR = "system"
DEFAULT_MODEL_NAME = "upper-circuit"
