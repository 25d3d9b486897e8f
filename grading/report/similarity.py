"""Similar submissions: every pair of students, and every student against gradedlib.

The code a student wrote (the code of the notebook's solution cells and of any
code cell they added; IPython magics left out) is compared with copydetect
(https://github.com/blingenf/copydetect): it tokenizes Python, replaces names
by placeholders (so renaming variables does not hide a copy), fingerprints
k-grams by winnowing, and discards fingerprints present in the boilerplate,
here the released notebook's code.  Each submission is compared with every
other and with every module of the installed ``gradedlib`` (students can read
its ``fit_generative_model`` and ``predict``).

A pair is listed when at least ``threshold`` of one side's fingerprinted code
matches the other side and at least ``min_tokens`` tokens match, so that a
submission with a few lines of its own is not flagged for one common idiom.

``check_submissions`` is called by ``python -m grading report``.
"""

from __future__ import annotations

import importlib.util
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = ["DEFAULT_THRESHOLD", "Pair", "check_submissions", "compare_codes", "student_code"]

#: Share of one side's code that must match for a pair to be listed.
DEFAULT_THRESHOLD = 0.5
#: Matching tokens (after copydetect's filtering) a listed pair needs at least.
DEFAULT_MIN_TOKENS = 150
#: copydetect's noise and guarantee thresholds (k-gram length and window), in filtered characters.
NOISE = 25
GUARANTEE = 30


@dataclass
class Pair:
    """Two similar pieces of code: student and student, or student and a gradedlib module."""

    first: str
    second: str
    first_share: float  # share of first's code that matches second
    second_share: float
    tokens: int  # matching tokens
    first_html: str  # first's code, HTML-escaped, matches in <mark>
    second_html: str

    @property
    def share(self) -> float:
        return max(self.first_share, self.second_share)


def student_code(nb) -> str:
    """The code a student wrote in a notebook: solution cells and added code cells."""
    parts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta and not meta.get("solution"):
            continue  # given code and tests
        lines = [line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        parts.append("\n".join(lines))
    return "\n\n\n".join(parts) + "\n"


def release_code(nb) -> str:
    """Every code cell of the released notebook: the boilerplate."""
    return "\n\n\n".join(c.source for c in nb.cells if c.cell_type == "code") + "\n"


def gradedlib_sources() -> dict:
    """{"gradedlib/<module>.py": source} of the installed gradedlib."""
    spec = importlib.util.find_spec("gradedlib")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("gradedlib is not installed: the similarity check compares submissions with its source.")
    folder = Path(list(spec.submodule_search_locations)[0])
    return {f"gradedlib/{p.name}": p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.py"))}


def compare_codes(codes: dict, references: dict | None = None, boilerplate=(), *,
                  threshold: float = DEFAULT_THRESHOLD, min_tokens: int = DEFAULT_MIN_TOKENS) -> list:
    """Compare every pair of ``codes`` and every code with every reference.

    Parameters
    ----------
    codes : dict of str -> str
        Name (a student) -> Python source.
    references : dict of str -> str, default=None
        Name -> source of code students must not copy (compared with every
        code, not with each other).
    boilerplate : sequence of str
        Sources whose fingerprints are ignored (the released notebook's code).
    threshold : float
        Share in (0, 1] of one side's code that must match.
    min_tokens : int
        Matching tokens a listed pair needs at least.

    Returns
    -------
    pairs : list of Pair
        Most similar first.
    """
    from copydetect import CopyDetector
    from copydetect.utils import highlight_overlap

    if not 0 < threshold <= 1:
        raise ValueError(f"The 'threshold' argument must be a share in (0, 1]. Got {threshold!r} instead.")
    if min_tokens < 1:
        raise ValueError(f"The 'min_tokens' argument must be a positive integer. Got {min_tokens!r} instead.")
    references = references or {}
    clash = set(codes) & set(references)
    if clash:
        raise ValueError(f"The 'codes' and 'references' arguments must not share names. Got {sorted(clash)} in both.")
    with tempfile.TemporaryDirectory(prefix="similarity-") as tmp:
        tmp = Path(tmp)
        files = {}
        for kind, mapping in (("students", codes), ("references", references)):
            for i, (name, source) in enumerate(mapping.items()):
                path = tmp / kind / f"{i:04d}.py"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(source, encoding="utf-8")
                files[str(path)] = (kind, name)
        (tmp / "boilerplate").mkdir()
        for i, source in enumerate(boilerplate):
            (tmp / "boilerplate" / f"{i:04d}.py").write_text(source, encoding="utf-8")
        ref_dirs = [str(tmp / "students")] + ([str(tmp / "references")] if references else [])
        detector = CopyDetector(
            test_dirs=[str(tmp / "students")], ref_dirs=ref_dirs, boilerplate_dirs=[str(tmp / "boilerplate")],
            extensions=["py"], noise_t=NOISE, guarantee_t=GUARANTEE, display_t=threshold,
            autoopen=False, silent=True, out_file=str(tmp / "copydetect.html"),
        )
        if not codes:
            return []
        detector.run()
        pairs, seen = [], set()
        for i, test_file in enumerate(detector.test_files):
            for j, ref_file in enumerate(detector.ref_files):
                key = frozenset((test_file, ref_file))
                if test_file == ref_file or key in seen:
                    continue
                seen.add(key)
                share_test, share_ref = (float(v) for v in detector.similarity_matrix[i, j])
                tokens = int(detector.token_overlap_matrix[i, j])
                if max(share_test, share_ref) < threshold or tokens < min_tokens:
                    continue
                if (test_file, ref_file) in detector.slice_matrix:
                    slices_test, slices_ref = detector.slice_matrix[(test_file, ref_file)]
                else:
                    slices_ref, slices_test = detector.slice_matrix[(ref_file, test_file)]
                html_test, _ = highlight_overlap(detector.file_data[test_file].raw_code, slices_test, "<mark>", "</mark>", truncate=6, escape_html=True)
                html_ref, _ = highlight_overlap(detector.file_data[ref_file].raw_code, slices_ref, "<mark>", "</mark>", truncate=6, escape_html=True)
                pairs.append(Pair(files[test_file][1], files[ref_file][1], share_test, share_ref, tokens, html_test, html_ref))
    return sorted(pairs, key=lambda p: (-p.share, p.first, p.second))


def _release_notebooks(course: Path, assignment: str) -> list:
    for folder in ("exercises", "release"):
        found = sorted((course / folder / assignment).glob("*.ipynb"))
        if found:
            return found
    raise FileNotFoundError(
        f"No released notebook of {assignment!r}: expected {course / 'exercises' / assignment}/*.ipynb "
        f"(or release/{assignment}/); the similarity check needs it to ignore the given code."
    )


def check_submissions(course, assignment: str, *, threshold: float = DEFAULT_THRESHOLD,
                      min_tokens: int = DEFAULT_MIN_TOKENS, with_gradedlib: bool = True) -> list:
    """Compare the submissions in ``course/submitted/*/assignment/`` (see :func:`compare_codes`)."""
    course = Path(course)
    boilerplate = []
    for path in _release_notebooks(course, assignment):
        release = nbformat.read(path, as_version=4)
        # the given code, and the empty answer cells joined as a student's code is
        boilerplate += [release_code(release), student_code(release)]
    codes = {}
    for folder in sorted((course / "submitted").glob(f"*/{assignment}")):
        notebooks = sorted(folder.glob("*.ipynb"))
        sources = []
        for path in notebooks:
            try:
                sources.append(student_code(nbformat.read(path, as_version=4)))
            except Exception:  # noqa: BLE001 - an unreadable notebook is reported by the grader, not here
                continue
        if sources:
            codes[folder.parent.name] = "\n\n\n".join(sources)
    references = gradedlib_sources() if with_gradedlib else {}
    return compare_codes(codes, references, boilerplate, threshold=threshold, min_tokens=min_tokens)
