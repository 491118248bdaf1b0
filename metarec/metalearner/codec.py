"""Save and load a fitted meta-learner without pickle.

A fitted :class:`metarec.metalearner.MetaLearner` is a tree of plain values, numpy arrays,
pandas indexes and frames, metarec's own model classes, LightGBM boosters and scikit-learn
estimators. The tree is written as ``state.json`` (structure and small values), ``arrays.npz``
(numpy arrays, loaded with ``allow_pickle=False``), one LightGBM text model per booster (LightGBM's
own format: numbers, no code) and one skops file per scikit-learn estimator (loaded with a fixed
list of trusted types; skops is imported only when a learner holds one, as it costs seconds).
Only classes defined in ``metarec.metalearner`` are rebuilt from the JSON; any other class name in
a file is refused, so a tampered file cannot run code; a booster file must match the checksum
recorded beside it.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metarec.errors import KnowledgeBaseError

FORMAT = 1
OWN_MODULE_PREFIX = "metarec.metalearner."
# Types a stored estimator may contain; anything else makes loading fail.
TRUSTED_SKOPS_TYPES = [
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMRegressor",
    "lightgbm.sklearn.LGBMRanker",
    "sklearn.tree._tree.Tree",
]


def _sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _is_estimator(value: Any) -> bool:
    module = type(value).__module__
    return module.startswith(("sklearn.", "lightgbm.")) and hasattr(value, "get_params")


class _Writer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.arrays: dict[str, np.ndarray] = {}
        self.array_keys: dict[int, str] = {}
        self.keep_alive: list[np.ndarray] = []  # ids stay unique while the writer runs
        self.n_estimators = 0
        self.n_boosters = 0

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            return value if np.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, np.generic):
            return self.encode(value.item())
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                return {"__objarray__": [self.encode(v) for v in value.tolist()]}
            # The same array may be referenced many times (e.g. every tree's training data).
            key = self.array_keys.get(id(value))
            if key is None:
                key = f"a{len(self.arrays)}"
                self.arrays[key] = value
                self.array_keys[id(value)] = key
                self.keep_alive.append(value)
            return {"__array__": key}
        if isinstance(value, pd.Index):
            return {
                "__index__": self.encode(value.to_numpy()),
                "name": self.encode(value.name),
                "dtype": str(value.dtype),
            }
        if isinstance(value, pd.DataFrame):
            return {
                "__frame__": self.encode(value.to_numpy()),
                "index": self.encode(value.index),
                "columns": self.encode(value.columns),
            }
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v) for v in value]}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            return {"__dict__": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if type(value).__module__ == "lightgbm.basic" and type(value).__name__ == "Booster":
            name = f"booster{self.n_boosters}.txt"
            self.n_boosters += 1
            text = value.model_to_string()
            (self.directory / name).write_text(text, encoding="utf-8")
            return {"__booster__": name, "sha256": _sha256(text)}
        if _is_estimator(value):
            import skops.io as sio

            name = f"estimator{self.n_estimators}.skops"
            self.n_estimators += 1
            sio.dump(value, self.directory / name)
            return {"__estimator__": name}
        cls = type(value)
        if cls.__module__.startswith(OWN_MODULE_PREFIX) or cls.__module__ == "metarec.metalearner":
            return {
                "__object__": f"{cls.__module__}:{cls.__qualname__}",
                "state": self.encode(dict(vars(value))),
            }
        raise TypeError(f"cannot store a {cls.__module__}.{cls.__qualname__} in a meta-learner")


class _Reader:
    def __init__(self, directory: Path, arrays: Any) -> None:
        self.directory = directory
        self.arrays = arrays

    def decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "__float__" in value:
            return float(value["__float__"])
        if "__array__" in value:
            return self.arrays[value["__array__"]]
        if "__objarray__" in value:
            return np.array([self.decode(v) for v in value["__objarray__"]], dtype=object)
        if "__index__" in value:
            index = pd.Index(self.decode(value["__index__"]), name=self.decode(value["name"]))
            return index.astype("string") if value.get("dtype") == "string" else index
        if "__frame__" in value:
            return pd.DataFrame(
                self.decode(value["__frame__"]),
                index=self.decode(value["index"]),
                columns=self.decode(value["columns"]),
            )
        if "__tuple__" in value:
            return tuple(self.decode(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {self.decode(k): self.decode(v) for k, v in value["__dict__"]}
        if "__booster__" in value:
            from lightgbm import Booster

            name = Path(value["__booster__"]).name  # never leave the learner's directory
            text = (self.directory / name).read_text(encoding="utf-8")
            # LightGBM aborts the whole process on a truncated model: check before parsing.
            if _sha256(text) != value.get("sha256"):
                raise ValueError(f"{name} does not match its checksum")
            return Booster(model_str=text)
        if "__estimator__" in value:
            import skops.io as sio

            name = Path(value["__estimator__"]).name  # never leave the learner's directory
            return sio.load(self.directory / name, trusted=TRUSTED_SKOPS_TYPES)
        if "__object__" in value:
            return self._object(value["__object__"], self.decode(value["state"]))
        raise KnowledgeBaseError("a stored meta-learner holds an unknown kind of value.")

    @staticmethod
    def _object(name: str, state: dict[str, Any]) -> Any:
        module_name, _, qualname = name.partition(":")
        own = module_name.startswith(OWN_MODULE_PREFIX) or module_name == "metarec.metalearner"
        if not own or "." in qualname:
            raise KnowledgeBaseError(f"a stored meta-learner names a foreign class ({name}).")
        cls = getattr(importlib.import_module(module_name), qualname, None)
        if not isinstance(cls, type):
            raise KnowledgeBaseError(f"a stored meta-learner names an unknown class ({name}).")
        obj = cls.__new__(cls)
        # vars() of a frozen dataclass is writable even though its attributes are not.
        vars(obj).update(state)
        return obj


def save(learner: Any, directory: Path) -> None:
    """Write ``learner`` into the (new, empty) ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    writer = _Writer(directory)
    state = writer.encode(learner)
    np.savez(directory / "arrays.npz", **writer.arrays)
    payload = {"format": FORMAT, "learner": state}
    (directory / "state.json").write_text(json.dumps(payload), encoding="utf-8")


def load(directory: Path) -> Any:
    """Read a learner written by :func:`save`; a damaged one raises KnowledgeBaseError."""
    try:
        payload = json.loads((directory / "state.json").read_text(encoding="utf-8"))
        if payload.get("format") != FORMAT:
            raise KnowledgeBaseError(
                f"the stored meta-learner at {directory} is of another format."
            )
        with np.load(directory / "arrays.npz", allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        return _Reader(directory, arrays).decode(payload["learner"])
    except KnowledgeBaseError:
        raise
    except Exception as exc:  # json, zip, skops and numpy each raise their own types
        raise KnowledgeBaseError(
            f"the stored meta-learner at {directory} is damaged ({type(exc).__name__}); delete "
            "that folder and metarec will fit the learner again."
        ) from None
