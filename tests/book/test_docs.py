"""The documentation without a build: a short README, guides by role, measurements kept apart.

- README.md stays short, keeps the two Quick start commands (and ``.ci/run``
  runs its test command), links every guide, and says where you can grade
  (each place, its sandbox layer, the tests that measure it);
- the guides are the book's last part (``_toc.yml``), each with its title;
- a guide (or the README) quotes a measured figure only if a benchmark script
  wrote it into ``bench/results/*.md``; the other figures with a unit of time
  or size are settings, each checked against the file that sets it;
- the results files say where and when they were measured, and the
  Measurements page includes every one of them;
- the library reference documents every public module of gradedlib through
  autodoc, nothing by hand.

``tests/book/test_book.py`` (slow) builds the guides with the book and checks them
in a browser: links, no network, the layout at 400 px, and the search box.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
RESULTS = ROOT / "bench" / "results"

# The guides, in the book's order: file (under guides/) and title.
GUIDES = {
    "students.md": "For students",
    "instructors.md": "For instructors",
    "grading.md": "How grading works",
    "library.md": "Using the library",
    "reference.rst": "Library reference",
    "contributors.md": "For contributors",
    "measurements.md": "Measurements",
}


def _section(text: str, title: str) -> str:
    """The body of the Markdown section ``## title`` (up to the next heading of level 1 or 2)."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^#{{1,2}} |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"no section '## {title}'"
    return match.group(1)


# --- README ---


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 120, f"README.md has {len(lines)} lines; the details belong in the guides"


def quick_start_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", _section(README.read_text(encoding="utf-8"), "Quick start"), flags=re.S)
    assert block, "the Quick start has no bash block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_quick_start_keeps_its_two_commands():
    assert quick_start_commands() == ["pip install -e . && gradedlib fit", "bash .ci/run"]


def test_ci_runs_the_whole_suite_and_the_readme_states_the_quick_loop():
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    commands = [line for line in ci if line and not line.startswith("#")]
    assert "python -m pytest" in commands, ".ci/run does not run the whole suite"
    assert [line for line in commands if "pip install" in line and ".[dev]" in line], ".ci/run does not install .[dev]"
    assert 'python -m pytest -m "not slow"' in _section(README.read_text(encoding="utf-8"), "Quick start")


def test_readme_links_every_guide_and_each_exists():
    text = README.read_text(encoding="utf-8")
    for name, title in GUIDES.items():
        assert (ROOT / "guides" / name).is_file(), f"guides/{name} is missing"
        assert f"(guides/{name})" in text, f"README.md does not link guides/{name} ({title})"
    # Every relative link of the README resolves to a file of the repository.
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if not re.match(r"[a-z]+:", target):
            assert (ROOT / target).exists(), f"README.md links {target}, which does not exist"


def test_readme_gives_licence_and_data_credits():
    section = _section(README.read_text(encoding="utf-8"), "Licence and data")
    for needed in ("MIT", "LICENSE", "Yann", "LeCun", "Corinna Cortes", "Burges", "CC BY-SA 3.0"):
        assert needed in section, needed


@pytest.mark.parametrize("where", ["README.md", "guides/instructors.md"])
def test_where_you_can_grade_names_each_place_its_layer_and_the_tests_that_measure_it(where):
    body = _section((ROOT / where).read_text(encoding="utf-8"), "Where you can grade")
    assert "python -m grading doctor" in body
    rows = [line for line in body.splitlines() if line.startswith("| ") and not line.startswith("| ---")][1:]
    for place in ("as root", "ordinary user", "Docker", "Ubuntu 24.04", "macOS"):
        assert any(place in row for row in rows), place
    for test_file in set(re.findall(r"tests/test_[a-z_]+\.py", body)):
        assert (ROOT / test_file).is_file(), test_file
    assert "not tested here" in body


# --- The guides in the book ---


def test_the_guides_are_the_books_last_part():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    part = toc["parts"][-1]
    assert part["caption"] == "Guides"
    assert [c["file"] for c in part["chapters"]] == [f"guides/{Path(n).stem}" for n in GUIDES]


@pytest.mark.parametrize("name", list(GUIDES))
def test_each_guide_has_its_title(name):
    text = (ROOT / "guides" / name).read_text(encoding="utf-8")
    if name.endswith(".rst"):
        title = text.splitlines()[0]
        assert text.splitlines()[1] == "=" * len(title)
    else:
        title = re.search(r"^# (.+)$", text, flags=re.MULTILINE).group(1)
    assert title == GUIDES[name]


# --- Measured figures: only from bench/results ---

# A number with a unit of time, speed-up, size or rate (not followed by
# another number: "784 × 784" is a shape).
FIGURE = re.compile(
    r"(?<![\w.,])(\d[\d,]*(?:\.\d+)?)\s?"
    r"(ms|seconds?|sec|s|minutes?|min|hours?|h|days?|x|×|KB|MB|GB|GiB|MiB|core-seconds|submissions/hour)"
    r"(?![\w/])(?!\s*[\d~])"
)
UNITS = {"seconds": "s", "second": "s", "sec": "s", "minutes": "min", "minute": "min", "hours": "h",
         "hour": "h", "days": "day", "×": "x"}

# Figures that are settings, not measurements: each is valid only while every
# file named here still sets it (change the setting, and the guides must change).
SETTINGS = {
    "600s": [("nbgrader_config.py", r"c\.NotebookExecutor\.cell_timeout = 600\b"),
             ("gradedlib/check.py", r"GRADER_CELL_TIMEOUT = 600\b")],
    "120s": [("nbgrader_config.py", r"c\.NotebookExecutor\.cell_time_floor = 120\b"),
             ("nbgrader_config.py", r"c\.Probe\.call_time_floor = 120\b"),
             ("gradedlib/check.py", r"GRADER_CELL_TIME_FLOOR = 120\b")],
    "2400s": [("nbgrader_config.py", r"c\.NotebookExecutor\.notebook_timeout = 2400\b"),
              ("gradedlib/check.py", r"GRADER_NOTEBOOK_TIMEOUT = 2400\b")],
    "4GiB": [("nbgrader_config.py", r"c\.Sandbox\.memory_limit = 4 \* 2\*\*30\b"),
             ("gradedlib/check.py", r"GRADER_MEMORY_LIMIT = 4 \* 2\*\*30\b")],
    "15min": [("nbgrader_config.py", r"c\.PercentPerDayLatePenalty\.grace_minutes = 15(\.0)?\b")],
    "16MiB": [("nbgrader_config.py", r"c\.NotebookExecutor\.max_notebook_output_bytes = 16 \* 2\*\*20\b")],
    "96MiB": [("grading/run/intake.py", r"^MAX_ARRAY_BYTES = 96 \* 2\*\*20\b")],
    "256MiB": [("grading/run/executor.py", r"^MAX_CLAIM_BYTES = 256 \* 2\*\*20\b"),
               ("nbgrader_config.py", r"c\.Probe\.max_result_bytes = 256 \* 2\*\*20\b")],
}
# The late-policy table's durations are examples of the policy, checked
# against the plugin by test_late_policy_table_is_the_plugins.
LATE_TABLE_ROW = "| late by |"


def figures(text: str) -> list[str]:
    """The figures of a text, normalized (``2,400 s`` -> ``2400s``, ``8.0 ×`` -> ``8.0x``)."""
    return [m.group(1).replace(",", "") + UNITS.get(m.group(2), m.group(2)) for m in FIGURE.finditer(text)]


def recorded_figures() -> set[str]:
    found = set()
    for path in RESULTS.glob("*.md"):
        found.update(figures(path.read_text(encoding="utf-8")))
    return found


def _prose(text: str) -> str:
    """The text without inline code spans (commands and examples) and without the late-policy table's durations."""
    lines = [line for line in text.splitlines() if not line.startswith(LATE_TABLE_ROW)]
    return re.sub(r"``.+?``|`[^`\n]+`", "", "\n".join(lines))


def unrecorded_figures(text: str, recorded: set[str]) -> list[str]:
    """Figures of ``text`` that are neither in the results files nor a checked setting."""
    return [f for f in figures(_prose(text)) if f not in recorded and f not in SETTINGS]


def test_results_hold_figures():
    assert len(recorded_figures()) >= 30, "the results files hold almost no figures"


def test_the_figure_check_flags_a_figure_that_is_not_recorded():
    recorded = recorded_figures()
    one = sorted(recorded)[0]
    number, unit = re.match(r"([\d.]+)(.*)", one).groups()
    text = (f"predict takes 0.37 s, and {number} {unit} as measured; cells stop at 600 s (4 GiB); "
            f"a notebook stops at 2,400 s; `memory=\"128GB\"`; a matrix of 784 × 784; 12.5× faster; 3 minutes")
    assert unrecorded_figures(text, recorded) == ["0.37s", "12.5x", "3min"]


def test_guides_and_readme_quote_only_recorded_figures():
    recorded = recorded_figures()
    bad = {}
    for path in [README, *sorted((ROOT / "guides").glob("*.md")), *sorted((ROOT / "guides").glob("*.rst"))]:
        missing = unrecorded_figures(path.read_text(encoding="utf-8"), recorded)
        if missing:
            bad[path.relative_to(ROOT).as_posix()] = missing
    assert bad == {}, (
        f"figures that no benchmark script wrote into bench/results/*.md (link the results instead): {bad}"
    )


def test_no_dated_log_in_the_readme_or_the_guides():
    """Dates and times of runs belong to the results files, which the Measurements page includes."""
    stamp = re.compile(r"\b20\d\d-\d\d-\d\d\b|\b\d\d:\d\d(:\d\d)? UTC\b|\bcommit [0-9a-f]{7,}\b")
    assert stamp.search("measured 2026-11-28 13:57 UTC at commit 4e1309b")
    bad = {}
    for path in [README, *sorted((ROOT / "guides").glob("*.md")), *sorted((ROOT / "guides").glob("*.rst"))]:
        found = [m.group(0) for m in stamp.finditer(_prose(path.read_text(encoding="utf-8")))]
        if found:
            bad[path.relative_to(ROOT).as_posix()] = found
    assert bad == {}, bad


def test_the_settings_quoted_are_the_configured_ones():
    for figure, sources in SETTINGS.items():
        for file, pattern in sources:
            text = (ROOT / file).read_text(encoding="utf-8")
            assert re.search(pattern, text, flags=re.MULTILINE), (
                f"{file} no longer sets {figure} ({pattern}): update the guides that quote it"
            )


def test_late_policy_table_is_the_plugins():
    pytest.importorskip("nbgrader")
    from grading.plugins.late import penalty_percent

    config = (ROOT / "nbgrader_config.py").read_text()
    setting = {
        key: float(re.search(rf"^c\.PercentPerDayLatePenalty\.{key} = ([\d.]+)", config, flags=re.M).group(1))
        for key in ("percent_per_day", "max_percent", "grace_minutes")
    }
    text = (ROOT / "guides" / "instructors.md").read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if line.startswith(LATE_TABLE_ROW))
    penalties = text.splitlines()[text.splitlines().index(header) + 2]
    assert penalties.startswith("| penalty (of 30) |")
    durations = [cell.strip() for cell in header.strip("|").split("|")[1:]]
    shown = [float(cell) for cell in penalties.strip("|").split("|")[1:]]
    seconds = {"min": 60, "h": 3600, "days": 86400}
    assert len(durations) == len(shown) >= 5
    for duration, points in zip(durations, shown):
        value, unit = duration.split()
        expected = 30 * penalty_percent(float(value) * seconds[unit], **setting) / 100
        assert points == pytest.approx(expected), f"late by {duration}: the guide says {points}, the plugin {expected}"


# --- The results files ---

FIELDS = ("command", "date", "commit", "machine", "load average")


@pytest.mark.parametrize("path", sorted(RESULTS.glob("*.md")), ids=lambda p: p.name)
def test_each_results_file_says_where_and_when(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# ")
    rows = dict(re.findall(r"^\| ([a-z ]+) \| (.+) \|$", text, flags=re.MULTILINE))
    assert set(FIELDS) <= set(rows), f"{path.name}: missing {set(FIELDS) - set(rows)}"
    assert all(rows[f].strip() for f in FIELDS)
    assert re.search(r"\b20\d\d-\d\d-\d\d\b", rows["date"]), rows["date"]
    assert "```text\n" in text


def test_every_results_file_is_on_the_measurements_page_and_every_script_writes_one():
    page = (ROOT / "guides" / "measurements.md").read_text(encoding="utf-8")
    included = set(re.findall(r"```\{include\} \.\./bench/results/(\S+\.md)", page))
    assert included == {p.name for p in RESULTS.glob("*.md")}
    for script in sorted((ROOT / "bench").glob("*.py")):
        if script.name.startswith("_"):
            continue
        source = script.read_text(encoding="utf-8")
        assert "_results.write(" in source, f"{script.name} writes no results file"
        assert "bench/results/" in source, f"{script.name}'s docstring does not say where its results go"


def test_the_results_writer_records_machine_date_commit_and_load(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import _results
    finally:
        sys.path.remove(str(ROOT / "bench"))
    monkeypatch.setattr(sys, "argv", [str(ROOT / "bench" / "example.py"), "--quick"])
    path = _results.write("example", "An example", "task  1.50 s\n", started=_results.now(), load_start="0.10 0.20",
                          folder=tmp_path)
    text = path.read_text()
    assert path == tmp_path / "example.md"
    rows = dict(re.findall(r"^\| ([a-z ]+) \| (.+) \|$", text, flags=re.MULTILINE))
    assert rows["command"] == "`python bench/example.py --quick`"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC to \d{4}-\d\d-\d\d \d\d:\d\d UTC", rows["date"])
    assert re.match(r"[0-9a-f]{7,}", rows["commit"])
    assert "CPUs" in rows["machine"] and "Python" in rows["machine"]
    assert re.fullmatch(r"0\.10 0\.20 at the start, \d+\.\d\d \d+\.\d\d at the end", rows["load average"])
    assert "```text\ntask  1.50 s\n```" in text
    assert figures(text) == ["1.50s"]


# --- The library reference ---


def public_modules() -> set[str]:
    return {p.stem for p in (ROOT / "gradedlib").glob("*.py") if not p.name.startswith("_")}


def test_the_reference_documents_every_public_module_by_autodoc():
    text = (ROOT / "guides" / "reference.rst").read_text(encoding="utf-8")
    documented = re.findall(r"^\.\. automodule:: gradedlib\.(\w+)\n   :members:$", text, flags=re.MULTILINE)
    assert sorted(documented) == sorted(public_modules())
    # Generated, not copied: no hand-written descriptions of functions or classes.
    assert not re.search(r"^\.\. (py:)?(function|class|method|attribute|data)::", text, flags=re.MULTILINE)


def test_the_book_loads_autodoc_and_napoleon():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    extensions = config["sphinx"]["config"]["extensions"]
    assert {"sphinx.ext.autodoc", "sphinx.ext.napoleon", "reference_members"} <= set(extensions)
    assert (ROOT / "_ext" / "reference_members.py").is_file()
