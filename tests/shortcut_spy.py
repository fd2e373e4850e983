"""A spy for the PERF shortcuts that return None when they do not apply (tests only)."""
from __future__ import annotations


def count_answers(monkeypatch, module, name: str) -> list:
    """Replace `module.name` by a spy; the returned list gets the args of each call it answered
    (returned something other than None)."""
    answered = []
    real = getattr(module, name)

    def spy(*args):
        out = real(*args)
        if out is not None:
            answered.append(args)
        return out
    monkeypatch.setattr(module, name, spy)
    return answered
