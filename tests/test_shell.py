"""Shell integration: completion scripts, several files per `eval`, JSON Lines, --quiet,
--color, and the packaging entry points (`--version`, `help language`)."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradcli import __version__
from gradcli.cli.group import cli
from gradcli.views.highlight import strip_ansi

ROOT = Path(__file__).resolve().parent.parent
ANSI = "\x1b["

GOOD = """x = tensor([1.0, 2.0], requires_grad=True)
y = (x * x).sum()
y.backward()
print("grad", x.grad)
"""
WARNS = """a = tensor([1.0], requires_grad=True)
b = a * 2
print(b.grad)
"""
FAILS = """w = tensor([3.0], requires_grad=True)
v = w * 2
v.backward(); v.backward()
"""
SYNTAX = "q = (1,\n"


def env(**extra) -> dict:
    base = {k: v for k, v in os.environ.items()
            if k not in ("NO_COLOR", "FORCE_COLOR", "GRADCLI_DEBUG", "_GRADCLI_COMPLETE")}
    base.update(TERM="xterm-256color", PYTHONPATH=str(ROOT))
    base.update(extra)
    return base


def gradcli(*args, cwd=None, **extra) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradcli", *args], cwd=cwd, env=env(**extra),
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def programs(tmp_path):
    for name, text in (("good.expr", GOOD), ("warns.expr", WARNS), ("fails.expr", FAILS),
                       ("syntax.expr", SYNTAX)):
        (tmp_path / name).write_text(text)
    return tmp_path


# ----- completion ----------------------------------------------------------------------------


@pytest.mark.parametrize(("shell", "marker"), [
    ("bash", "complete -o nosort -F _gradcli_completion gradcli"),
    ("zsh", "#compdef gradcli"),
    ("fish", "complete --no-files --command gradcli"),
])  # fmt: skip
def test_completion_script_for_each_shell(shell, marker):
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0, result.output
    assert marker in result.output
    assert "_GRADCLI_COMPLETE" in result.output


def test_completion_shell_from_the_environment_or_a_clear_error():
    runner = CliRunner()
    result = runner.invoke(cli, ["completion"], env={"SHELL": "/usr/bin/zsh"})
    assert result.exit_code == 0 and "#compdef gradcli" in result.output
    result = runner.invoke(cli, ["completion"], env={"SHELL": "/bin/tcsh"})
    assert result.exit_code == 2 and "gradcli completion bash|zsh|fish" in result.output
    result = runner.invoke(cli, ["completion", "powershell"])
    assert result.exit_code == 2


def complete(words: str, cword: int, shell: str = "bash") -> list[str]:
    """What gradcli answers a shell's completion request (the scripts' protocol)."""
    done = gradcli(**{"_GRADCLI_COMPLETE": f"{shell}_complete", "COMP_WORDS": words,
                      "COMP_CWORD": str(cword)})
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_completions_answered_by_the_program():
    assert "plain,eval" in complete("gradcli ev", 1)
    assert {"plain,repl", "plain,show", "plain,help", "plain,completion"} <= set(
        complete("gradcli ", 1))
    assert {"plain,table", "plain,tsv", "plain,json"} <= set(complete("gradcli eval --format ", 3))
    assert {"plain,auto", "plain,always", "plain,never"} <= set(
        complete("gradcli eval --color ", 3))
    assert complete("gradcli eval exa", 2) == ["file,exa"]  # the shell completes file names
    assert "plain,--quiet" in complete("gradcli eval --qu", 2)


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_script_completes_in_bash(tmp_path):
    launcher = tmp_path / "gradcli"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gradcli "$@"\n')
    launcher.chmod(0o755)
    script = CliRunner().invoke(cli, ["completion", "bash"]).output
    (tmp_path / "completion.bash").write_text(script)
    check = (
        "source completion.bash\n"
        "COMP_WORDS=(gradcli eval --format j); COMP_CWORD=3\n"
        "_gradcli_completion gradcli\n"
        'echo "${COMPREPLY[@]}"\n'
        "COMPREPLY=(); COMP_WORDS=(gradcli sh); COMP_CWORD=1\n"
        "_gradcli_completion gradcli\n"
        'echo "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(["bash", "--norc", "-c", check], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60,
                          env=env(PATH=f"{tmp_path}{os.pathsep}{os.environ['PATH']}"))
    assert done.stdout.split("\n")[:2] == ["json jsonl", "show"], done.stderr


# ----- several files, JSON Lines, --quiet ----------------------------------------------------


def test_several_files_print_one_result_each_in_order(programs):
    done = gradcli("eval", "good.expr", "warns.expr", "fails.expr", "--color", "never",
                   cwd=programs)
    assert done.returncode == 1  # the worst outcome: fails.expr raised
    out = done.stdout
    headers = [line for line in out.splitlines() if line.startswith("==> ")]
    assert headers == ["==> good.expr <==", "==> warns.expr <==", "==> fails.expr <=="]
    assert out.index("grad tensor([2., 4.])") < out.index("==> warns.expr")
    assert "SumBackward0" in out and "MulBackward0" in out
    assert "warns.expr:3: UserWarning: The .grad attribute of a Tensor that is not a leaf" \
        in done.stderr
    assert "fails.expr:3:15: RuntimeError: Trying to backward through the graph a second time" \
        in done.stderr


def test_exit_code_is_the_worst_outcome(programs):
    assert gradcli("eval", "good.expr", "warns.expr", cwd=programs).returncode == 0
    assert gradcli("eval", "good.expr", "fails.expr", cwd=programs).returncode == 1
    assert gradcli("eval", "syntax.expr", "fails.expr", cwd=programs).returncode == 3


def test_a_missing_file_among_several_runs_nothing(programs):
    done = gradcli("eval", "good.expr", "missing.expr", cwd=programs)
    assert done.returncode == 2
    assert done.stdout == "" and "cannot read 'missing.expr'" in done.stderr


def test_jsonl_is_one_document_per_line_for_several_files(programs):
    done = gradcli("eval", "good.expr", "warns.expr", "fails.expr", "syntax.expr",
                   "--format", "jsonl", cwd=programs)
    assert done.returncode == 3
    lines = done.stdout.splitlines()
    assert len(lines) == 4
    documents = [json.loads(line) for line in lines]
    _check_documents(documents)
    one = gradcli("eval", "good.expr", "--format", "jsonl", cwd=programs).stdout
    assert one.count("\n") == 1 and json.loads(one)["file"] == "good.expr"


def test_json_is_one_array_for_several_files(programs):
    # One document whatever the number of files: a script's parser does not change.
    done = gradcli("eval", "good.expr", "warns.expr", "fails.expr", "syntax.expr",
                   "--format", "json", cwd=programs)
    assert done.returncode == 3
    documents = json.loads(done.stdout)
    assert isinstance(documents, list) and len(documents) == 4
    assert done.stdout.startswith("[\n  {\n    \"file\": \"good.expr\",")
    _check_documents(documents)


def _check_documents(documents):
    assert [d["file"] for d in documents] == ["good.expr", "warns.expr", "fails.expr",
                                              "syntax.expr"]
    assert [d["ok"] for d in documents] == [True, True, False, False]
    assert documents[0]["stdout"] == ["grad tensor([2., 4.])"]
    assert documents[0]["tensors"][0]["grad"] == [2.0, 4.0]
    assert documents[1]["warnings"][0]["line"] == 3
    assert documents[2]["error"]["type"] == "RuntimeError"
    assert documents[3]["error"]["type"] == "SyntaxError" and documents[3]["tensors"] == []
    for document in documents:
        assert {"version", "ok", "stdout", "warnings", "tensors", "error"} <= set(document)


def test_one_file_keeps_the_indented_document(programs):
    done = gradcli("eval", "good.expr", "--format", "json", cwd=programs)
    assert done.stdout.startswith("{\n  \"version\": 1")
    assert "file" not in json.loads(done.stdout)


def test_tsv_for_several_files(programs):
    done = gradcli("eval", "good.expr", "fails.expr", "--format", "tsv", cwd=programs)
    rows = [line.split("\t") for line in done.stdout.splitlines() if "\t" in line]
    assert [row[0] for row in rows] == ["name", "x", "y", "name", "w", "v"]
    assert rows[1][7] == "[2., 4.]"


def test_quiet_prints_only_what_print_wrote(programs):
    done = gradcli("eval", "-q", "good.expr", cwd=programs)
    assert done.returncode == 0 and done.stdout == "grad tensor([2., 4.])\n"
    assert done.stderr == ""
    done = gradcli("eval", "--quiet", "warns.expr", "good.expr", cwd=programs)
    assert done.stdout == "None\ngrad tensor([2., 4.])\n" and done.stderr == ""
    done = gradcli("eval", "--quiet", "fails.expr", cwd=programs)
    assert done.returncode == 1 and done.stdout == ""
    assert "RuntimeError: Trying to backward through the graph" in done.stderr
    for fmt in ("tsv", "latex", "jsonl"):  # contradictions are usage errors (item 10)
        done = gradcli("eval", "--quiet", "--format", fmt, "good.expr", cwd=programs)
        assert done.returncode == 2 and "--quiet" in done.stderr and done.stdout == ""
    done = gradcli("eval", "--quiet", "--format", "json", "good.expr", cwd=programs)
    assert done.returncode == 2 and "--quiet" in done.stderr


def test_expression_and_files_together_is_a_usage_error(programs):
    done = gradcli("eval", "good.expr", "-e", "a = 1", cwd=programs)
    assert done.returncode == 2 and "not both" in done.stderr


# ----- --color auto|always|never -------------------------------------------------------------


def on_a_terminal(args, cwd, **extra) -> str:
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "gradcli", *args], cwd=cwd, env=env(**extra),
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    proc.wait(timeout=60)
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize(("mode", "terminal", "coloured"), [
    ("auto", True, True),
    ("auto", False, False),
    ("always", False, True),
    ("always", True, True),
    ("never", True, False),
    ("never", False, False),
])  # fmt: skip
def test_color_option(programs, mode, terminal, coloured):
    args = ["eval", "fails.expr", "--color", mode]
    if terminal:
        out = on_a_terminal(args, programs)
    else:
        done = gradcli(*args, cwd=programs)
        out = done.stdout + done.stderr
    visible = strip_ansi(out)
    assert "MulBackward0" in visible and "v.backward()" in visible
    assert (ANSI in out) is coloured


def test_no_color_option_and_environment_mean_never(programs):
    assert ANSI not in on_a_terminal(["eval", "fails.expr", "--no-color"], programs)
    assert ANSI not in on_a_terminal(["eval", "fails.expr"], programs, NO_COLOR="1")


# ----- packaging surface ---------------------------------------------------------------------


def test_version():
    done = gradcli("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"gradcli, version {__version__}"


def test_help_language_prints_the_reference_without_a_pager_when_piped():
    done = gradcli("help", "language")
    assert done.returncode == 0 and ANSI not in done.stdout
    text = done.stdout
    for heading in ("NAME", "STATEMENTS", "EXPRESSIONS", "NAMES IN SCOPE", "AUTOGRAD, IN BRIEF",
                    "DIFFERENCES FROM PYTORCH"):
        assert f"\n{heading}\n" in text
    # the name lists come from the interpreter's own allow-lists
    assert "cross_entropy" in text and "retain_grad" in text and "logsumexp" in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_help_topics_and_commands():
    runner = CliRunner()
    result = runner.invoke(cli, ["help"])
    assert result.exit_code == 0 and "language" in result.output
    result = runner.invoke(cli, ["help", "eval"])
    assert result.exit_code == 0 and "--quiet" in result.output
    result = runner.invoke(cli, ["help", "nonsense"])
    assert result.exit_code == 2 and "no help topic 'nonsense'" in result.output
