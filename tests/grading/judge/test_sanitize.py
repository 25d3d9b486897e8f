"""grading.judge.sanitize: nothing a student's notebook carries may run in the browser that shows it.

A small notebook built here carries many script-injection vectors (in
markdown cells, a raw cell, attachments, code-cell outputs and the widget
state) next to ordinary content.  After :func:`grading.judge.sanitize.sanitize_notebook`
it is rendered with nbconvert through nbgrader's own ``formgrade`` and
``feedback`` templates (what the instructor and the student see), and an
independent check (Python's ``html.parser``, not nh3) finds no script, no
``on*`` handler, no ``javascript:`` URL and none of the dangerous elements,
while the table, the image, the bold text, the formula and the written answer
are still there.  The same check finds the vectors in the notebook before
sanitizing (the check can fail).
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import os
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from grading.judge.sanitize import NOTICE, sanitize_notebook  # noqa: E402

ANSWER = "The covariance is singular because 784 > n"
# a 2 x 2 PNG (red, green / blue, white)
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==")
SVG_ATTACK = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'

MARKDOWN_VECTORS = {
    "script": "<script>alert('script')</script>",
    "img_handler": "<img src=\"x\" onerror=\"alert('img')\">",
    "img_unquoted": "<img src=x onerror=alert(1)>",
    "svg_handler": "<svg onload=\"alert('svg')\"><circle r=\"5\" /></svg>",
    "iframe_srcdoc": "<iframe srcdoc=\"<script>alert('iframe')</script>\"></iframe>",
    "a_script_url": "<a href=\"javascript:alert('a')\">click</a>",
    "a_entity_url": "<a href=\"jav&#x09;ascript:alert('tab')\">click</a>",
    "object": "<object data=\"javascript:alert('object')\"></object>",
    "embed": "<embed src=\"javascript:alert('embed')\">",
    "form": "<form action=\"javascript:alert('form')\"><button formaction=\"javascript:alert(1)\">go</button></form>",
    "meta_refresh": "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert('meta')\">",
    "base": "<base href=\"javascript:alert('base')//\">",
    "style_import": "<style>@import 'https://evil.example/x.css'; body{background:url(javascript:alert(1))}</style>",
    "style_attribute": "<p style=\"position:fixed;top:0;background:url(https://evil.example/beacon)\">cover</p>",
    "mxss": "<math><mtext><table><mglyph><style><img src=\"x\" onerror=\"alert('mxss')\">",
    "comment_trick": "<!--><img src=\"x\" onerror=\"alert('comment')\">-->",
    "data_html_link": "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">data</a>",
    "markdown_link": "[x](javascript:alert('md'))",
    "markdown_link_entity": "[y](jav&#x61;script:alert('md2'))",
    "markdown_reference": "[ref]: javascript:alert('ref')\n\nSee [the reference][ref].",
    "markdown_image": "![i](javascript:alert('mdimg'))",
    "autolink": "<javascript:alert('autolink')>",
    "latex_href": "Math: $\\href{javascript:alert('tex')}{x}$",
    "mermaid": "```mermaid\n<img src=x onerror=alert(1)>\n```",
    "details_toggle": "<details open ontoggle=alert('details')><summary>s</summary>hidden</details>",
}

#: Elements that must not reach the page from a notebook.
DANGEROUS_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "form",
                  "base", "meta", "style", "link", "template", "portal"}
UNSAFE_URLS = ("javascript:", "vbscript:", "data:text", "data:image/svg")
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "poster", "background", "codebase",
                  "cite", "srcset", "ping"}


class _Findings(HTMLParser):
    """Everything executable (or loading) that a page contains, by html.parser."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = Counter()

    def handle_starttag(self, tag, attrs):
        if tag in DANGEROUS_TAGS:
            self.found[f"<{tag}>"] += 1
        for name, value in attrs:
            value = "".join(ch for ch in (value or "") if ch > " ").lower()
            if name.startswith("on"):
                self.found[f"{tag} {name}="] += 1
            elif name in ("srcdoc", "http-equiv"):
                self.found[f"{tag} {name}="] += 1
            elif name in URL_ATTRIBUTES and value.startswith(UNSAFE_URLS):
                self.found[f"{tag} {name}={value[:20]}"] += 1
            elif name == "style" and ("url(" in value or "position" in value or "import" in value):
                self.found[f"{tag} style={value[:30]}"] += 1

    handle_startendtag = handle_starttag


def findings(page: str) -> Counter:
    parser = _Findings()
    parser.feed(page)
    parser.close()
    return parser.found


def attack_notebook():
    """A notebook with every vector, and ordinary content around them."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells.append(new_markdown_cell("## Results\n\nThis is **bold** and the prior is $\\pi_j$; see "
                                      "[the book](https://example.org/book) and `x < 2`.\n\n| c | error |\n|--:|--:|\n"
                                      "| 1000 | 0.043 |"))
    for name, vector in MARKDOWN_VECTORS.items():
        nb.cells.append(new_markdown_cell(f"Vector {name}:\n\n{vector}\n\nEnd of {name}."))
    answer = new_markdown_cell(f"<img src=x onerror=\"alert('answer')\">\n\n{ANSWER}, so the "
                               "regularization $c\\,I$ is needed.")
    answer.metadata["nbgrader"] = {"grade": True, "solution": True, "grade_id": "exercise1_answer", "points": 2,
                                   "locked": False, "schema_version": 3}
    nb.cells.append(answer)
    attached = new_markdown_cell("An attachment: ![plot](attachment:plot.png) ![evil](attachment:evil.svg)")
    attached["attachments"] = {"plot.png": {"image/png": PNG},
                               "evil.svg": {"image/svg+xml": base64.b64encode(SVG_ATTACK.encode()).decode()}}
    nb.cells.append(attached)
    nb.cells.append(new_raw_cell("<script>alert('raw')</script><img src=x onerror=alert('raw2')>raw text"))
    code = new_code_cell("results()", outputs=[
        new_output("stream", name="stdout", text="training done\n"),
        new_output("display_data", data={
            "text/html": "<table><tr><th>c</th><th>error</th></tr><tr><td>1000.0</td><td>0.0431</td></tr></table>"
                         "<script>alert('html')</script><img src=x onerror=alert('html2')>",
            "text/plain": "<IPython.core.display.HTML object>"}),
        new_output("display_data", data={"application/javascript": "alert('js')"}),
        new_output("display_data", data={"image/svg+xml": SVG_ATTACK}),
        new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"},
                   metadata={"image/png": {"width": 20, "height": 20}}),
        new_output("display_data", data={"text/html": "<b>isolated</b><script>alert('isolated')</script>"},
                   metadata={"text/html": {"isolated": True}}),
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {
            "model_id": "m1", "version_major": 2, "version_minor": 0}}),
        new_output("display_data", data={"text/vnd.mermaid": "graph TD; A-->B"}),
        new_output("display_data", data={"application/json": {"c": 1000}}),
        new_output("execute_result", execution_count=1, data={
            "text/markdown": "**md output** <img src=x onerror=alert('mdout')>", "text/plain": "md"}),
        new_output("display_data", data={"text/latex": "$\\href{javascript:alert('latex')}{x}$"}),
    ])
    nb.cells.append(code)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"version_major": 2, "version_minor": 0,
        "state": {"m1": {"model_name": "HTMLModel", "model_module": "@jupyter-widgets/controls",
                         "model_module_version": "2.0.0", "state": {"value": "<img src=x onerror=alert('widget')>"}}}}}
    nbformat.validate(nb)
    return nb


def _template_dir() -> str:
    from nbgrader.server_extensions.formgrader import handlers

    return handlers.template_path


@functools.lru_cache(maxsize=None)
def _exporter(template: str):
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.template_name = template
    config.HTMLExporter.extra_template_basedirs = [_template_dir()]
    css = os.path.join(os.path.dirname(_template_dir()), "static", "node_modules", "bootstrap", "dist", "css")
    config.HTMLExporter.extra_template_paths = [css]
    return HTMLExporter(config=config)


def render(nb, template: str) -> str:
    """``nb`` as nbgrader's formgrader (``formgrade``) or the feedback (``feedback``) renders it."""
    resources = {"base_url": "", "submission_id": "s1", "notebook_id": "nb", "assignment_id": "a", "index": 0,
                 "total": 1, "student": "scripts", "first_name": None, "last_name": None, "notebook_path": "nb.ipynb",
                 "nbgrader": {"notebook": "nb", "score": 0, "max_score": 2, "late_penalty": 0}}
    nb = copy.deepcopy(nb)
    for cell in nb.cells:  # what nbgrader's GetGrades adds for the feedback
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.metadata.nbgrader["score"] = 0
    page, _ = _exporter(template).from_notebook_node(nb, resources=resources)
    return page


def found_in_page(nb, template: str) -> Counter:
    """What :func:`findings` sees in the page of ``nb``, less what the template itself has (its own scripts)."""
    return findings(render(nb, template)) - findings(render(new_notebook(), template))


@pytest.fixture(scope="module")
def sanitized():
    nb = attack_notebook()
    counts = sanitize_notebook(nb)
    return nb, counts


#: Vectors that html.parser cannot see in a page (a browser can): LaTeX is text until MathJax reads it, and
#: html.parser reads ``<!-->`` as the start of a comment where a browser ends the comment there.
NOT_HTML_LEVEL = {"latex_href", "comment_trick"}


@pytest.mark.parametrize("template", ["formgrade", "feedback"])
def test_unsanitized_vectors_are_found(template):
    """The check can fail: every vector, not sanitized, is found in the page (each in a notebook of its own)."""
    missed = []
    for name, vector in MARKDOWN_VECTORS.items():
        nb = new_notebook(cells=[new_markdown_cell(vector)])
        if not found_in_page(nb, template) and name not in NOT_HTML_LEVEL:
            missed.append(name)
    assert not missed
    outputs = attack_notebook()
    outputs.cells = outputs.cells[-1:]
    found = found_in_page(outputs, template)
    assert found["<script>"] >= 3 and found["img onerror="] >= 1, found  # text/html, javascript, markdown outputs


@pytest.mark.parametrize("template", ["formgrade", "feedback"])
def test_nothing_executable_reaches_the_page(sanitized, template):
    nb, _ = sanitized
    found = found_in_page(nb, template)
    assert not found, found
    page = render(nb, template)
    assert '<script type="application/vnd.jupyter.widget' not in page
    assert "javascript:alert" not in page.replace("&lt;javascript:alert('autolink')&gt;", "")  # only as text


def test_every_vector_is_gone_from_the_notebook(sanitized):
    nb, counts = sanitized
    text = json.dumps(nb)
    for name in MARKDOWN_VECTORS:  # the cells' own labels ("Vector iframe_srcdoc:")
        text = text.replace(name, "")
    for marker in ("onerror", "onload", "ontoggle", "srcdoc", "<script", "http-equiv", "<iframe", "<object",
                   "<embed", "<form", "<base", "<style", "@import", "position:fixed", "data:text/html", "widgets"):
        # mermaid's fence (shown as code) keeps its text; nothing else may
        assert text.replace("<img src=x onerror=alert(1)>", "").count(marker) == 0, marker
    assert "javascript:alert" not in text.replace("javascript:alert('autolink')", "")
    assert counts["outputs_removed"] == 4 and counts["json_as_text"] == 1, counts
    assert counts["widget_state_removed"] == 1, counts
    assert counts["attachments_removed"] == 1 and counts["raw_cleaned"] == 1, counts


def test_removed_outputs_say_why(sanitized):
    nb, _ = sanitized
    outputs = nb.cells[-1].outputs
    plain = [o.get("data", {}).get("text/plain") for o in outputs]
    assert NOTICE.format("application/javascript") in plain
    assert NOTICE.format("image/svg+xml") in plain
    assert NOTICE.format("application/vnd.jupyter.widget-view+json") in plain
    assert NOTICE.format("text/vnd.mermaid") in plain
    assert json.loads(outputs[8].data["text/plain"]) == {"c": 1000}  # JSON reduced to text
    assert outputs[5].metadata == {}  # "isolated" dropped
    assert outputs[4].metadata == {"image/png": {"width": 20, "height": 20}}


@pytest.mark.parametrize("template", ["formgrade", "feedback"])
def test_ordinary_content_survives(sanitized, template):
    nb, _ = sanitized
    page = render(nb, template)
    assert "<td>1000.0</td>" in page and "<td>0.0431</td>" in page  # the HTML table of numbers
    assert f"data:image/png;base64,{PNG}" in page  # the PNG output and the PNG attachment
    assert page.count(PNG) == 2
    assert "<strong>bold</strong>" in page and "$\\pi_j$" in page and "$c\\,I$" in page
    assert ANSWER.replace(">", "&gt;") in page  # the written answer, as text
    assert '<a href="https://example.org/book"' in page and "<code>x &lt; 2</code>" in page
    assert "training done" in page and "<strong>md output</strong>" in page
    assert "End of latex_href." in page and "Vector mxss:" in page  # an unclosed <math> hides the rest


def test_the_written_answer_keeps_its_markdown(sanitized):
    nb, _ = sanitized
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "exercise1_answer")
    assert answer.source == f'<img src="x">\n\n{ANSWER}, so the regularization $c\\,I$ is needed.'
    assert nb.cells[0].source == attack_notebook().cells[0].source  # no HTML: not changed at all


def test_sanitizing_twice_changes_nothing_more(sanitized):
    nb, _ = sanitized
    again = copy.deepcopy(nb)
    assert sanitize_notebook(again) == {}
    assert again == nb


@pytest.mark.parametrize("path", ["exercises/gaussian_generative/gaussian_generative.ipynb",
                                  "solutions/gaussian_generative/gaussian_generative.ipynb"])
def test_the_assignment_itself_is_left_as_it_is(path):
    nb = nbformat.read(ROOT / path, as_version=4)
    before = copy.deepcopy(nb)
    assert sanitize_notebook(nb) == {}
    assert nb == before


@pytest.mark.parametrize("source, how", [
    ('\\(<img src="x" onerror="alert(1)">\\) is not math to nbconvert', "escaped"),
    ('<div>\n```\n<img src="x" onerror="alert(1)">\n```\n</div>', "escaped"),
    ("[[[nested]]](javascript:alert(1))", "escaped"),
    ("> [r]: javascript:alert(1)\n>\n> [quoted reference][r]", "code"),
])
def test_what_cleaning_misses_the_rendering_check_catches(source, how):
    """Where nbconvert's renderer reads markdown otherwise than the cleaner, the cell falls back to no HTML."""
    from grading.judge.sanitize import clean_markdown

    cleaned, used = clean_markdown(source)
    assert used == how
    assert clean_markdown(cleaned)[0] == cleaned
    nb = new_notebook(cells=[new_markdown_cell(cleaned)])
    assert not found_in_page(nb, "formgrade")
    assert found_in_page(new_notebook(cells=[new_markdown_cell(source)]), "formgrade")  # unsafe as written
