"""The command line's rich consoles, made in one place.

On a terminal rich wraps to the window; anywhere else (a pipe, a file, a test runner)
nothing is wrapped, so a message stays one line whatever COLUMNS or the length of a
path, and a script can match it.
"""

from __future__ import annotations

from rich.console import Console


def make_console(*, stderr: bool = False) -> Console:
    """A console for the CLI: wrapped on a terminal, never wrapped elsewhere."""
    probe = Console(stderr=stderr)
    if probe.is_terminal:
        return probe
    # soft_wrap stops wrapping of printed text; the wide width keeps tables from folding cells
    return Console(stderr=stderr, soft_wrap=True, width=max(probe.width, 200))
