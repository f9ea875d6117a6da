"""Who asked for which prediction: the audit trail of the last --days days, filtered, as text or JSON lines."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from predictions.audit import AuditQuery, audit_records


class Command(BaseCommand):
    help = (
        "List served predictions from the audit log (VCP_LOG_DIR/audit.log and its rotations): time, token "
        "(first 8 characters), user, endpoint, symbol, date, model version, probability. Filter by --token, "
        "--user or --symbol; --days 30 by default."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30, help="How far back (default 30, the retention).")
        parser.add_argument("--token", help="A token key, or its first 8 characters.")
        parser.add_argument("--user", help="Username of the token's owner.")
        parser.add_argument("--symbol", help="Only this symbol.")
        parser.add_argument("--json", action="store_true", help="One JSON record per line.")
        parser.add_argument("--log-dir", type=Path, help="Default: VCP_LOG_DIR.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["days"] < 1:
            raise CommandError("--days must be at least 1.")
        log_dir = options["log_dir"] or Path(settings.VCP_LOG_DIR)
        if not log_dir.is_dir():
            raise CommandError(f"No log directory at {log_dir}: is VCP_LOG_TO_FILE on (the audit goes to stdout)?")
        query = AuditQuery(
            since=dt.datetime.now() - dt.timedelta(days=options["days"]),
            token=options["token"],
            user=options["user"],
            symbol=options["symbol"],
        )
        count = 0
        for record in audit_records(log_dir, query):
            count += 1
            if options["json"]:
                self.stdout.write(json.dumps(record, sort_keys=True))
                continue
            who = f"token:{record.get('token') or '-':<8}  user:{record.get('user') or '-'}"
            self.stdout.write(
                f"{record.get('time', '')[:19]}  {who}"
                f"  {record.get('endpoint')}  {record.get('symbol')} {record.get('date')}  "
                f"{record.get('model')} v{record.get('model_version')}  p={record.get('probability')}"
            )
        if not options["json"]:
            self.stdout.write(f"{count} prediction(s) in the last {options['days']} day(s).")
