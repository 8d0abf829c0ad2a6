"""Which kind of input a text is (SPEC §2): `.ipynb` is a notebook; a text whose first
code line begins with `>>> ` is a transcript; anything else is a script. Cheap enough for
the quick eval path (no dataclasses, no JSON)."""

from __future__ import annotations

import re

PROMPT = re.compile(r"^\s*>>>( |$)", re.M)
# Files whose prose may come before the first example (a docstring pasted into a file).
TEXT_SUFFIXES = (".txt", ".rst", ".md", ".doctest", ".text")


def document_kind(filename: str, text: str) -> str:
    """"notebook", "transcript" or "script"."""
    if filename.lower().endswith(".ipynb"):
        return "notebook"
    if ">>>" in text and is_transcript(text, filename):
        return "transcript"
    return "script"


def is_transcript(text: str, filename: str = "") -> bool:
    """A text whose first code line begins with `>>> `; a text file (.txt, .rst, .md) is
    one as soon as any line does (prose may come first, as in a docstring)."""
    for line in text.split("\n"):
        code = line.strip()
        if not code or code.startswith("#"):
            continue
        if code in ('"""', "'''", 'r"""'):  # a pasted docstring's opening quotes
            continue
        if code == ">>>" or code.startswith(">>> "):
            return True
        break
    return filename.lower().endswith(TEXT_SUFFIXES) and PROMPT.search(text) is not None
