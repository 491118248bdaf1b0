"""Library errors name the library's parameters; the CLI says them as its flags (metarec.errors)."""

from __future__ import annotations

import ast
import pickle
import re
from pathlib import Path

import pytest
from metarec.cli.errors import FLAGS, flag_message

from metarec.errors import DataError, KnowledgeBaseError, MetaRecError
from metarec.io import load_dataset

REPO = Path(__file__).resolve().parents[1]
LIBRARY = ("metarec", "metafeatures")

# A backticked command to type (`metarec kb build --from DIR`) is advice, not a flag.
COMMAND = re.compile(r"`(?:metarec|python|pip) [^`]*`")
FLAG = re.compile(r"(?<![\w-])--[a-z][\w-]*")


def _mixed_column_csv(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.csv"
    path.write_text("a,m,y\n1,1,p\n2,x,q\n3,3,p\n4,4,q\n")
    return path


def test_a_library_error_names_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        load_dataset(_mixed_column_csv(tmp_path), "y")
    message = str(caught.value)
    assert "`lenient=True`" in message and "--lenient" not in message
    assert caught.value.parameters == ("lenient",)


def test_the_cli_names_the_flag(cli, tmp_path: Path) -> None:
    code, _, stderr = cli("profile", str(_mixed_column_csv(tmp_path)), "--target", "y")
    assert code == 2
    assert "pass --lenient to treat mixed columns" in stderr and "lenient=True" not in stderr


def test_the_cli_gives_a_value_as_the_flag_takes_it(cli, tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("a,name,y\n1,caf\xe9,p\n2,na\xefve,q\n".encode("latin-1"))
    with pytest.raises(DataError, match="e.g. `encoding='latin-1'`"):
        load_dataset(path)
    code, _, stderr = cli("profile", str(path))
    assert code == 2 and "e.g. --encoding latin-1." in stderr


def test_a_command_maps_its_own_parameters(cli) -> None:
    from metarec.kb import default_path

    code, _, stderr = cli("kb", "refresh", "--openml", "--kb", str(default_path()))
    assert code == 2 and "choose another --kb" in stderr


def test_flag_message_renders_only_declared_known_parameters() -> None:
    error = MetaRecError(
        "pass `lenient=True`, `encoding='latin-1'`, `study_name`, `unknown=1` or `views`; "
        "run `metarec kb build`", parameters=("lenient", "encoding", "study_name", "unknown"),
    )
    assert flag_message(error) == (
        "pass --lenient, --encoding latin-1, --study-name, `unknown=1` or `views`; "
        "run `metarec kb build`"
    )
    assert flag_message(MetaRecError("`views=False`", parameters=("views",))) == "--no-views"
    assert flag_message(ValueError("`lenient=True`")) == "`lenient=True`"
    target = KnowledgeBaseError("choose another `target`", parameters=("target",))
    assert flag_message(target, {"target": "--kb"}) == "choose another --kb"
    assert all(flag.startswith("--") for flag in FLAGS.values())


def test_parameters_survive_pickling() -> None:
    error = pickle.loads(pickle.dumps(DataError("`lenient=True`", parameters=("lenient",))))
    assert isinstance(error, DataError) and error.parameters == ("lenient",)


def _message_texts(tree: ast.AST) -> list[tuple[int, str]]:
    """The literal text of every raise statement and every ``...Error(...)`` call."""
    found: dict[int, tuple[int, str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            scope: ast.AST = node.exc
        elif isinstance(node, ast.Call) and _called(node).endswith("Error"):
            scope = node
        else:
            continue
        for part in ast.walk(scope):
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                found[id(part)] = (part.lineno, part.value)
    return sorted(found.values())


def _called(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _flags_in(source: str) -> list[str]:
    return [
        f"line {line}: {text!r}"
        for line, text in _message_texts(ast.parse(source))
        if FLAG.search(COMMAND.sub("", text))
    ]


def test_the_guard_sees_flags_in_messages_and_nothing_else() -> None:
    source = '''
def f(x):
    """Pass ``--lenient`` on the command line."""  # --docstrings and comments may name flags
    if x:
        raise DataError(f"column {x!r} is bad; pass --lenient to keep it")
    if not x:
        raise DataError("no knowledge base; run `metarec kb build --from DIR`")
    return KnowledgeBaseError("or point --kb at a valid one")
'''
    assert [hit.split(":")[0] for hit in _flags_in(source)] == ["line 5", "line 8"]


def test_library_messages_name_parameters_not_flags() -> None:
    offenders = []
    for package in LIBRARY:
        for path in sorted((REPO / package).rglob("*.py")):
            hits = _flags_in(path.read_text(encoding="utf-8"))
            offenders += [f"{path.relative_to(REPO)} {hit}" for hit in hits]
    assert not offenders, (
        "library messages must name the parameter (`lenient=True`, parameters=(...)) and leave "
        "the flag to metarec.cli.errors.FLAGS:\n" + "\n".join(offenders)
    )
