"""The Python snippets of docs/keras.md (the course notes' Keras code), for the Keras tests."""
from __future__ import annotations

import contextlib
import io
import pathlib
import re

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "keras.md"


def snippets() -> dict[str, str]:
    """{"regression": code, "classification": code, "cnn": code}, in the page's order."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 3, f"docs/keras.md should have 3 python snippets, has {len(blocks)}"
    return dict(zip(("regression", "classification", "cnn"), blocks))


def for_real_keras(code: str) -> str:
    """The same snippet with Keras's own imports (`import keras`, `from keras.models import ...`)."""
    return code.replace("from tinygrad_edu import keras", "import keras").replace("tinygrad_edu.keras", "keras")


def until_fit(code: str) -> str:
    """The snippet up to its first `fit` (the model and data, no training)."""
    return code.split("history = model.fit")[0]


def run(code: str) -> tuple[dict, str]:
    """exec the code; returns its namespace and what it printed."""
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), namespace)
    return namespace, out.getvalue()
