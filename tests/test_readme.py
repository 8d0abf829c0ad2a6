"""The README shows what gradcli prints: every command it shows is run and its output
compared byte for byte, so the README cannot go stale (issue 11, "Done when").

What counts as a shown command: a line `$ COMMAND` in a fenced block; its expected output
is what the terminal shows (stdout and stderr): the lines after it up to the next `$ `
line or the end of the block, or, for a command
that ends its block with no output, the whole next block (a ```json document). Files the
README creates with `cat > FILE <<'EOF'` are created first; `$ cat FILE` shows a file
that the test writes from that output; `session.expr` is saved by typing the README's
repl transcript into `gradcli repl`. The one thing not compared is object addresses
(`<AddBackward0 object at 0x7f…>`), which differ from run to run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
HEREDOC = re.compile(r"^cat > (\S+) <<'EOF'\n(.*?)^EOF$", re.S | re.M)
ADDRESS = re.compile(r"0x[0-9a-f]{6,}")


def blocks() -> list[tuple[str, list[str]]]:
    return [(lang, body.split("\n")[:-1]) for lang, body in FENCE.findall(README)]


def shown_commands() -> list[tuple[str, str]]:
    """(command, expected output) for every `$ ` line of the README, in order."""
    found = []
    fenced = blocks()
    for index, (_, lines) in enumerate(fenced):
        commands: list[list] = []
        for line in lines:
            if line.startswith("$ "):
                commands.append([line[2:], []])
            elif commands:
                commands[-1][1].append(line)
        if commands and not commands[-1][1] and index + 1 < len(fenced):
            following = fenced[index + 1][1]
            if not any(line.startswith("$ ") for line in following):
                commands[-1][1] = following
        found.extend((command, "".join(line + "\n" for line in output))
                     for command, output in commands)
    return found


def repl_inputs() -> str:
    """What the README's repl transcript types: `>>> ` and `... ` lines."""
    for _, lines in blocks():
        if any(line.startswith(">>> ") for line in lines):
            return "".join(line + "\n" for line in _in_order(lines))
    raise AssertionError("the README has no repl transcript")


def _in_order(lines):
    for line in lines:
        if line.startswith((">>> ", "... ")):
            yield line[4:]
        elif line == "...":
            yield ""


def environment(bin_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "GRADCLI_DEBUG",
                        "COLUMNS", "LINES", "PAGER")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    env["PYTHONIOENCODING"] = "utf-8"
    env["GRADCLI_HISTORY"] = ""
    return env


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    work = tmp_path_factory.mktemp("readme")
    bin_dir = work / ".bin"
    bin_dir.mkdir()
    launcher = bin_dir / "gradcli"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gradcli "$@"\n')
    launcher.chmod(0o755)
    (work / "examples").symlink_to(ROOT / "examples")
    for name, text in HEREDOC.findall(README):
        (work / name).write_text(text)
    for command, output in shown_commands():
        match = re.fullmatch(r"cat (\S+)", command)
        if match and not (work / match.group(1)).exists():
            (work / match.group(1)).write_text(output)
    subprocess.run([sys.executable, "-m", "gradcli", "repl", "--simple"], input=repl_inputs(),
                   text=True, capture_output=True, cwd=work, env=environment(bin_dir),
                   timeout=120)
    assert (work / "session.expr").exists(), "the repl transcript did not save session.expr"
    return work, environment(bin_dir)


COMMANDS = shown_commands()


def test_the_readme_shows_commands():
    assert len(COMMANDS) >= 15
    assert any(command.startswith("gradcli eval quick.expr") for command, _ in COMMANDS)


@pytest.mark.parametrize("command, expected", COMMANDS, ids=[c for c, _ in COMMANDS])
def test_readme_command_prints_what_the_readme_shows(workdir, command, expected):
    work, env = workdir
    if "jq " in command and shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    # What a terminal shows: stdout and stderr, in the order they were written.
    done = subprocess.run(["bash", "-c", command], cwd=work, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)
    assert ADDRESS.sub("0x…", done.stdout) == ADDRESS.sub("0x…", expected)
