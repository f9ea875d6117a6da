"""Train an upper-circuit model on stored bars and register it as a candidate version."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from common.commands import add_actor_argument, command_actor
from common.formatting import as_date, iso_date
from marketdata.selectors import trading_date_range
from modelregistry import services
from modelregistry.choices import DEFAULT_MODEL_NAME
from modelregistry.evaluation import truths_lines
from modelregistry.models import ModelVersion
from modelregistry.selectors import model_version_get
from modelregistry.training import DEFAULT_ROUNDS


class _Progress:
    """A tqdm bar per long stage (boosting rounds), and a timing line per pipeline stage."""

    def __init__(self, command: BaseCommand, *, enabled: bool) -> None:
        self.command = command
        self.enabled = enabled
        self.bars: dict[str, tqdm[Any]] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total <= 1:
            return
        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=stage, unit="round", leave=False)
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    def stage(self, name: str, seconds: float) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()
        self.command.stdout.write(f"  {name:<22} {seconds:8.1f} s")


class Command(BaseCommand):
    help = (
        "Train an XGBoost or LightGBM upper-circuit model on stored bars (features, purged temporal split, "
        "calibration, ONNX export with parity gate, drift reference) and register it as a candidate."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--algorithm", choices=["xgboost", "lightgbm"], help="Required unless --refit.")
        parser.add_argument(
            "--refit",
            type=int,
            metavar="VERSION_ID",
            help=(
                "Production refit of a validated version: train on every labelled day from its training start to "
                "--end (default: the latest bar) with the rounds, calibration and thresholds it chose, and register "
                "it linked to that version, whose test metrics are its evidence."
            ),
        )
        parser.add_argument(
            "--start", type=iso_date, help="First training date, YYYY-MM-DD (default: the first stored bar)."
        )
        parser.add_argument(
            "--end", type=iso_date, help="Last date of the test period (default: the latest stored bar)."
        )
        parser.add_argument(
            "--horizon", type=int, default=1, choices=range(1, 6), help="Label horizon in trading days (1-5)."
        )
        parser.add_argument(
            "--universe", default="all", help="all (default), NSE or BSE, and/or series codes, e.g. 'EQ' or 'BE,SM'."
        )
        parser.add_argument("--train-end", type=iso_date, help="Last training date (default: 65%% of the range).")
        parser.add_argument("--valid-end", type=iso_date, help="Last validation date (default: 80%% of the range).")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--negative-sample-rate",
            type=float,
            default=0.3,
            help="Share of training negatives kept (positives are always kept).",
        )
        parser.add_argument(
            "--rounds",
            type=int,
            default=DEFAULT_ROUNDS,
            help=f"Maximum boosting rounds, early-stopped on validation (default {DEFAULT_ROUNDS}).",
        )
        parser.add_argument("--name", default=DEFAULT_MODEL_NAME)
        parser.add_argument("--no-progress", action="store_true")
        add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["refit"] is not None:
            self._refit(options)
            return
        if options["algorithm"] is None:
            raise CommandError("Give --algorithm xgboost or lightgbm (or --refit VERSION_ID to refit a validated one).")
        if (options["train_end"] is None) != (options["valid_end"] is None):
            raise CommandError("Give both --train-end and --valid-end, or neither.")
        if not 0 < options["negative_sample_rate"] <= 1:
            raise CommandError("--negative-sample-rate must be in (0, 1].")
        start, end = as_date(options["start"], option="--start"), as_date(options["end"], option="--end")
        for name in ("train_end", "valid_end"):
            options[name] = as_date(options[name], option=f"--{name.replace('_', '-')}")
        if start is None or end is None:
            first, last = trading_date_range()
            if first is None or last is None:
                raise CommandError("No bars stored: ingest bhavcopy files or run generate_market first.")
            start, end = start or first, end or last
        options["start"], options["end"] = start, end
        progress = _Progress(self, enabled=not options["no_progress"])
        self.stdout.write(f"Training {options['algorithm']} on {options['start']}..{options['end']}")
        try:
            version = services.model_train(
                algorithm=options["algorithm"],
                start=options["start"],
                end=options["end"],
                horizon=options["horizon"],
                universe=options["universe"],
                train_end=options["train_end"],
                valid_end=options["valid_end"],
                seed=options["seed"],
                negative_sample_rate=options["negative_sample_rate"],
                rounds=options["rounds"],
                name=options["name"],
                actor=command_actor(options.get("actor")),
                progress=progress,
                on_stage=progress.stage,
            )
        except services.RegistryError as exc:
            raise CommandError(str(exc)) from exc
        self._report(version)

    def _refit(self, options: dict[str, Any]) -> None:
        source = model_version_get(pk=options["refit"])
        if source is None:
            raise CommandError(f"No model version with id {options['refit']}; run list_models to see ids.")
        end = as_date(options["end"], option="--end")
        progress = _Progress(self, enabled=not options["no_progress"])
        until = end or "the latest bar"
        self.stdout.write(f"Refitting {source.label} ({source.algorithm}) from {source.train_start} to {until}")
        try:
            version = services.model_refit(
                source=source,
                end=end,
                actor=command_actor(options.get("actor")),
                progress=progress,
                on_stage=progress.stage,
            )
        except services.RegistryError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Registered {version.label} (id {version.pk}, candidate): a refit of {source.label} on "
                f"{version.train_start}..{version.train_end} with {version.training_config.get('n_trees')} trees."
            )
        )
        self.stdout.write(
            f"It holds nothing out: the evidence is {source.label}'s test period "
            f"({source.valid_end}..{source.test_end}), shown below."
        )
        self._metrics(version)

    def _report(self, version: ModelVersion) -> None:
        self.stdout.write(
            self.style.SUCCESS(
                f"Registered {version.label} (id {version.pk}, candidate); test period ends {version.test_end}."
            )
        )
        self._metrics(version)

    def _metrics(self, version: ModelVersion) -> None:
        rows = [
            ("model", "model"),
            ("'hit today' baseline", "hit_today"),
            ("top-k momentum baseline", "momentum_top_k"),
        ]
        for part, title in (("all", "all stock-days"), ("new_circuits", "new circuits only")):
            self.stdout.write(f"  Test metrics, {title}:")
            self.stdout.write(
                f"    {'scorer':<26} {'F1':>6} {'prec':>6} {'recall':>6} {'PR-AUC':>7} {'ROC-AUC':>7} {'P@k':>6}"
            )
            for label, scorer in rows:
                values = [
                    version.metric(k, part=part, scorer=scorer)
                    for k in ("f1", "precision", "recall", "pr_auc", "roc_auc", "precision_at_k")
                ]
                cells = " ".join(f"{'-' if v is None else f'{v:.3f}':>6}" for v in values)
                self.stdout.write(f"    {label:<26} {cells}")
        self._truths(version)
        self.stdout.write(
            f"Promote it with: python manage.py promote_model --model-version {version.pk} --reason '...'"
        )

    def _truths(self, version: ModelVersion) -> None:
        """The three truths (the platform's label, strict, tick-aware lock) beside the naive rules."""
        for line in truths_lines(version.metrics):
            self.stdout.write(line)
