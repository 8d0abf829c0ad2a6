"""The command line (SPEC §2): exit codes, error and warning formats, input handling,
the JSON and TSV formats, --set/--seed, colour, and that no traceback ever escapes.

Most checks run in-process through click's CliRunner (fast); the ones that depend on
the real entry point (``gradcli.cli.main:main``: byte decoding, closed pipes, terminals)
run ``python -m gradcli`` as a subprocess.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradcli import __version__
from gradcli.cli.group import cli

ANSI = "\x1b["

OK_PROGRAM = """a = torch.tensor([1.0, 2.0], requires_grad=True)
b = (a * a).sum()
b.backward()
print(a.grad)
"""
ERROR_PROGRAM = """a = torch.tensor([1.0, 2.0], requires_grad=True)
b = a * 2
b.backward()
c = torch.ones(2)
"""
SYNTAX_PROGRAM = """a = torch.tensor([1.0])
b = (a +
"""
WARN_PROGRAM = """a = torch.tensor([1.0, 2.0], requires_grad=True)
b = a * 2
c = b.grad
"""
NON_LEAF_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
    "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
    "instead. See github.com/pytorch/pytorch/pull/30531 for more information. (Triggered "
    "internally at /__w/pytorch/pytorch/build/aten/src/ATen/core/TensorBody.h:493.)"
)
DOC_KEYS = {"version", "ok", "stdout", "warnings", "tensors", "error"}
TENSOR_KEYS = {"name", "shape", "dtype", "requires_grad", "is_leaf", "grad_fn", "data", "grad"}
ERROR_KEYS = {"type", "message", "line", "column"}
TSV_HEADER = "name\tshape\tdtype\trequires_grad\tis_leaf\tgrad_fn\tdata\tgrad"


# ----- helpers -------------------------------------------------------------------------------


def invoke(*args, input=None, env=None):
    """Run `gradcli ARGS` in-process; no uncaught exception may escape the command."""
    result = CliRunner().invoke(cli, list(args), input=input, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r}") from result.exception
    for text in (result.stdout, result.stderr):
        assert "Traceback" not in text
    return result


def clean_env(**extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "GRADCLI_DEBUG")
    }
    env.update(extra)
    return env


def gradcli(*args, input: bytes | None = None, env=None, cwd=None):
    """Run `python -m gradcli ARGS` as a real process (bytes in, text out)."""
    proc = subprocess.run(
        [sys.executable, "-m", "gradcli", *map(str, args)],
        input=input if input is not None else b"",
        capture_output=True,
        env=env or clean_env(),
        cwd=cwd,
        timeout=60,
    )
    out = proc.stdout.decode("utf-8", errors="replace")
    err = proc.stderr.decode("utf-8", errors="replace")
    assert "Traceback" not in out and "Traceback" not in err, err
    return proc.returncode, out, err


@pytest.fixture
def write(tmp_path):
    def write_file(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    return write_file


def tensors_by_name(doc: dict) -> dict:
    return {t["name"]: t for t in doc["tensors"]}


# ----- exit codes (SPEC §2.2) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("program", "code"),
    [(OK_PROGRAM, 0), (ERROR_PROGRAM, 1), (SYNTAX_PROGRAM, 3), ("", 0)],
    ids=["ok", "runtime-error", "syntax-error", "empty"],
)
def test_exit_codes_for_programs(write, program, code):
    path = write("prog.expr", program)
    assert invoke("eval", str(path)).exit_code == code
    assert invoke("eval", "-e", program).exit_code == code
    assert invoke("eval", "-", input=program).exit_code == code


@pytest.mark.parametrize(
    "args",
    [
        ["eval", "--bogus", "-e", "a = 1"],
        ["eval", "does-not-exist.expr"],
        ["eval", "--format", "xml", "-e", "a = 1"],
        ["eval", "--seed", "abc", "-e", "a = 1"],
        ["eval", "--set", "no_equals_sign", "-e", "a = torch.tensor(1.0)"],
        ["frobnicate"],
    ],
    ids=["unknown-option", "missing-file", "bad-format", "bad-seed", "bad-set", "unknown-command"],
)
def test_command_line_errors_exit_2(args):
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Error" in result.stderr or "Usage" in result.stderr


def test_file_and_expression_together_is_a_usage_error(write):
    path = write("prog.expr", OK_PROGRAM)
    assert invoke("eval", str(path), "-e", "a = 1").exit_code == 2


def test_exit_codes_through_the_real_entry_point(tmp_path):
    cases = {
        "ok.expr": (OK_PROGRAM.encode(), 0),
        "err.expr": (ERROR_PROGRAM.encode(), 1),
        "syntax.expr": (SYNTAX_PROGRAM.encode(), 3),
        "badutf8.expr": (b'a = 1\nb = "\xff"\n', 3),
        "nul.expr": (b"a = 1\nb\x00 = 2\n", 3),
    }
    for name, (content, _) in cases.items():
        (tmp_path / name).write_bytes(content)
    for name, (_, code) in cases.items():
        assert gradcli("eval", name, cwd=tmp_path)[0] == code, name
    assert gradcli("eval", "missing.expr", cwd=tmp_path)[0] == 2
    assert gradcli("eval", "--bogus", "ok.expr", cwd=tmp_path)[0] == 2


# ----- the error format on stderr -----------------------------------------------------------


def test_runtime_error_format(write):
    path = write("err.expr", ERROR_PROGRAM)
    result = invoke("eval", str(path))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[:3] == [
        f"{path}:3:1: RuntimeError: grad can be implicitly created only for scalar outputs",
        "    b.backward()",
        "    ^^^^^^^^^^^^",  # CPython 3.11's span: the whole failing call
    ]
    assert all(line.startswith("hint: ") for line in lines[3:])  # gradcli's own, optional


def test_error_caret_points_at_the_column_inside_a_block(write):
    path = write("col.expr", "x = torch.ones(2)\nif True:\n    y = x @ torch.ones(3)\n")
    result = invoke("eval", str(path))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{path}:3:9: RuntimeError: inconsistent tensor size")
    assert lines[1] == "    y = x @ torch.ones(3)"
    # from the `x` of column 9 to the end of `x @ torch.ones(3)`, the indentation removed
    assert lines[2] == "        ^^^^^^^^^^^^^^^^^"


def test_syntax_error_format(write):
    path = write("syn.expr", "a = torch.tensor([1.0]\nb = 1\n")
    result = invoke("eval", str(path))
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        f"{path}:1:17: SyntaxError: '(' was never closed",
        "    a = torch.tensor([1.0]",
        "                    ^",
    ]
    assert result.stdout == ""


def test_error_filename_for_stdin_and_expression():
    assert invoke("eval", "-e", "x = 1 / 0").stderr.startswith(
        "<string>:1:5: ZeroDivisionError: division by zero"
    )
    assert invoke("eval", "-", input="\nx = 1 / 0\n").stderr.startswith(
        "<stdin>:2:5: ZeroDivisionError: division by zero"
    )


# ----- input: stdin, -e, BOM, CRLF, bad bytes -----------------------------------------------


def test_dash_and_piped_stdin_read_the_program():
    for args in (["eval", "-"], ["eval"]):
        result = invoke(*args, "--format", "json", input=OK_PROGRAM)
        assert result.exit_code == 0
        doc = json.loads(result.stdout)
        assert doc["stdout"] == ["tensor([2., 4.])"]
        assert tensors_by_name(doc)["a"]["grad"] == [2.0, 4.0]


def test_piped_stdin_through_a_real_process():
    code, out, err = gradcli("eval", "--format", "json", input=OK_PROGRAM.encode())
    assert code == 0, err
    assert tensors_by_name(json.loads(out))["a"]["grad"] == [2.0, 4.0]
    code, out, err = gradcli("eval", "-", "--format", "tsv", input=b"x = torch.ones(2)\n")
    assert code == 0 and out.splitlines()[1].startswith("x\t(2,)\tfloat32")


def test_expression_option():
    result = invoke(
        "eval",
        "-e",
        "a = torch.tensor(3.0, requires_grad=True); b = a * a; b.backward()",
        "--format",
        "json",
    )
    assert result.exit_code == 0
    t = tensors_by_name(json.loads(result.stdout))
    assert t["a"]["grad"] == 6.0 and t["b"]["grad_fn"] == "MulBackward0"


def test_utf8_bom_and_crlf_are_accepted(write):
    source = (
        "\ufeffa = torch.tensor([1.0,\r\n  2.0], requires_grad=True)\r\n"
        "b = a.sum()\r\nb.backward()\r\nprint('ok')\r\n"
    )
    path = write("bom.expr", source.encode("utf-8"))
    result = invoke("eval", str(path), "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["stdout"] == ["ok"]
    assert tensors_by_name(doc)["a"]["grad"] == [1.0, 1.0]


def test_crlf_errors_report_the_right_line_without_carriage_returns(write):
    path = write("crlf.expr", b"a = torch.ones(2)\r\nb = a[7]\r\n")
    result = invoke("eval", str(path))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert (
        lines[0] == f"{path}:2:5: IndexError: index 7 is out of bounds for dimension 0 with size 2"
    )
    assert lines[1] == "    b = a[7]"
    assert "\r" not in result.stderr


def test_bom_and_crlf_through_a_real_process():
    code, out, err = gradcli("eval", "--format", "tsv", input=b"\xef\xbb\xbfx = torch.ones(2)\r\n")
    assert code == 0, err
    assert out.splitlines()[1].startswith("x\t(2,)\t")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'a = 1\nb = "\xff"\n', "(unicode error) 'utf-8' codec can't decode byte 0xff"),
        (b"a = 1\nb\x00 = 2\n", "source code cannot contain null bytes"),
    ],
    ids=["invalid-utf8", "nul-byte"],
)
def test_undecodable_input_is_a_syntax_error(tmp_path, content, message):
    (tmp_path / "bad.expr").write_bytes(content)
    code, out, err = gradcli("eval", "bad.expr", "--format", "json", cwd=tmp_path)
    assert code == 3
    assert err.startswith("bad.expr:2:")
    assert f"SyntaxError: {message}" in err
    doc = json.loads(out)
    assert set(doc) == DOC_KEYS
    assert doc["ok"] is False and doc["tensors"] == []
    assert doc["error"]["type"] == "SyntaxError" and doc["error"]["line"] == 2
    # the same bytes on stdin
    code, _, err = gradcli("eval", input=content)
    assert code == 3 and err.startswith("<stdin>:2:")


# ----- JSON (SPEC §2.1) ----------------------------------------------------------------------


def test_json_document_of_a_successful_run():
    result = invoke("eval", "-e", OK_PROGRAM, "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert set(doc) == DOC_KEYS
    assert doc["version"] == 1 and doc["ok"] is True and doc["error"] is None
    assert doc["stdout"] == ["tensor([2., 4.])"] and doc["warnings"] == []
    assert [t["name"] for t in doc["tensors"]] == ["a", "b"]
    for t in doc["tensors"]:
        assert set(t) == TENSOR_KEYS
    a, b = doc["tensors"]
    assert a == {
        "name": "a", "shape": [2], "dtype": "float32", "requires_grad": True, "is_leaf": True,
        "grad_fn": None, "data": [1.0, 2.0], "grad": [2.0, 4.0],
    }  # fmt: skip
    assert b == {
        "name": "b", "shape": [], "dtype": "float32", "requires_grad": True, "is_leaf": False,
        "grad_fn": "SumBackward0", "data": 5.0, "grad": None,
    }  # fmt: skip


def test_json_document_on_failure_lists_tensors_bound_before_it():
    result = invoke("eval", "-e", ERROR_PROGRAM, "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert set(doc) == DOC_KEYS
    assert doc["ok"] is False
    assert set(doc["error"]) <= ERROR_KEYS | {"hint"} and ERROR_KEYS <= set(doc["error"])
    assert {k: doc["error"][k] for k in ERROR_KEYS} == {
        "type": "RuntimeError",
        "message": "grad can be implicitly created only for scalar outputs",
        "line": 3,
        "column": 1,
    }
    assert [t["name"] for t in doc["tensors"]] == ["a", "b"]  # not c: bound after the failure
    assert "RuntimeError" in result.stderr


def test_json_document_of_a_syntax_error():
    result = invoke("eval", "-e", SYNTAX_PROGRAM, "--format", "json")
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert set(doc) == DOC_KEYS
    assert doc["ok"] is False and doc["tensors"] == [] and doc["stdout"] == []
    assert doc["error"]["type"] == "SyntaxError"
    assert isinstance(doc["error"]["line"], int) and isinstance(doc["error"]["column"], int)


def test_json_special_values_and_0d():
    program = (
        "x = torch.tensor([float('nan'), float('inf'), -float('inf')])\n"
        "s = torch.tensor(2.5, dtype=torch.float64)\n"
        "i = torch.tensor([[1, 2]])\n"
        "m = torch.tensor([True, False])\n"
        "n = 7\n"
    )
    result = invoke("eval", "-e", program, "--format", "json")
    t = tensors_by_name(json.loads(result.stdout))
    assert list(t) == ["x", "s", "i", "m"]  # only names bound to tensors
    assert t["x"]["data"] == ["nan", "inf", "-inf"]
    assert t["s"]["data"] == 2.5 and t["s"]["shape"] == [] and t["s"]["dtype"] == "float64"
    assert t["i"]["data"] == [[1, 2]] and t["i"]["dtype"] == "int64"
    assert t["m"]["data"] == [True, False] and t["m"]["dtype"] == "bool"
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout


def test_json_warnings():
    result = invoke("eval", "-e", WARN_PROGRAM, "--format", "json")
    doc = json.loads(result.stdout)
    assert doc["warnings"] == [{"message": NON_LEAF_WARNING, "line": 3, "column": 5}]


# ----- TSV -----------------------------------------------------------------------------------


def test_tsv_header_and_one_row_per_tensor():
    program = (
        "a = torch.tensor([1.0, 2.0], requires_grad=True)\nb = (a * a).sum()\nb.backward()\nn = 3\n"
    )
    result = invoke("eval", "-e", program, "--format", "tsv")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == TSV_HEADER
    assert len(lines) == 3
    rows = [line.split("\t") for line in lines[1:]]
    assert all(len(row) == 8 for row in rows)
    assert rows[0] == ["a", "(2,)", "float32", "True", "True", "None", "[1., 2.]", "[2., 4.]"]
    assert rows[1] == ["b", "()", "float32", "True", "False", "SumBackward0", "5.", "None"]


def test_tsv_prints_come_first_and_rows_stay_on_one_line():
    program = "x = torch.arange(2000.0).reshape(40, 50)\nprint('hello')\n"
    result = invoke("eval", "-e", program, "--format", "tsv")
    lines = result.stdout.splitlines()
    assert lines[0] == "hello" and lines[1] == TSV_HEADER
    assert len(lines) == 3 and len(lines[2].split("\t")) == 8


# ----- --set and --seed -----------------------------------------------------------------------


def test_set_replaces_first_tensor_declaration_keeping_dtype_and_requires_grad():
    program = (
        "a = torch.tensor([1.0, 2.0], requires_grad=True)\n"
        "w = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)\n"
        "k = torch.tensor([1, 2])\n"
        "a = torch.tensor([9.0])\n"
        "b = (w * 2).sum()\n"
        "b.backward()\n"
    )
    result = invoke(
        "eval", "-e", program, "--format", "json",
        "--set", "a=[3, 4]", "--set", "w=[2.5]", "--set", "k=[7.9, 8]",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    t = tensors_by_name(json.loads(result.stdout))
    assert t["a"]["data"] == [9.0]  # the second declaration is untouched
    assert t["w"]["data"] == [2.5] and t["w"]["dtype"] == "float64" and t["w"]["requires_grad"]
    assert t["w"]["grad"] == [2.0]
    assert t["k"]["data"] == [7, 8] and t["k"]["dtype"] == "int64"


def test_set_first_declaration_is_used():
    program = "a = torch.tensor([1.0, 2.0], requires_grad=True)\nb = (a * a).sum()\nb.backward()\n"
    result = invoke("eval", "-e", program, "--format", "json", "--set", "a=[3, -1]")
    t = tensors_by_name(json.loads(result.stdout))
    assert t["a"]["data"] == [3.0, -1.0] and t["a"]["dtype"] == "float32"
    assert t["a"]["requires_grad"] is True and t["a"]["grad"] == [6.0, -2.0]


def test_set_of_an_undeclared_name_fails_cleanly():
    result = invoke("eval", "-e", "a = torch.ones(2) * 2", "--set", "a=[1, 2]")
    assert result.exit_code == 2  # a usage error, before anything runs (issue 11 item 6)
    assert "--set a" in result.stderr and result.stdout == ""


def test_seed_makes_random_programs_reproducible():
    def data(*extra):
        result = invoke("eval", "-e", "x = torch.randn(4)", "--format", "json", *extra)
        return json.loads(result.stdout)["tensors"][0]["data"]

    assert data("--seed", "5") == data("--seed", "5")
    assert data("--seed", "5") != data("--seed", "6")
    # manual_seed in the program wins over --seed, as in PyTorch
    program = "torch.manual_seed(3)\nx = torch.randn(4)"
    one = invoke("eval", "-e", program, "--format", "json", "--seed", "1").stdout
    two = invoke("eval", "-e", program, "--format", "json", "--seed", "2").stdout
    assert json.loads(one)["tensors"] == json.loads(two)["tensors"]


# ----- colour --------------------------------------------------------------------------------


def run_in_pty(args, env) -> str:
    """Run gradcli with stdout on a pseudo-terminal; returns what the terminal received."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradcli", *args],
        stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    proc.wait(timeout=30)
    proc.stderr.close()
    return b"".join(chunks).decode("utf-8", errors="replace")


def test_terminal_output_is_coloured_by_default():
    """The control for the two tests below: on a terminal the table has ANSI styles."""
    out = run_in_pty(["eval", "-e", OK_PROGRAM], clean_env(TERM="xterm-256color"))
    assert "SumBackward0" in out and ANSI in out


def test_no_color_option_writes_no_ansi_on_a_terminal():
    out = run_in_pty(["eval", "--no-color", "-e", OK_PROGRAM], clean_env(TERM="xterm-256color"))
    assert "SumBackward0" in out
    assert ANSI not in out


def test_no_color_environment_writes_no_ansi_on_a_terminal():
    env = clean_env(TERM="xterm-256color", NO_COLOR="1")
    out = run_in_pty(["eval", "-e", OK_PROGRAM], env)
    assert "SumBackward0" in out
    assert ANSI not in out


def test_piped_output_has_no_ansi(tmp_path):
    (tmp_path / "ok.expr").write_text(OK_PROGRAM)
    (tmp_path / "err.expr").write_text(ERROR_PROGRAM)
    for name in ("ok.expr", "err.expr"):
        code, out, err = gradcli("eval", name, cwd=tmp_path, env=clean_env(TERM="xterm-256color"))
        assert "MulBackward0" in out or "SumBackward0" in out
        assert ANSI not in out and ANSI not in err


def test_no_ansi_in_process_with_no_color():
    for env, extra in (({"NO_COLOR": "1"}, []), (None, ["--no-color"])):
        result = invoke("eval", "-e", OK_PROGRAM, *extra, env=env)
        assert ANSI not in result.stdout and ANSI not in result.stderr


# ----- version, warnings -----------------------------------------------------------------------


def test_version():
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert f'\nversion = "{__version__}"\n' in pyproject
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"gradcli, version {__version__}"
    code, out, _ = gradcli("--version")
    assert code == 0 and out.strip() == f"gradcli, version {__version__}"


def test_warnings_go_to_stderr_in_pythons_format(write):
    path = write("warn.expr", WARN_PROGRAM)
    result = invoke("eval", str(path), "--format", "tsv")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        f"{path}:3: UserWarning: {NON_LEAF_WARNING}",
        "  c = b.grad",
    ]
    assert "UserWarning" not in result.stdout


def test_a_warning_in_a_loop_appears_once(write):
    program = (
        "x = torch.tensor([1.0], requires_grad=True)\n"
        "for i in range(3):\n"
        "    y = x * 2\n"
        "    g = y.grad\n"
        "print('done')\n"
    )
    result = invoke("eval", str(write("loop.expr", program)), "--format", "json")
    doc = json.loads(result.stdout)
    assert doc["stdout"] == ["done"]
    assert [(w["line"], w["column"]) for w in doc["warnings"]] == [(4, 9)]
    assert result.stderr.count("UserWarning") == 1


# ----- closed pipes and tracebacks ----------------------------------------------------------------


def _closed_pipe(tmp_path, fmt, extra=()):
    (tmp_path / "many.expr").write_text(
        "x = torch.ones(3)\nfor i in range(20000):\n    print('line', i, 'x' * 40)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradcli", "eval", "many.expr", "--format", fmt, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=clean_env(),
    )  # fmt: skip
    first = proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    err = proc.stderr.read().decode("utf-8", errors="replace")
    proc.stderr.close()
    code = proc.wait(timeout=60)
    return first, code, err


@pytest.mark.parametrize("fmt", ["table", "tsv"])
def test_closed_pipe_exits_without_traceback(tmp_path, fmt):
    first, code, err = _closed_pipe(tmp_path, fmt)
    assert first.startswith(b"line 0 ")
    assert "Traceback" not in err and "Exception ignored" not in err
    assert "internal error" not in err
    assert code == 0  # a closed pipe ends quietly, as `cmd | head -1` expects


@pytest.mark.parametrize("extra", [[], ["--trace"]])  # the quick path and click's
def test_closed_pipe_exits_zero(tmp_path, extra):
    assert _closed_pipe(tmp_path, "table", extra)[1] == 0


# (program, exit code): 1 a program error, 3 a syntax error (def, lambda, class, while
# and del are syntax errors until issue 13 brings full Python), 0 ran to the end.
HOSTILE = [
    ("1/0", 1),
    ("x = torch.ones(2); x[5]", 1),
    ("import os", 1),
    ("open('f')", 1),
    ("__import__('os')", 1),
    ("x = torch.ones(2); y = x.__class__.__bases__", 1),
    ("def f(): pass", 0),
    ("f = lambda: 1", 0),
    ("class A: pass", 0),
    ("while True:\n    pass", 1),
    ("del x", 1),
    ("a, b = 1", 1),
    ("x = 'a' * 10**9", 1),
    ("x = 10**10**10", 1),
    ("print(f'{1:>99999999}')", 1),
    ("x = " + "(" * 300 + "1" + ")" * 300, 3),
    ("for i in range(10**9):\n    x = i", 1),
    ("t = torch.tensor([[1, 2], [3]])", 1),
    ("if True:\n\tx = 1\n        y = 2", 3),
    ("x = 'abc", 3),
    ("x = torch.ones(2); x.grad_fn.name()", 1),
    ("x = torch.zeros(0); y = x.max()", 1),
    ("x = torch.ones(2, 3); y = x.view(4)", 1),
    ("x = torch.ones(2)\nx.backward(create_graph=True)", 1),
    ("x = torch.tensor(1.0, requires_grad=True)\nx += 1", 1),
    ("x = torch.ones(2, requires_grad=True)\ny = (x * x).sum()\ny.backward()\ny.backward()", 1),
    ("x = torch.ones(2); print(x, sep=1)", 1),
    ("print(torch, F, torch.ones)", 0),
    ("x = torch.ones(3)\nx[0] = x", 1),
    ("\x0c\x0b", 3),
    ("x = torch.ones(2)\n" + "x = x + 1\n" * 2000, 0),
]


@pytest.mark.parametrize(("program", "code"), HOSTILE,
                         ids=[f"p{i}" for i in range(len(HOSTILE))])
def test_no_traceback_for_anything_a_user_can_type(program, code):
    result = invoke("eval", "-e", program)  # asserts no uncaught exception, no "Traceback"
    assert result.exit_code == code, result.stderr
    assert "internal error" not in result.stderr
    if result.exit_code:
        first = result.stderr.splitlines()[0]
        assert first.startswith("<string>:"), first


def _pytorch_error(program, type_, message, column, reason=None):
    marks = pytest.mark.xfail(strict=True, reason=reason) if reason else ()
    return pytest.param(program, type_, message, column, marks=marks, id=program[:40])


# (program, type, message, column) as PyTorch 2.13 reports them (recorded with
# tools/oracle.py); every program fails on its line 1.
PYTORCH_ERRORS = [
    _pytorch_error("1/0", "ZeroDivisionError", "division by zero", 1),
    _pytorch_error(
        "x = torch.ones(2); y = x[5]",
        "IndexError",
        "index 5 is out of bounds for dimension 0 with size 2",
        24,
    ),
    _pytorch_error(
        "x = torch.ones(2, 3); y = x.view(4)",
        "RuntimeError",
        "shape '[4]' is invalid for input of size 6",
        27,
    ),
    _pytorch_error(
        "x = torch.ones(2, requires_grad=True); x += 1",
        "RuntimeError",
        "a leaf Variable that requires grad is being used in an in-place operation.",
        40,
    ),
    _pytorch_error(
        "a, b = 1",
        "TypeError",
        "cannot unpack non-iterable int object",
        1,
    ),
    _pytorch_error(
        "x = torch.ones(2); y = x.to('cuda')",
        "AssertionError",
        "Torch not compiled with CUDA enabled",
        24,
    ),
    _pytorch_error(
        "x = torch.linspace(0, 1, -1)",
        "RuntimeError",
        "number of steps must be non-negative",
        5,
    ),
    _pytorch_error(
        "x = torch.ones(3) ; x[0] = x",
        "RuntimeError",
        "expand(torch.FloatTensor{[3]}, size=[]): the number of sizes provided (0) must be "
        "greater or equal to the number of dimensions in the tensor (1)",
        21,
    ),
    _pytorch_error(
        "x = torch.ones(2); x.backward(gradient=3)",
        "TypeError",
        "'int' object is not iterable",
        20,
    ),
]


@pytest.mark.parametrize(("program", "type_", "message", "column"), PYTORCH_ERRORS)
def test_error_object_is_pytorchs(program, type_, message, column):
    result = invoke("eval", "-e", program, "--format", "json")
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert (error["type"], error["message"], error["line"], error["column"]) == (
        type_,
        message,
        1,
        column,
    )
    assert result.stderr.startswith(f"<string>:1:{column}: {type_}: {message}")


INTERNAL_ERRORS = [
    pytest.param("x = torch.ones(100000, 100000)", "MemoryError", id="huge-ones"),
    pytest.param("x = torch.arange(10**12)", "MemoryError", id="huge-arange"),
    pytest.param("print('\\ud800')", "UnicodeEncodeError", id="lone-surrogate"),
]


@pytest.mark.parametrize(("program", "error"), INTERNAL_ERRORS)
def test_resource_errors_are_program_errors_not_internal_errors(program, error):
    code, out, err = gradcli("eval", "-e", program)
    assert code == 1, err
    assert f": {error}: " in err
    assert "internal error" not in err


@pytest.mark.parametrize("command", ["eval", "graph", "check"])
def test_other_commands_exit_codes(write, command):
    """SPEC §2.2's codes hold for every command that runs a program."""
    ok = write("ok.expr", OK_PROGRAM)
    assert invoke(command, str(ok)).exit_code == 0
    assert invoke(command, "--bogus", str(ok)).exit_code == 2
    assert invoke(command, str(ok.parent / "missing.expr")).exit_code == 2


@pytest.mark.parametrize(
    "command",
    [
        "eval",
        "graph",
        "check",
    ],
)
def test_syntax_error_exits_3_for_every_command(write, command):
    result = invoke(command, str(write("syn.expr", SYNTAX_PROGRAM)))
    assert result.exit_code == 3


# ----- the click-free path for common invocations (start-up) ---------------------------------


@pytest.mark.parametrize(
    "args, quick",
    [
        (["eval", "{f}"], True),
        (["eval", "{f}", "--format", "json"], True),
        (["eval", "--format=tsv", "{f}", "{f}"], True),
        (["eval", "-q", "--no-color", "--color", "never", "{f}"], True),
        (["eval", "{f}", "--format", "xml"], False),  # click words the error
        (["eval", "{f}", "--quiet", "--format", "json"], False),
        (["eval", "missing.expr"], False),
        (["eval", "{f}", "--trace"], False),
        (["eval", "-e", "x = 1"], False),
        (["eval", "--help"], False),
        (["eval", "{f}", "--format"], False),
        (["graph", "{f}"], False),
        ([], False),
    ],
)
def test_quick_eval_takes_only_plain_valid_invocations(write, args, quick):
    from gradcli.cli.main import quick_eval

    path = str(write("p.expr", OK_PROGRAM))
    options = quick_eval([a.replace("{f}", path) for a in args])
    assert (options is not None) == quick


def test_quick_eval_defaults_are_clicks():
    import inspect

    from gradcli.cli.evaluate import run_eval
    from gradcli.cli.group import eval_command

    defaults = {name: p.default for name, p in inspect.signature(run_eval).parameters.items()}
    for param in eval_command.params:
        expected = () if param.multiple or param.nargs == -1 else param.default
        if "UNSET" in repr(expected):  # click >= 8.3 marks "no default" with a sentinel
            expected = None
        if getattr(param, "is_flag", False):
            expected = False
        assert defaults[param.name] == expected, param.name
    assert len(defaults) == len(eval_command.params)


@pytest.mark.parametrize("fmt", ["table", "json", "tsv"])
@pytest.mark.parametrize("program", [OK_PROGRAM, ERROR_PROGRAM, SYNTAX_PROGRAM, WARN_PROGRAM])
def test_quick_path_prints_what_click_path_prints(write, fmt, program):
    path = write("p.expr", program)
    code, out, err = gradcli("eval", path, "--format", fmt)
    # --seed with its default value forces the click path, same options otherwise
    slow = gradcli("eval", path, "--format", fmt, "--precision", "4")
    assert (code, out, err) == slow


@pytest.mark.parametrize("fmt, expected", [("json", "[]"), ("table", "[]")])
def test_plain_eval_imports_only_what_its_output_needs(write, fmt, expected):
    path = write("p.expr", OK_PROGRAM)
    script = (
        "import sys\nfrom gradcli.cli.main import main\n"
        f"main(['eval', {str(path)!r}, '--format', {fmt!r}])\n"
        "print(sorted(m for m in ('click', 'rich', 'pygments') if m in sys.modules),"
        " file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=clean_env(), timeout=60)
    assert "a.grad" not in proc.stderr and proc.returncode == 0
    assert proc.stderr.strip().splitlines()[-1] == expected
