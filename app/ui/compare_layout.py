"""Which compared alternatives are on screen at once, and which are identical to an earlier one: plain functions over
positions and records. No widgets (compare_view places the panes these name)."""

from __future__ import annotations

from dataclasses import dataclass

from app.services.compare import identical_to

__all__ = ["MIN_COLUMNS", "Arrangement", "arrange", "identical_to"]

# A pane narrower than this many columns of code wraps a diff into a column of single tokens: never shown that narrow.
MIN_COLUMNS = 80


@dataclass(frozen=True, slots=True)
class Arrangement:
    # The positions on screen, in order; the rest are reached with the chooser (or ←/→).
    positions: tuple[int, ...]
    # True: one above the other (each pane gets the whole width); False: side by side.
    stacked: bool


def arrange(count: int, fits_side_by_side: int, focus: int, first: int = 1) -> Arrangement:
    """Lay out ``count`` panes (0 = the original) when ``fits_side_by_side`` panes of readable width fit in a row.

    All of them side by side when they fit; else the original beside a run of alternatives that holds ``focus`` (the
    alternative being looked at), starting at ``first`` when that still holds it; when not even two fit, the original
    above ``focus``.
    """
    if count <= 1:
        return Arrangement(tuple(range(count)), stacked=False)
    focus = min(max(1, focus), count - 1)
    if fits_side_by_side >= count:
        return Arrangement(tuple(range(count)), stacked=False)
    if fits_side_by_side < 2:
        return Arrangement((0, focus), stacked=True)
    run = fits_side_by_side - 1
    if not first <= focus < first + run:
        first = focus - run + 1 if focus >= first + run else focus
    first = min(max(1, first), count - run)
    return Arrangement((0, *range(first, first + run)), stacked=False)
