"""Which iteration of which loop made a node: `i=3` for `for i in range(...)`, `iteration 2`
for a loop with no counter of its own (`for row in m`, `while`).

The rewriter gives each site the loops around it in its own function (target names and,
when the target is no counter, a reserved variable counting iterations); a node made at a
site keeps their values, read from the running frame (`capture`), and views word them
(`describe`). A node made inside a function called from a loop finds the caller's loops by
the caller's line (`LoopLines`). Capturing is on the path of every node a program makes
in a loop: it copies a few values and formats nothing.
"""

from __future__ import annotations


class LoopLines:
    """Line -> the loops around it (a caller's line is a call site's), kept up to date with
    the site table as a session compiles more inputs. A session's lines are InputLines:
    line 2 of input [3] is not line 2 of input [4]."""

    __slots__ = ("sites", "seen", "plain", "by_input")

    def __init__(self, sites: list):
        self.sites = sites
        self.seen = 0
        self.plain: dict = {}
        self.by_input: dict = {}

    def get(self, line: int):
        if self.seen < len(self.sites):
            self._update()
        if line.__class__ is int:
            return self.plain.get(line)
        return self.by_input.get((getattr(line, "input", None), int(line)))

    def _update(self) -> None:
        for site in self.sites[self.seen:]:
            if not site.loops:
                continue
            line = site.line
            table, key = ((self.plain, line) if line.__class__ is int
                          else (self.by_input, (getattr(line, "input", None), int(line))))
            if len(site.loops) >= len(table.get(key, ())):
                table[key] = site.loops
        self.seen = len(self.sites)


def capture(values, loops):
    """The loops' target and counter values now: (loops, values), worded later."""
    if len(loops) == 1:
        names, counter = loops[0]
        if counter is None and len(names) == 1:  # `for i in range(n)`
            return loops, (values.get(names[0]),)
    found = []
    for names, counter in loops:
        for name in names:
            found.append(values.get(name))
        if counter is not None:
            found.append(values.get(counter))
    return loops, tuple(found)


def describe(state) -> str | None:
    """`epoch=2, i=3`: each loop's integer targets, or its iteration count (from 1)."""
    if state is None:
        return None
    loops, values = state
    parts = []
    position = 0
    for names, counter in loops:
        shown = False
        for name in names:
            value = values[position]
            position += 1
            if value.__class__ is int:
                parts.append(f"{name}={value}")
                shown = True
        if counter is not None:
            count = values[position]
            position += 1
            if not shown and count.__class__ is int:
                parts.append(f"iteration {count}")
    return ", ".join(parts) or None
