"""Which iteration of which loop made a node: `i=3` for `for i in range(...)`, `iteration 2`
for a loop with no counter of its own (`for row in m`, `while`).

The rewriter gives each site the loops around it in its own function (target names and,
when the target is no counter, a reserved variable counting iterations); a node made at a
site reads their values from the running frame. A node made inside a function called from
a loop finds the caller's loops by the caller's line (`LoopLines`).
"""

from __future__ import annotations


class LoopLines:
    """Line -> the loops around it (a caller's line is a call site's), kept up to date with
    the site table as a session compiles more inputs."""

    __slots__ = ("sites", "seen", "by_line")

    def __init__(self, sites: list):
        self.sites = sites
        self.seen = 0
        self.by_line: dict = {}

    def get(self, line: int):
        """The loops around `line` (in a session, an InputLine: lines of different inputs
        are different lines)."""
        if self.seen < len(self.sites):
            for site in self.sites[self.seen:]:
                key = (getattr(site.line, "input", None), int(site.line))
                if site.loops and len(site.loops) >= len(self.by_line.get(key, ())):
                    self.by_line[key] = site.loops
            self.seen = len(self.sites)
        return self.by_line.get((getattr(line, "input", None), int(line)))


def loop_label(values, loops) -> str | None:
    """`epoch=2, i=3`: each loop's integer targets, or its iteration count (from 1)."""
    parts = []
    for names, counter in loops:
        shown = False
        for name in names:
            value = values.get(name)
            if value.__class__ is int:
                parts.append(f"{name}={value}")
                shown = True
        if not shown and counter is not None:
            count = values.get(counter)
            if count.__class__ is int:
                parts.append(f"iteration {count}")
    return ", ".join(parts) or None
