"""Shared output helpers: JSON that is always valid, rich consoles on the right stream."""

from __future__ import annotations

import json
from typing import Any

from metarec.jsonable import to_jsonable


def dumps(payload: Any) -> str:
    return json.dumps(to_jsonable(payload), indent=2, allow_nan=False)
