"""nbgrader preprocessor for the feedback: a page that reads well offline.

nbgrader's feedback page loads MathJax 2 from a CDN, so a student who opens
the file without a network sees ``$\\pi_j$`` as typed.  :class:`OfflineFeedbackPage`
(in ``c.GenerateFeedback.preprocessors``, ``nbgrader_config.py``) puts the
course's vendored MathJax 3 (``_vendor/mathjax``: ``tex-chtml.js`` and its
woff fonts, the copy the book serves) into ``resources``, and the course's
feedback template (``grading/plugins/templates/feedback_offline``) writes it into the
page itself: the script inline, the fonts as ``data:`` URLs.  The page then
needs no network and no file beside it (about 1.7 MB, most of it MathJax),
which is what a student downloads from the LMS.

MathJax is configured for student-written TeX: ``$...$`` and ``$$...$$``
as in Jupyter; no ``\\require`` and no autoloaded extensions (nothing is
fetched, and ``\\href`` and the other HTML macros stay undefined); no menu.

When the vendored copy is missing (a course folder without ``_vendor/``),
a warning names the folder looked in and the page keeps nbgrader's CDN MathJax.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from traitlets import Unicode

from grading.plugins.base import CoursePreprocessor

__all__ = ["OfflineFeedbackPage", "TEMPLATE_FOLDER", "mathjax_config"]

#: The course's nbconvert templates (``feedback_offline``).
TEMPLATE_FOLDER = str(Path(__file__).resolve().parent / "templates")


def mathjax_config(fonts: dict) -> str:
    """The JavaScript that configures MathJax 3 before it loads, with its fonts inline.

    Parameters
    ----------
    fonts : dict
        {woff file name: base64 of its bytes}.

    Returns
    -------
    str
        A script body: ``window.MathJax = {...}``.  At start-up it makes
        MathJax's CHTML output use the ``data:`` URLs of ``fonts`` instead of
        font files beside the script (``CHTMLFontData.addFontURLs``, MathJax 3.2).
    """
    return """window.MathJax = {
  tex: {
    inlineMath: [['$', '$'], ['\\\\(', '\\\\)']],
    displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']],
    processEscapes: true,
    processEnvironments: true,
    packages: {'[-]': ['require', 'autoload']}
  },
  options: {enableMenu: false},
  startup: {
    ready: function () {
      var inline = %s;
      var FontData = MathJax._.output.chtml.FontData.CHTMLFontData;
      var addFontURLs = FontData.prototype.addFontURLs;
      FontData.prototype.addFontURLs = function (styles, fonts, url) {
        addFontURLs.call(this, styles, fonts, url);
        Object.keys(fonts).forEach(function (name) {
          var file = (fonts[name].src.match(/%%%%URL%%%%\\/([^"')]+)/) || [])[1];
          if (file && inline[file]) {
            styles[name] = Object.assign({}, styles[name],
              {src: 'url("data:font/woff;base64,' + inline[file] + '") format("woff")'});
          }
        });
      };
      MathJax.startup.defaultReady();
    }
  }
};""" % json.dumps(fonts, sort_keys=True)


class OfflineFeedbackPage(CoursePreprocessor):
    """Give the feedback template the vendored MathJax, so that the page renders maths offline."""

    mathjax_folder = Unicode(
        "",
        help="Folder of the vendored MathJax 3 (tex-chtml.js, output/chtml/fonts/woff-v2/*.woff). Empty: "
             "_vendor/mathjax in the course folder, else beside the grading package.",
    ).tag(config=True)

    _cache: dict = {}

    def _folder(self) -> Path | None:
        candidates = [self.mathjax_folder] if self.mathjax_folder else [
            os.path.join(os.getcwd(), "_vendor", "mathjax"),  # nbgrader runs converters in the course root
            str(Path(__file__).resolve().parents[2] / "_vendor" / "mathjax"),
        ]
        for candidate in candidates:
            if (Path(candidate) / "tex-chtml.js").is_file():
                return Path(candidate)
        self.log.warning("no vendored MathJax (tex-chtml.js) in %s: the feedback loads MathJax from a CDN, and "
                         "its maths shows as typed without a network", " or ".join(candidates))
        return None

    def _assets(self, folder: Path) -> dict:
        key = str(folder)
        if key not in self._cache:
            fonts = {p.name: base64.b64encode(p.read_bytes()).decode("ascii")
                     for p in sorted((folder / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))}
            script = (folder / "tex-chtml.js").read_text(encoding="utf-8")
            if "</script" in script.lower():
                raise ValueError(f"{folder / 'tex-chtml.js'} contains '</script': it cannot be written inline")
            OfflineFeedbackPage._cache[key] = {"mathjax_config": mathjax_config(fonts), "mathjax_script": script}
        return self._cache[key]

    def preprocess(self, nb, resources):
        """Add ``mathjax_config`` and ``mathjax_script`` to ``resources["generative_mnist_feedback"]``."""
        folder = self._folder()
        if folder is not None:
            resources.setdefault("generative_mnist_feedback", {}).update(self._assets(folder))
        return nb, resources
