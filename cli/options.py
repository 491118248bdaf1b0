"""The options that say how a data file is read, shared by every command that reads one.

profile, recommend, tune and kb add take the same --target/-t, --strict, --lenient, --encoding
and --sep, with the same meaning (metarec.io.load_dataset), so they are defined once here.
"""

from __future__ import annotations

import typer

TARGET = typer.Option(None, "--target", "-t", help="Target column (default: the last column).")
STRICT = typer.Option(
    False,
    "--strict",
    help="Refuse instead of repairing: by default columns that are entirely missing, constant "
    "or hold nested values (lists) are left out, and infinite values, values beyond 1e150 and "
    "cells with NUL bytes become missing, all said in one note.",
)
LENIENT = typer.Option(
    False,
    "--lenient",
    help="Also repair what needs a judgement: a column mixing numbers and text becomes "
    "categorical and an identifier-like text column is left out (by default both are refused).",
)
ENCODING = typer.Option("utf-8", "--encoding", help="Text encoding of CSV/TSV/ARFF files.")
SEP = typer.Option(
    None,
    "--sep",
    help="Delimiter of a CSV/TSV file (default: sniffed from a .csv file's first lines among "
    "comma, semicolon, tab and pipe; a tab for .tsv).",
)


def read_options(strict: bool, lenient: bool, encoding: str, sep: str | None) -> dict:
    """The keyword arguments of metarec.io.load_dataset (and kb add) for these options."""
    return {"strict": strict, "lenient": lenient, "encoding": encoding,
            "sep": _unescape(sep)}


def _unescape(sep: str | None) -> str | None:
    # A shell user types --sep '\t' for a tab; '\t' as two characters is no delimiter.
    return {"\\t": "\t", "tab": "\t"}.get(sep, sep) if sep is not None else None
