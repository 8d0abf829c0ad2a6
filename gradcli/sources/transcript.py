"""Transcripts: text (or a docstring pasted into a file) whose examples begin with `>>> `
and `... `, each followed by the output it expects, as Python's `doctest` reads them.

The examples are found by doctest's own parser and their output is checked by doctest's
own checker (Python's standard library: `# doctest: +SKIP`, `+ELLIPSIS`,
`+NORMALIZE_WHITESPACE` and the other directives mean what they mean there), with one
addition: object addresses (`<AddBackward0 object at 0x7fc581b8c100>`) are compared
loosely, since no two runs share them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gradcli.sources.kind import is_transcript  # noqa: F401 - part of this module's API

ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b")


@dataclass
class Example:
    number: int  # 1-based, in the file
    source: str  # the code, prompts removed, dedented
    want: str  # the expected output ("" for none)
    line: int  # 1-based line of its `>>>` in the file
    indent: int  # columns before `>>>`
    options: dict  # doctest option flag -> bool
    exc_msg: str | None  # the expected exception's `Type: message`, if it expects one
    want_line: int  # 1-based line where the expected output starts (or would)

    @property
    def skip(self) -> bool:
        import doctest

        return bool(self.options.get(doctest.SKIP))

    def first_line(self) -> int:
        """Where the example's code sits in the program text: its line L is line
        first_line + L."""
        return self.line - 1


@dataclass
class Transcript:
    filename: str
    text: str
    examples: list[Example]

    def script(self) -> str:
        """The examples' code at their lines of the file, other lines blank: the program
        text that line numbers (and the --trace labels) refer to."""
        lines = [""] * (self.text.count("\n") + 1)
        for example in self.examples:
            for offset, code in enumerate(example.source.rstrip("\n").split("\n")):
                if example.line - 1 + offset < len(lines):
                    lines[example.line - 1 + offset] = code
        return "\n".join(lines)


class TranscriptError(Exception):
    """The examples cannot be read (doctest's parser refuses them): exit 3."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message, self.line = message, line


# A pasted docstring's own quotes are not part of its text (Python strips them).
_QUOTES = re.compile(r'^\s*[rRuU]?("""|\'\'\')\s*$')


def read_transcript(text: str, filename: str) -> Transcript:
    import doctest

    parser = doctest.DocTestParser()
    examples = []
    # The quote lines become blank lines, so the line numbers stay the file's.
    readable = "\n".join("" if _QUOTES.match(line) else line for line in text.split("\n"))
    try:
        items = parser.parse(readable, filename)
    except ValueError as exc:
        # `line 7 of the docstring for doc.txt has inconsistent leading whitespace: ...`
        found = re.search(r"line (\d+) of", str(exc))
        message = re.sub(r"^line \d+ of the docstring for \S+ has ", "", str(exc))
        raise TranscriptError(message, int(found.group(1)) if found else None) from None
    for item in items:
        if not isinstance(item, doctest.Example):
            continue
        source_lines = item.source.count("\n") or 1
        examples.append(Example(
            number=len(examples) + 1, source=item.source, want=item.want,
            line=item.lineno + 1, indent=item.indent, options=dict(item.options),
            exc_msg=item.exc_msg, want_line=item.lineno + 1 + source_lines,
        ))  # fmt: skip
    return Transcript(filename, text, examples)


def check(example: Example, got: str, error=None) -> bool:
    """Whether `got` (and the error raised, if any) is what the example expects, as
    doctest decides it, addresses compared loosely."""
    import doctest

    flags = 0
    for flag, on in example.options.items():
        flags = flags | flag if on else flags & ~flag
    checker = doctest.OutputChecker()
    if error is not None:
        if example.exc_msg is None:
            return False
        return checker.check_output(_loose(example.exc_msg), _loose(exception_text(error)),
                                    flags)
    if example.exc_msg is not None:
        return False
    return checker.check_output(_loose(example.want), _loose(got), flags)


def exception_text(error) -> str:
    """The last line of the traceback Python prints: `RuntimeError: message`."""
    return f"{error.type}: {error.message}\n"


def got_text(got: str, error) -> str:
    """What the example printed, as the interactive interpreter shows an error after it."""
    if error is None:
        return got
    return got + "Traceback (most recent call last):\n  ...\n" + exception_text(error)


def _loose(text: str) -> str:
    return ADDRESS.sub("0x...", text)


def report(example: Example, filename: str, got: str, error=None) -> str:
    """doctest's failure report for one example."""
    rule = "*" * 70
    code = "".join("    " + line + "\n" for line in example.source.rstrip("\n").split("\n"))
    text = f"{rule}\nFile \"{filename}\", line {example.line}\nFailed example:\n{code}"
    if error is not None and example.exc_msg is None:
        return text + "Exception raised:\n" + _indent(got_text(got, error))
    want = example.want
    text += ("Expected:\n" + _indent(want)) if want else "Expected nothing\n"
    shown = got_text(got, error) if error is not None else got
    text += ("Got:\n" + _indent(shown)) if shown else "Got nothing\n"
    return text


def _indent(text: str) -> str:
    return "".join("    " + line + "\n" for line in text.rstrip("\n").split("\n"))


def with_wants(transcript: Transcript, gots: dict[int, str]) -> str:
    """The transcript's text with each example's expected output replaced by `gots`
    (example number -> output), indented as the example is; skipped examples and examples
    not in `gots` keep theirs."""
    lines = transcript.text.split("\n")
    # Work from the end so earlier line numbers stay valid.
    for example in sorted(transcript.examples, key=lambda e: e.line, reverse=True):
        if example.number not in gots or example.skip:
            continue
        start = example.want_line - 1
        end = start + (example.want.count("\n") if example.want else 0)
        pad = " " * example.indent
        got = gots[example.number]
        # doctest reads an empty line as the end of the output: it writes <BLANKLINE>.
        new = [pad + (line or "<BLANKLINE>") for line in got.rstrip("\n").split("\n")] \
            if got else []
        lines[start:end] = new
    return "\n".join(lines)
