"""A submission that attacks the instructor's browser: script injection into the rendered notebook.

The reference solution, plus a new last code cell whose outputs carry scripts
(``display(HTML("<script>..."))``, ``Javascript``, an SVG with ``onload``, an
``<img onerror>`` in HTML and in a Markdown output, an ``<iframe srcdoc>``),
and written answers (markdown cells) made of raw HTML vectors followed by a
readable sentence.  The formgrader shows the graded notebook on the Jupyter
server's origin with the instructor's rights, the feedback page shows it to
the student.

Every vector's payload, if it ran, can be seen from outside the browser
(:func:`payload`): it writes ``pwned-<vector>.txt`` through the Jupyter
contents API (``PUT /api/contents/...`` with the page's XSRF cookie, as a
script on the Jupyter origin can), requests ``/beacon/<vector>``, logs
``PWNED <vector>`` to the console, sets ``document.title`` and appends the
vector's name to ``window.__pwned``.
"""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_output

from .course import build_submission
from .submissions import Submission, source

#: The readable sentences of the written answers (each must stay visible).
ANSWERS = {
    "exercise1_answer": "The covariance is singular because 784 > n for the pixels that never vary, "
                        "so the unregularized model cannot be inverted.",
    "exercise2_answer": "With c = 1e9 every class covariance is almost the same multiple of the identity, "
                        "so the model becomes a nearest-mean classifier.",
    "exercise4_answer": "I chose one c per class by cross-validation; it helped a little for the digit 1.",
}


def payload(vector: str) -> str:
    """JavaScript that, if it runs, leaves traces of ``vector`` outside the page (no double quotes in it)."""
    return (
        f"window.__pwned=(window.__pwned||[]).concat('{vector}');console.log('PWNED {vector}');"
        f"document.title='PWNED {vector}';new Image().src='/beacon/{vector}';"
        f"fetch('/api/contents/pwned-{vector}.txt',{{method:'PUT',headers:{{'Content-Type':'application/json',"
        f"'X-XSRFToken':(document.cookie.match(/_xsrf=([^;]+)/)||[])[1]||''}},"
        f"body:JSON.stringify({{type:'file',format:'text',content:'x'}})}})"
    )


def output_vectors(prefix: str = "") -> dict:
    """{vector: (IPython display class, mimetype, content)} of the new code cell's outputs."""
    p = lambda name: payload(prefix + name)  # noqa: E731
    return {
        "html-script": ("HTML", "text/html", f"<script>{p('html-script')}</script>"),
        "html-img": ("HTML", "text/html", f'<b>a table</b><img src="x" onerror="{p("html-img")}">'),
        "html-iframe": ("HTML", "text/html", f'<iframe srcdoc="<script>{p("html-iframe")}</script>"></iframe>'),
        "javascript": ("Javascript", "application/javascript", p("javascript")),
        "svg": ("SVG", "image/svg+xml", f'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" '
                                         f'onload="{p("svg")}"><rect width="20" height="20"/></svg>'),
        "markdown-output": ("Markdown", "text/markdown", f'**Result** <img src="x" onerror="{p("markdown-output")}">'),
    }


def answer_vectors(prefix: str = "") -> dict:
    """{grade_id: markdown} of the written answers: raw HTML vectors, then the readable sentence."""
    p = lambda name: payload(prefix + name)  # noqa: E731
    return {
        "exercise1_answer": f'<img src="x" onerror="{p("answer-img")}">\n\n{ANSWERS["exercise1_answer"]}\n',
        "exercise2_answer": f'<svg onload="{p("answer-svg")}"></svg>\n\n'
                            f'<details open ontoggle="{p("answer-details")}"><summary>Why</summary>see below</details>'
                            f'\n\n{ANSWERS["exercise2_answer"]}\n',
        "exercise4_answer": f'<iframe srcdoc="<script>{p("answer-iframe")}</script>"></iframe>\n\n'
                            f'[details](javascript:{p("answer-link").replace(" ", "%20")})\n\n'  # needs a click
                            f'{ANSWERS["exercise4_answer"]}\n',
    }


def attack_code(prefix: str = "") -> str:
    """The new code cell: displays every output vector through IPython's display classes."""
    lines = ["from IPython.display import HTML, SVG, Javascript, Markdown, display", ""]
    lines += [f"display({cls}({content!r}))" for cls, _, content in output_vectors(prefix).values()]
    return "\n".join(lines) + "\n"


def build_scripts_submission(release_nb, solution_nb, prefix: str = ""):
    """The ``scripts`` student's notebook (vectors named ``prefix + vector``): the reference answers, the
    written answers replaced by :func:`answer_vectors` and a last code cell :func:`attack_code`."""
    submission = Submission("script injection", {k: source(v) for k, v in answer_vectors(prefix).items()})
    nb = build_submission(release_nb, solution_nb, submission)
    nb.cells.append(new_code_cell(attack_code(prefix)))
    return nb


def unsanitized_notebook(release_nb, solution_nb, prefix: str = "control-"):
    """The ``scripts`` notebook with the outputs its last cell produces, as a kernel gives them (not sanitized)."""
    nb = build_scripts_submission(release_nb, solution_nb, prefix)
    nb.cells[-1].outputs = [
        new_output("display_data", data={mimetype: content, "text/plain": f"<IPython.core.display.{cls} object>"})
        for cls, mimetype, content in output_vectors(prefix).values()
    ]
    nbformat.validate(nb)
    return nb
