"""The result documents' JSON Schema (``docs/result.schema.json``) for the tests: a validator,
and a wrapper of :func:`scenedet.files.write_text` that checks every result document written."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "result.schema.json"


@functools.lru_cache(maxsize=None)
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=None)
def validator(definition: str | None = None) -> Any:
    """A validator of the whole schema (a result or a run document), or of one ``$defs`` entry."""
    from jsonschema import Draft202012Validator

    whole = schema()
    Draft202012Validator.check_schema(whole)
    if definition is None:
        return Draft202012Validator(whole)
    return Draft202012Validator({"$id": whole["$id"], "$defs": whole["$defs"],
                                 "$ref": f"#/$defs/{definition}"})


def problems(data: Any, definition: str | None = None) -> list[str]:
    """Why ``data`` is not valid (empty: it is), one line each, with where in the document.

    Without ``definition`` a run document is checked as one and anything else as a result
    (what the schema's top-level ``oneOf`` says, with the errors of the branch that applies).
    """
    if definition is None:
        run = isinstance(data, dict) and data.get("scenedet") == "run"
        definition = "run" if run else "result"
        assert validator(None).is_valid(data) == validator(definition).is_valid(data)
    out = []
    for error in sorted(validator(definition).iter_errors(data), key=lambda e: list(e.path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        out.append(f"{where}: {error.message[:300]}")
    return out


def result_documents(text: str) -> list[tuple[Any, str | None]]:
    """The result documents in a written JSON text, each with the definition it must follow:
    a run document or a single result (the whole schema), or the items of the old list form.
    Anything else (annotations, reports, a bare ``{"segments"}``) is no result document."""
    if not text.lstrip()[:1] in ("{", "["):
        return []
    try:
        data = json.loads(text)
    except ValueError:
        return []

    def is_result(item: Any) -> bool:
        return isinstance(item, dict) and "segments" in item and "scene" in item

    if isinstance(data, dict) and (data.get("scenedet") == "run" or is_result(data)):
        return [(data, None)]
    if isinstance(data, list) and data and all(is_result(d) for d in data):
        return [(d, "result") for d in data]
    return []


def checked_writer(write_text: Any, failures: list[str]) -> Any:
    """``write_text`` that first records, in ``failures``, each invalid result document."""

    @functools.wraps(write_text)
    def write(path: Any, text: str) -> Any:
        for data, definition in result_documents(text):
            for line in problems(data, definition):
                failures.append(f"{path}: {line}")
        return write_text(path, text)

    return write
