"""Transcripts (SPEC §1.8): `>>> ` examples run as Python's interactive interpreter runs
them and are checked as doctest checks them. The transcripts under examples/lessons/ hold
PyTorch docstring examples whose expected output real PyTorch wrote
(tools/gen_lessons.py); tests/data/lessons/autograd_basics_altered.txt is the same lesson
with one output altered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradcli.cli.group import cli
from gradcli.runtime.documents import run_transcript
from gradcli.sources.kind import document_kind
from gradcli.sources.transcript import check, read_transcript, report, with_wants

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "examples" / "lessons"
ALTERED = ROOT / "tests" / "data" / "lessons" / "autograd_basics_altered.txt"


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r}") from result.exception
    return result


def transcript_run(text: str, name: str = "t.txt"):
    return run_transcript(read_transcript(text, name))


@pytest.mark.parametrize("name, text, kind", [
    ("lesson.ipynb", "{}", "notebook"),
    ("doc.txt", ">>> x = 1\n", "transcript"),
    ("doc.expr", "\n# a comment\n>>> x = 1\n", "transcript"),
    ("doc.txt", "Some prose first, as in a docstring.\n\n    >>> x = 1\n    >>> x\n    1\n",
     "transcript"),
    ("doc.expr", "x = 1\n# >>> x\n", "script"),
    ("prog.expr", "x = 1\ny = '>>> '\n", "script"),
    ("<stdin>", '"""\n>>> x = 1\n"""\n', "transcript"),
])
def test_kind_by_suffix_and_first_code_line(name, text, kind):
    assert document_kind(name, text) == kind


def test_examples_run_in_one_namespace_as_the_interactive_interpreter():
    run = transcript_run(">>> x = tensor([1., 2.])\n>>> x * 2\ntensor([2., 4.])\n"
                         ">>> print('a'); x.sum()\na\ntensor(3.)\n>>> None\n")
    assert [e.passed for e in run.examples] == [True, True, True, True]
    assert run.examples[2].got == "a\ntensor(3.)\n"


def test_a_docstring_pasted_into_a_file_works():
    text = '''    """Doubles a tensor.

        >>> x = tensor([1.0, 2.0], requires_grad=True)
        >>> y = x * 2
        >>> y
        tensor([2., 4.], grad_fn=<MulBackward0>)
    """
'''
    run = transcript_run(text)
    assert len(run.examples) == 3 and not run.failures


def test_badly_indented_examples_exit_3(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("    >>> x = 1\n    >>> x\n  1\n")
    result = invoke("eval", path)
    assert result.exit_code == 3
    assert result.stderr.startswith(f"{path}:3: SyntaxError: inconsistent leading whitespace")


def test_mismatch_report_is_doctests():
    run = transcript_run("intro\n>>> x = 1\n>>> x + 1\n3\n")
    (failure,) = run.failures
    assert failure.example.line == 3
    assert report(failure.example, "t.txt", failure.got) == (
        "*" * 70 + '\nFile "t.txt", line 3\nFailed example:\n    x + 1\n'
        "Expected:\n    3\nGot:\n    2\n")


def test_expected_exceptions_compare_type_and_message():
    text = (">>> a = tensor([1., 2.], requires_grad=True)\n>>> a.backward()\n"
            "Traceback (most recent call last):\n  ...\n"
            "RuntimeError: grad can be implicitly created only for scalar outputs\n"
            ">>> a.nope\nTraceback (most recent call last):\nRuntimeError: wrong type\n"
            ">>> a.sum().backward()\n")
    run = transcript_run(text)
    assert [e.passed for e in run.examples] == [True, True, False, True]
    assert run.examples[2].error.type == "AttributeError"


def test_an_unexpected_exception_fails_but_the_next_examples_run():
    run = transcript_run(">>> y = nope\n>>> 1 + 1\n2\n")
    assert [e.passed for e in run.examples] == [False, True]
    failure = run.examples[0]
    text = report(failure.example, "t.txt", failure.got, failure.error)
    assert "Exception raised:" in text and "NameError: name 'nope' is not defined" in text


@pytest.mark.parametrize("directive, want, got, holds", [
    ("", "tensor([2., 4.])\n", "tensor([2., 4.])\n", True),
    ("", "tensor([2., 4.])\n", "tensor([2.,  4.])\n", False),
    ("  # doctest: +NORMALIZE_WHITESPACE", "tensor([2., 4.])\n", "tensor([2.,\n 4.])\n", True),
    ("  # doctest: +ELLIPSIS", "tensor([2., ...])\n", "tensor([2., 4., 6.])\n", True),
    ("", "tensor([2., ...])\n", "tensor([2., 4., 6.])\n", False),
    ("", "<AddBackward0 object at 0x7fc581b8c100>\n",
     "<AddBackward0 object at 0x7f00deadbeef>\n", True),  # addresses compared loosely
    ("", "<AddBackward0 object at 0x7fc581b8c100>\n", "<MulBackward0 object at 0x1>\n",
     False),
])
def test_doctest_directives_and_loose_addresses(directive, want, got, holds):
    (example,) = read_transcript(f">>> x{directive}\n{want}", "t.txt").examples
    assert check(example, got) is holds


def test_skip_does_not_run_the_example():
    run = transcript_run(">>> y = nope  # doctest: +SKIP\n>>> z = 1\n>>> z\n1\n")
    assert run.examples[0].skipped and not run.failures


def test_pytorch_docstring_transcripts_pass():
    for path in sorted(LESSONS.glob("*.txt")):
        result = invoke("eval", path)
        assert result.exit_code == 0, result.stderr
        assert result.stderr == ""


def test_one_altered_output_fails_at_its_line():
    result = invoke("eval", ALTERED)
    assert result.exit_code == 1
    assert (f'File "{ALTERED}", line 15\nFailed example:\n    a.grad\nExpected:\n'
            "    tensor([ 6.,  9., 10.])\nGot:\n    tensor([ 6.,  8., 10.])\n") in result.stderr
    assert result.stderr.count("Failed example") == 1
    doc = json.loads(invoke("eval", ALTERED, "--format", "json").stdout)
    failed = [e for e in doc["examples"] if not e["passed"]]
    assert [e["line"] for e in failed] == [15]
    assert doc["ok"] is False and doc["error"] is None
    doc = json.loads(invoke("eval", LESSONS / "autograd_basics_docs.txt", "--format",
                            "json").stdout)
    assert doc["ok"] is True and doc["error"] is None  # an expected exception is no error


def test_eval_replays_the_transcript():
    result = invoke("eval", LESSONS / "autograd_basics_docs.txt")
    assert ">>> b\ntensor([3., 4., 5.], grad_fn=<AddBackward0>)\n" in result.stdout
    assert ">>> out.backward()\nTraceback (most recent call last):\n  ...\nRuntimeError: " \
           "Trying to backward through the graph a second time" in result.stdout


def test_with_wants_rewrites_expected_output_in_place():
    transcript = read_transcript("  >>> x = 1\n  >>> x\n  5\n  >>> print('a\\n\\nb')\n  a\n",
                                 "t.txt")
    text = with_wants(transcript, {2: "1\n", 3: "a\n\nb\n"})
    assert text == "  >>> x = 1\n  >>> x\n  1\n  >>> print('a\\n\\nb')\n  a\n  <BLANKLINE>\n  b\n"
    assert not transcript_run(text).failures


def test_trace_follows_the_example_that_ran_backward():
    result = invoke("eval", LESSONS / "autograd_basics_docs.txt", "--trace", "--no-color")
    assert result.exit_code == 0
    assert ">>> out.backward()\nbackward pass 1 · line 14 · out.backward()\n" in result.stdout
    assert result.stdout.index("backward pass 1") < result.stdout.index(">>> a.grad")
