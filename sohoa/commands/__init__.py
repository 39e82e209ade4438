"""The commands of `sohoa`, the top layer: one module per part in this package
(`sohoa/commands/<part>.py`, each with a `register(app)`), and here the table of them, loaded
lazily: which module registers each top-level command, its one-line help for `sohoa --help`, and
the click group that imports a command module only when one of its commands runs (or shows its
own help).

Command modules are the user interface: they parse options, call the parts' services through the
composition root (`sohoa.runtime`) and print; what they call (queries, services, formats) stays in
the parts, which never import a command module. So `sohoa --help` imports no part, and a command
module imports what its commands use at the top of the module instead of inside each command.
`tests/sohoa/test_commands.py` checks this table against what the modules really register (names,
kinds, order, help).
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

# (command, module whose `register(app)` adds it, command or group, the first paragraph of
# its help), in the order `sohoa --help` lists them after sohoa's own commands and groups.
COMMANDS: tuple[tuple[str, str, str, str], ...] = (
    ("digitize", "sohoa.commands.documents", "command",
     "Scan files → OCR → searchable PDF → signature → storage → catalog."),
    ("export", "sohoa.commands.documents", "command",
     "Write a document's signed PDF (or its unsigned searchable PDF while under review)."),
    ("show", "sohoa.commands.documents", "command",
     "Print a document's catalog record."),
    ("list", "sohoa.commands.documents", "command",
     "List documents (newest first) with their dossier code and times."),
    ("verify", "sohoa.commands.documents", "command",
     "Check a signed PDF: integrity, signer, time, chain to the trust roots. Exit 0 = valid."),
    ("progress", "sohoa.commands.quotas", "command",
     "Tiến độ số hóa kết quả giải quyết TTHC theo năm, cấp và đơn vị: số kết quả còn hiệu lực,"
     " đã số hóa, tỷ lệ, chỉ tiêu của kế hoạch, dự báo cuối năm, trạng thái, số bản chờ kiểm "
     "tra. (Progress toward the yearly quota per level and unit.)"),
    ("plans", "sohoa.commands.quotas", "command",
     "Các kế hoạch chỉ tiêu có sẵn và chỉ tiêu từng năm, từng cấp. (The shipped quota plans.)"),
    ("worker", "sohoa.commands.pipeline", "command",
     "Run pipeline workers on the broker in SOHOA_BROKER_URL (Redis or RabbitMQ)."),
    ("submit", "sohoa.commands.pipeline", "command",
     "Store scans and queue them for the workers (inline broker: process them now)."),
    ("queue", "sohoa.commands.pipeline", "command",
     "Documents per state (catalog) and messages per queue (broker)."),
    ("serve", "sohoa.commands.api", "command",
     "Serve the retrieval API (OpenAPI at /openapi.json, docs at /docs)."),
    ("audit", "sohoa.commands.api", "command",
     "Query the API access log (newest first)."),
    ("station", "sohoa.commands.station", "command",
     "Serve the scanner station page for counter staff (Vietnamese)."),
    ("fsck", "sohoa.commands.storage", "command",
     "Verify every stored object against its checksums; report missing, corrupt, mismatched\n"
     "and orphaned objects, and documents stuck mid-pipeline. Exit 0 = all good, 1 = problems\n"
     "found, 2 = the check could not run."),
    ("search", "sohoa.commands.storage", "command",
     "Find documents whose OCR text contains every word of TEXT, newest first (exit 1: none)."),
    ("doctor", "sohoa.commands.ops", "command",
     "Check the configuration and every service it names; say how to fix each fault."),
    ("backup", "sohoa.commands.ops", "command",
     "Back up the catalog (a dump) and the objects (copied, with a checksum manifest)."),
    ("restore", "sohoa.commands.ops", "command",
     "Restore a backup into an EMPTY catalog and object store (the configured ones)."),
    ("db", "sohoa.commands.documents", "group",
     "Catalog database."),
    ("keys", "sohoa.commands.documents", "group",
     "Signing keys."),
    ("baseline", "sohoa.commands.quotas", "group",
     "Tổng số kết quả còn hiệu lực của từng đơn vị theo năm (mẫu số của tỷ lệ số hóa). (Still-"
     "valid result totals per unit and year: the denominator.)"),
    ("results", "sohoa.commands.quotas", "group",
     "Danh sách kết quả từ hệ thống một cửa: nhập, và gộp kết quả trùng. (Results registered "
     "from the one-stop system.)"),
    ("failed", "sohoa.commands.pipeline", "group",
     "Documents that failed (the dead-letter list)."),
    ("review", "sohoa.commands.review", "group",
     "Documents waiting for a person (needs_review)."),
    ("model", "sohoa.commands.review", "group",
     "The trainable document-type classifier."),
    ("api-client", "sohoa.commands.api", "group",
     "API clients (keys for other systems)."),
    ("access-log", "sohoa.commands.api", "group",
     "Retention of the API access log (PostgreSQL: monthly partitions, archived whole to the "
     "object store)."),
    ("procedures", "sohoa.commands.storage", "group",
     "The procedure catalog (thủ tục hành chính)."),
    ("agencies", "sohoa.commands.storage", "group",
     "Agencies (cơ quan, tổ chức) that issue results and sign copies."),
    ("signatures", "sohoa.commands.signatures", "group",
     "Signed results: PAdES level, archival timestamps."),
    ("scanners", "sohoa.commands.scanners", "group",
     "Scanners: list devices, test a scan."),
    ("batch", "sohoa.commands.batch", "group",
     "Back-office batches: scan a stack, split it, import folders."),
    ("records", "sohoa.commands.archive", "group",
     "Archive records (hồ sơ lưu trữ): data, retention, appraisal."),
)

# Every module above, in the order `COMMANDS` lists their commands.
COMMAND_MODULES = tuple(f"sohoa.commands.{name}" for name in (
    "documents", "quotas", "pipeline", "review", "api", "station", "storage", "signatures",
    "scanners", "ops", "batch", "archive"))
_ENTRIES = {name: (module, kind, text) for name, module, kind, text in COMMANDS}


def load_group(module_name: str) -> TyperGroup:
    """The click group of the commands `module_name`'s `register(app)` adds (imports it)."""
    part = typer.Typer()
    importlib.import_module(module_name).register(part)
    return typer.main.get_group(part)


class LazyGroup(TyperGroup):
    """sohoa's own commands, then the parts' ones from `COMMANDS`, each part's module imported
    the first time one of its commands is resolved; `sohoa --help` shows the table's help."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loaded: dict[str, TyperGroup] = {}
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        """Plain commands before groups, as Typer lists them (sohoa's own first)."""
        own = super().list_commands(ctx)
        lazy = [name for name in _ENTRIES if name not in self.commands]
        return ([n for n in own if not isinstance(self.commands[n], TyperGroup)]
                + [n for n in lazy if _ENTRIES[n][1] == "command"]
                + [n for n in own if isinstance(self.commands[n], TyperGroup)]
                + [n for n in lazy if _ENTRIES[n][1] == "group"])

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in _ENTRIES:
            return command
        module_name, _, text = _ENTRIES[cmd_name]
        if self._listing:  # the overview needs only the name and the first paragraph
            return TyperCommand(cmd_name, help=text)
        if module_name not in self._loaded:
            self._loaded[module_name] = load_group(module_name)
        return self._loaded[module_name].get_command(ctx, cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
