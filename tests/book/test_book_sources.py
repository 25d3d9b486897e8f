"""The book's sources follow the house structure (fast: no build, no execution).

Every source file listed in ``_toc.yml`` is parsed as MyST text:

- every numbered figure, a ``{figure}`` or ``{glue:figure}`` directive with a
  ``:name: fig-...`` option, is referenced with ``{numref}`` on its own page;
- every chapter (a file of a numbered part: not the landing page, not the back
  matter) opens with the admonition "In this chapter you will learn to" before
  its first section, has a "## Summary" section, and a "## Exercises" section
  with 2 to 4 exercises (``**Exercise N.**``), each followed by its answer in a
  dropdown admonition (```` ```{admonition} Answer```` with
  ``:class: dropdown``).

The checker is also run on small fixture strings and on a broken copy of a real
chapter, so that it is proven able to fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TOC = REPO / "_toc.yml"

OBJECTIVES = "In this chapter you will learn to"
MIN_EXERCISES, MAX_EXERCISES = 2, 4

# An opening fence of a MyST directive: ``` or ::: (three or more), then {name}.
_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[^}]+)\}(?P<arg>.*)$")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
# {numref}`fig-x` or {numref}`Figure %s <fig-x>`
_NUMREF = re.compile(r"\{numref\}`(?:[^`<]*<)?(?P<label>[^`<>]+?)>?`")
_EXERCISE = re.compile(r"^\*\*Exercise (?P<number>\d+)\.\*\*")


def toc_sources(toc: Path = TOC) -> list[tuple[Path, bool]]:
    """(source file, is a chapter) for every file in the table of contents.

    A chapter is a file of a numbered part; the root (landing page) and files
    of unnumbered parts (back matter) are not chapters.
    """
    data = yaml.safe_load(toc.read_text(encoding="utf-8"))
    entries = [(data["root"], False)]
    for part in data.get("parts", []):
        numbered = bool(part.get("numbered", False))
        for chapter in part.get("chapters", []):
            entries.append((chapter["file"], numbered))
    sources = []
    for name, is_chapter in entries:
        candidates = [REPO / f"{name}{suffix}" for suffix in ("", ".md", ".ipynb", ".rst")]
        path = next((p for p in candidates if p.is_file()), None)
        assert path is not None, f"{name} is listed in {toc.name} but has no source file"
        sources.append((path, is_chapter))
    return sources


def _directives(lines: list[str]):
    """Yield (name, argument, options, first line, last line) of every top-level directive."""
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, start = m["fence"], i
        options = {}
        j = i + 1
        while j < len(lines) and (o := _OPTION.match(lines[j])):
            options[o["key"]] = o["value"].strip()
            j += 1
        # the closing fence: the same characters, at least as many, alone on a line
        while j < len(lines) and not re.fullmatch(re.escape(fence[0]) + "{%d,}" % len(fence), lines[j].strip()):
            j += 1
        yield m["name"], m["arg"].strip(), options, start, j
        i = j + 1


def _prose_lines(text: str) -> list[str]:
    """The lines of a MyST source with code cells and the front matter blanked.

    Comments in code cells start with '#', like Markdown headings; blanking the
    cells (not removing them) keeps line numbers.
    """
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":
        end = next((k for k in range(1, len(lines)) if lines[k].strip() == "---"), 0)
        lines[: end + 1] = [""] * (end + 1)
    for name, _arg, _options, start, stop in list(_directives(lines)):
        if name == "code-cell":
            lines[start : stop + 1] = [""] * (min(stop, len(lines) - 1) - start + 1)
    return lines


def figure_labels(text: str) -> list[str]:
    """The :name: of every {figure} and {glue:figure} directive."""
    return [
        options["name"]
        for name, _arg, options, _start, _stop in _directives(text.splitlines())
        if name in ("figure", "glue:figure") and "name" in options
    ]


def numref_targets(text: str) -> set[str]:
    return {m["label"].strip() for m in _NUMREF.finditer("\n".join(_prose_lines(text)))}


def _section(lines: list[str], title: str) -> list[str] | None:
    """The lines of the level-2 section with this title, or None."""
    heads = [k for k, line in enumerate(lines) if line.startswith("## ")]
    for n, k in enumerate(heads):
        if lines[k][3:].strip() == title:
            stop = heads[n + 1] if n + 1 < len(heads) else len(lines)
            return lines[k + 1 : stop]
    return None


def figure_problems(text: str) -> list[str]:
    refs = numref_targets(text)
    return [f"figure {label!r} is never referenced with {{numref}} on its page"
            for label in figure_labels(text) if label not in refs]


def chapter_problems(text: str) -> list[str]:
    """What a chapter lacks of the house structure (an empty list if nothing)."""
    lines = _prose_lines(text)
    problems = []

    first_section = next((k for k, line in enumerate(lines) if line.startswith("## ")), len(lines))
    opening = [d for d in _directives(lines[:first_section])
               if d[0] == "admonition" and d[1] == OBJECTIVES]
    if not opening:
        problems.append(f"no '{{admonition}} {OBJECTIVES}' before the first section")

    if _section(lines, "Summary") is None:
        problems.append("no '## Summary' section")

    exercises = _section(lines, "Exercises")
    if exercises is None:
        problems.append("no '## Exercises' section")
        return problems
    numbers = [int(m["number"]) for line in exercises if (m := _EXERCISE.match(line))]
    if not MIN_EXERCISES <= len(numbers) <= MAX_EXERCISES:
        problems.append(f"{len(numbers)} exercises, expected {MIN_EXERCISES} to {MAX_EXERCISES}")
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"exercises numbered {numbers}, expected 1, 2, ...")
    # Each exercise is followed, before the next one, by a dropdown answer.
    starts = [k for k, line in enumerate(exercises) if _EXERCISE.match(line)] + [len(exercises)]
    for n, (a, b) in enumerate(zip(starts, starts[1:]), start=1):
        answers = [d for d in _directives(exercises[a:b])
                   if d[0] == "admonition" and d[1] == "Answer" and d[2].get("class") == "dropdown"]
        if len(answers) != 1:
            problems.append(f"exercise {n} has {len(answers)} dropdown answers, expected 1")
    return problems


def source_problems(text: str, *, chapter: bool) -> list[str]:
    return figure_problems(text) + (chapter_problems(text) if chapter else [])


# ---------------------------------------------------------------- the book

SOURCES = toc_sources()


def test_the_toc_lists_chapters_and_other_pages():
    assert sum(is_chapter for _, is_chapter in SOURCES) >= 10
    assert any(not is_chapter for _, is_chapter in SOURCES)
    names = {path.stem: is_chapter for path, is_chapter in SOURCES}
    assert names.get("index") is False and names.get("notation") is False and names.get("references") is False


def test_the_book_has_numbered_figures():
    # A sanity check of the parser: the book's figures are found.
    assert sum(len(figure_labels(p.read_text(encoding="utf-8"))) for p, _ in SOURCES) >= 15


@pytest.mark.parametrize("path", [p for p, _ in SOURCES], ids=lambda p: p.stem)
def test_every_figure_is_referenced_on_its_page(path):
    assert figure_problems(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", [p for p, chapter in SOURCES if chapter], ids=lambda p: p.stem)
def test_every_chapter_has_objectives_summary_and_exercises(path):
    assert chapter_problems(path.read_text(encoding="utf-8")) == []


# ---------------------------------------------------------------- the checker can fail

GOOD = """\
---
kernelspec:
  name: python3
---

# A chapter

```{code-cell} ipython3
## a comment in a code cell, not a section
glue("fig-a", fig, display=False)
```

```{admonition} In this chapter you will learn to
- check things.
```

## A section

{numref}`fig-a` shows a curve, and {numref}`Figure %s <fig-b>` another.

```{glue:figure} fig-a
:name: fig-a

A caption.
```

:::{figure} b.png
:name: fig-b

Another caption.
:::

## Summary

Short.

## Exercises

**Exercise 1.** Why?

```{admonition} Answer
:class: dropdown

Because.
```

**Exercise 2.** How?

```{admonition} Answer
:class: dropdown

Thus.
```
"""


def test_a_good_fixture_passes():
    assert figure_labels(GOOD) == ["fig-a", "fig-b"]
    assert source_problems(GOOD, chapter=True) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("{numref}`fig-a` shows a curve", "The figure shows a curve", "'fig-a' is never referenced"),
        ("<fig-b>`", "<fig-c>`", "'fig-b' is never referenced"),
        ("{admonition} In this chapter you will learn to", "{admonition} Goals", "In this chapter you will learn to"),
        ("## Summary", "## In short", "no '## Summary'"),
        ("## Exercises", "## Problems", "no '## Exercises'"),
        ("\n**Exercise 2.** How?", "\nHow?", "1 exercises, expected 2 to 4"),
        (":class: dropdown\n\nThus.", "\nThus.", "exercise 2 has 0 dropdown answers"),
    ],
)
def test_a_broken_fixture_fails(old, new, problem):
    broken = GOOD.replace(old, new, 1)
    assert broken != GOOD
    problems = source_problems(broken, chapter=True)
    assert any(problem in p for p in problems), problems


def test_objectives_after_the_first_section_do_not_count():
    moved = GOOD.replace("## A section\n", "", 1).replace("# A chapter\n", "# A chapter\n\n## First\n", 1)
    assert any(OBJECTIVES in p for p in chapter_problems(moved))


def test_five_exercises_are_too_many():
    extra = "".join(f"\n**Exercise {n}.** More?\n\n```{{admonition}} Answer\n:class: dropdown\n\nYes.\n```\n"
                    for n in (3, 4, 5))
    assert any("5 exercises" in p for p in chapter_problems(GOOD + extra))


def test_a_broken_copy_of_a_real_chapter_fails(tmp_path):
    # A real chapter passes; a temporary copy without its first numref, its
    # summary heading and its first dropdown answer fails on all three.
    path = next(p for p, chapter in SOURCES if chapter and figure_labels(p.read_text(encoding="utf-8")))
    text = path.read_text(encoding="utf-8")
    assert source_problems(text, chapter=True) == []
    label = figure_labels(text)[0]
    copy = tmp_path / path.name
    broken = re.sub(r"\{numref\}`(?:[^`<]*<)?" + re.escape(label) + ">?`", "the figure", text)
    broken = broken.replace("## Summary", "## Recap", 1).replace(":class: dropdown", ":class: note", 1)
    copy.write_text(broken, encoding="utf-8")
    problems = source_problems(copy.read_text(encoding="utf-8"), chapter=True)
    assert any(repr(label) in p for p in problems), problems
    assert any("Summary" in p for p in problems), problems
    assert any("exercise 1 has 0 dropdown answers" in p for p in problems), problems


# --- the assignment page and the released notebook say the same thing ---------


def _written_answer_exercises(notebook: dict) -> set[int]:
    """Exercises with a hand-graded written answer: markdown cells graded as solutions, ``exerciseN_answer``."""
    numbers = set()
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        match = re.fullmatch(r"exercise(\d+)_answer", meta.get("grade_id", ""))
        if cell["cell_type"] == "markdown" and meta.get("grade") and meta.get("solution") and match:
            numbers.add(int(match.group(1)))
    return numbers


def _page_written_answer_exercises(page: str) -> tuple[set[int], set[int]]:
    """From the page's sentence "Exercises 1, 2 and 4 also ask for a short written answer ...; Exercise 3 has no written answer"."""
    text = " ".join(page.split())
    with_answer = re.search(r"Exercises ([\d, and]+?) also ask for a short written answer", text)
    without = re.findall(r"Exercise (\d+) has no written answer", text)
    assert with_answer, "the assignment page no longer says which exercises ask for a written answer"
    return {int(n) for n in re.findall(r"\d+", with_answer.group(1))}, {int(n) for n in without}


def test_the_assignment_page_and_the_released_notebook_agree():
    import json

    page = (REPO / "book" / "14_assignment.md").read_text()
    notebook_path = REPO / "exercises" / "gaussian_generative" / "gaussian_generative.ipynb"
    notebook = json.loads(notebook_path.read_text())
    with_answer, without = _page_written_answer_exercises(page)
    assert with_answer == _written_answer_exercises(notebook) == {1, 2, 4}
    assert without == {3}
    assert "all four are required" in " ".join(page.split())
    text = " ".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown").lower()
    for word in ("optional", "if you have time"):
        assert word not in text, f"the released notebook calls something {word!r}; the page says every exercise is required"
    assert "exercise 4: one c per class (required, autograded)" in text


def test_the_agreement_check_can_fail():
    page = "Exercises 1 and 2 also ask for a short written answer; Exercise 3 has no written answer."
    with_answer, without = _page_written_answer_exercises(page)
    notebook = {"cells": [{"cell_type": "markdown", "source": "x", "metadata": {"nbgrader": {
        "grade": True, "solution": True, "grade_id": f"exercise{n}_answer"}}} for n in (1, 2, 4)]}
    assert with_answer != _written_answer_exercises(notebook)
