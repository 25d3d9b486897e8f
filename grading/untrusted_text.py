"""Text a student controls, made safe for the instructor's terminal and spreadsheet.

Much of what the grader shows comes from students: their ids (folder names,
LMS download file names), names in rosters, the messages of the exceptions
their functions raise, and every failure message, event or limit that quotes
them.  Printed raw, such a string can drive the instructor's terminal (OSC 52
sets the clipboard, OSC 0 the window title, CSI sequences move the cursor and
rewrite lines, bidi overrides reorder what is shown); written raw into a CSV
file, a cell starting with ``=`` is a live formula when the file is opened in
a spreadsheet.

:func:`for_terminal`
    Every control or format character replaced by a visible escape
    (``\\x1b``, ``\\u202e``): use it on every printed or logged string that
    holds anything derived from a student.
:func:`for_csv`, :func:`for_csv_row`
    OWASP's rule against CSV (formula) injection for every cell the grader
    writes, with the control characters escaped as for the terminal.
"""

from __future__ import annotations

import numbers
import unicodedata

__all__ = ["for_csv", "for_csv_row", "for_terminal"]

#: Unicode categories escaped: control (C0, DEL, C1), format (bidi embeddings,
#: overrides and isolates, zero-width characters, ...), lone surrogates, and
#: the line and paragraph separators.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

#: Characters that make a spreadsheet read a cell as a formula when it starts
#: with one: OWASP's list (``=``, ``+``, ``-``, ``@``, tab, carriage return),
#: line feed, and the full-width forms of the first four (U+FF1D, U+FF0B,
#: U+FF0D, U+FF20), which several exporters also neutralise since some
#: spreadsheets fold them to the ASCII ones.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")

#: Characters kept as they are inside a CSV cell (the csv module quotes them).
_KEPT_IN_CSV = frozenset("\t\r\n")


_SHORT_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(char: str) -> str:
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _escape_controls(text: str, keep=frozenset()) -> str:
    if text.isprintable() and not keep:  # fast path: no Cc, Cf, Cs, Zl, Zp (nor other separators)
        return text
    return "".join(
        _escape(c) if c not in keep and unicodedata.category(c) in _ESCAPED_CATEGORIES else c for c in text
    )


def for_terminal(text) -> str:
    """Make a string safe to print on a terminal, on one line.

    Every control character (C0 including newline, tab and carriage return;
    DEL; C1 0x80-0x9f), every format character (Unicode category ``Cf``: the
    bidi embeddings and overrides U+202A-U+202E, the isolates U+2066-U+2069,
    zero-width characters, ...), lone surrogates and the line and paragraph
    separators U+2028 and U+2029 are replaced by a visible Python-style
    escape: ``\\x1b``, ``\\x9b``, ``\\u202e`` (``\\n``, ``\\t`` and ``\\r``
    for newline, tab and carriage return).  Nothing that can start an escape
    sequence, move the cursor, reorder the text or break a table row
    remains.  Other text, accents, CJK or ``π`` included, is unchanged; a
    backslash is not escaped, so a student's text that spells ``\\x1b`` looks
    like an escaped one (it is harmless either way).

    Parameters
    ----------
    text : object
        The text; anything that is not a string is converted with ``str()``.

    Returns
    -------
    str
        The text, safe to print.

    Examples
    --------
    >>> for_terminal("\\x1b]0;pwned\\x07ok")
    '\\\\x1b]0;pwned\\\\x07ok'
    >>> for_terminal("μ = π")
    'μ = π'
    """
    return _escape_controls(text if isinstance(text, str) else str(text))


def for_csv(value):
    """Make a value safe to write as a CSV cell that a spreadsheet may open.

    Follows OWASP's rule against CSV injection: a text cell whose first
    character is ``=``, ``+``, ``-``, ``@``, a tab (0x09) or a carriage
    return (0x0D) gets a single quote ``'`` in front, so that spreadsheets
    show it as text instead of evaluating it as a formula.  Also neutralised:
    a line feed first, the full-width ``＝``, ``＋``, ``－``, ``＠`` (as
    several other exporters do), and any of these after leading whitespace
    (some spreadsheets trim it).  Control and format characters other than
    tab, carriage return and line feed (which the csv module quotes) are
    escaped as by :func:`for_terminal`.

    Only Python numbers are trusted: ``int``, ``float`` and any other
    :class:`numbers.Real` are returned unchanged, so a negative score stays a
    number, and ``None`` stays ``None`` (an empty cell).  Every other value is
    text, converted with ``str()`` and neutralised, **even a numeric string
    like "-3" written by the grader itself**: the function cannot tell such a
    string from a student's ``-2+3`` (also a formula).  The grader therefore
    writes its numeric columns (scores, penalties, seconds) as numbers, not
    formatted strings, so that they stay numeric for the LMS import.

    Parameters
    ----------
    value : object
        The cell's value.

    Returns
    -------
    int, float, None or str
        ``value`` itself when it is a number or ``None``, else the safe text.

    Examples
    --------
    >>> for_csv('=HYPERLINK("http://x","y")')
    '\\'=HYPERLINK("http://x","y")'
    >>> for_csv(-2.5)
    -2.5
    """
    if value is None or isinstance(value, numbers.Real):
        return value
    text = _escape_controls(value if isinstance(value, str) else str(value), keep=_KEPT_IN_CSV)
    if text[:1] in FORMULA_TRIGGERS or text.lstrip()[:1] in FORMULA_TRIGGERS:
        return "'" + text
    return text


def for_csv_row(row):
    """:func:`for_csv` applied to every value of a row.

    Parameters
    ----------
    row : dict or sequence
        A row for ``csv.DictWriter`` (the keys are kept) or for ``csv.writer``.

    Returns
    -------
    dict or list
        A new row of the same kind, every value safe.
    """
    if isinstance(row, dict):
        return {key: for_csv(value) for key, value in row.items()}
    return [for_csv(value) for value in row]
