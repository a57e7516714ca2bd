"""`mcuorch size RUN`: the largest ROM symbols of a run's program, with their bucket, and the
ROM split (`ROM weights` ... `ROM other`) that adds up to `Total ROM`."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from orchestrator.cli.console import stdout
from orchestrator.metrics.rom_origin import APP_OBJECTS
from orchestrator.metrics.rom_split import COLUMNS
from orchestrator.paths import home_paths
from orchestrator.program_size import ProgramSize, compile_outputs, program_size
from orchestrator.session import SessionStore

CODEGEN = "/codegen/"
"""The BUILD stage's output folder for the target software, wherever it was mounted."""
from orchestrator.store import JobStore


def short_origin(origin: str) -> str:
    """An object as people name it: `libc.a(memcpy.o)`, `harness/main.c.obj`,
    `codegen/model/default_lib0.o`, not the full path."""
    if CODEGEN in origin:
        return origin[origin.index(CODEGEN) + 1:]
    if origin.startswith(APP_OBJECTS):
        return origin[len(APP_OBJECTS):]
    return PurePosixPath(origin.split("(", 1)[0]).name + ("(" + origin.split("(", 1)[1] if "(" in origin else "")


def _symbols_table(size: ProgramSize, top: int) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    # Long generated names are cut (…) so that a narrow terminal keeps every column.
    for header, justify, width in (("Bytes", "right", None), ("Bucket", "left", None), ("Symbol", "left", 48),
                                   ("Section", "left", 24), ("Object", "left", 36)):
        table.add_column(header, justify=justify, no_wrap=True, overflow="ellipsis",  # type: ignore[arg-type]
                         max_width=width, min_width=None if width else len(header))
    for sym in size.symbols[:top]:
        table.add_row(str(sym.size), sym.bucket or "-", sym.name, sym.section, short_origin(sym.origin))
    return table


def _totals_table(size: ProgramSize) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("Bucket", no_wrap=True)
    table.add_column("Bytes", justify="right", no_wrap=True)
    table.add_column("Share", justify="right", no_wrap=True)
    total = size.memory.total_rom
    if size.split is not None:
        for bucket, column in COLUMNS.items():
            value = size.split.buckets[bucket]
            table.add_row(column, str(value), f"{100 * value / total:.1f} %" if total else "")
    table.add_row("Total ROM", str(total), "100.0 %" if total else "")
    return table


def size(
    run: Annotated[str, typer.Argument(help="run index in the session, COMPILE job key (prefix), "
                                            "or a folder holding app.elf")],
    session: Annotated[str | None, typer.Option("-s", "--session",
                                                help="session id (prefix) or 'latest' (for a run index)")] = None,
    top: Annotated[int, typer.Option("-n", "--top", min=0, help="how many symbols to list")] = 20,
) -> None:
    """List a program's largest ROM symbols with their bucket, and the ROM split by origin."""
    home = home_paths()
    folder = compile_outputs(run, session, SessionStore(home.sessions), JobStore(home.jobs))
    measured = program_size(folder)
    stdout.print(f"{folder / 'app.elf'}" + (f" ({measured.target})" if measured.target else ""),
                 highlight=False, markup=False)
    if top:
        stdout.print(_symbols_table(measured, top))
    if measured.split is None:
        stdout.print("no link map (app.map) beside app.elf: ROM is not split by origin",
                     highlight=False, markup=False)
    stdout.print(_totals_table(measured))
