"""Entry point of the ``metarec`` command.

Sub-commands live in their own modules and import the library lazily inside the command body, so
``metarec --help`` stays fast and never imports torch.
"""

from __future__ import annotations

import typer
from metarec.cli import fewshot_cmd, kb_cmd, profile_cmd, recommend_cmd, tune_cmd

app = typer.Typer(
    name="metarec",
    help="Recommend algorithms, hyperparameters and imputation for a dataset, from experience.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Recommend algorithms, hyperparameters and imputation for a dataset, from experience."""


app.command("profile")(profile_cmd.profile)
app.command("recommend")(recommend_cmd.recommend)
app.command("tune")(tune_cmd.tune)
app.add_typer(kb_cmd.app, name="kb", help="Inspect, build and refresh the knowledge base.")
app.add_typer(fewshot_cmd.app, name="fewshot", help="Few-shot learning on image folders.")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
