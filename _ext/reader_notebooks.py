"""Reader notebooks: every chapter as a runnable ``.ipynb``, with launch links.

A local Sphinx extension of the book (``sphinx.local_extensions`` in
``_config.yml``). For every page written as a MyST notebook (a ``.md`` file
with a ``kernelspec`` in its front matter) it

- writes, when the HTML build finishes, ``notebooks/<chapter>.ipynb`` into the
  built site: the chapter's cells as myst-nb reads them for execution (every
  code cell, with its tags, in order; no outputs), after one first cell that
  installs the student package (``gradedlib`` and the MNIST data, from the wheel
  published with the book) only where ``gradedlib`` is missing, as on Colab,
  and replaces myst_nb's ``glue`` (which fills the book's text) by a function
  that shows the value or figure under its cell;
- writes beside them the Binder environment of the reader branch:
  ``requirements.txt`` (the wheel's address) and ``runtime.txt``;
- puts a bar of three links under the page's title: download the notebook,
  open it in Colab, launch it on Binder. Colab and Binder open the notebook on
  the ``notebooks`` branch of the book's repository, which the deployment
  workflow (``.github/workflows/book.yml``) fills with ``notebooks/`` alone:
  never the instructor's branch, which holds the solutions and hidden tests.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from urllib.parse import quote

import nbformat
from docutils import nodes
from myst_nb.core.read import is_myst_markdown_notebook, read_myst_markdown_notebook

NOTEBOOKS_DIR = "notebooks"  # in the built site, and the files of the reader branch
PYTHON_RUNTIME = "python-3.11"  # Binder's runtime.txt; the package needs Python >= 3.11

INSTALL_CELL = '''\
# {title}: a chapter of the book {site}
# This first cell installs the book's package (gradedlib and the MNIST data)
# where it is missing, as on Colab (elsewhere it installs nothing).
import importlib
import importlib.util
import subprocess
import sys
import types

import IPython.display

WHEEL = "{wheel}"
if importlib.util.find_spec("gradedlib") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", WHEEL])
    importlib.invalidate_caches()


# The book puts numbers and figures into its text with myst_nb's glue(), which a
# notebook cannot show: here glue() shows them under the cell instead.
def _glue(name, variable, display=True):
    if hasattr(variable, "savefig"):  # a matplotlib figure
        IPython.display.display(variable)
    else:
        print(f"{{name}}: {{variable}}")


sys.modules["myst_nb"] = types.ModuleType("myst_nb")
sys.modules["myst_nb"].glue = _glue
'''


def package_version(srcdir: Path) -> str:
    """``gradedlib.__version__``, read from the source (the version of the wheel built with the book)."""
    text = (srcdir / "gradedlib" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.MULTILINE)
    if match is None:
        raise ValueError("no __version__ in gradedlib/__init__.py")
    return match.group(1)


def repository(app) -> tuple[str, str]:
    """(owner, name) of the book's GitHub repository (``repository.url`` in ``_config.yml``)."""
    url = app.config.html_theme_options.get("repository_url", "")
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?", url)
    if match is None:
        raise ValueError(f"repository.url in _config.yml is not a GitHub repository: {url!r}")
    return match.group(1), match.group(2)


def site_url(app) -> str:
    owner, name = repository(app)
    return app.config.reader_notebooks_site or f"https://{owner}.github.io/{name}/"


def wheel_url(app) -> str:
    version = package_version(Path(app.srcdir))
    return f"{site_url(app)}dist/generative_mnist-{version}-py3-none-any.whl"


def launch_urls(app, docname: str) -> dict[str, str]:
    """The three links of a chapter page: download, Colab, Binder."""
    owner, name = repository(app)
    branch = app.config.reader_notebooks_branch
    file = quote(f"{posixpath.basename(docname)}.ipynb")
    return {
        "download": posixpath.relpath(f"{NOTEBOOKS_DIR}/{file}", posixpath.dirname(docname) or "."),
        "colab": f"https://colab.research.google.com/github/{owner}/{name}/blob/{branch}/{file}",
        "binder": f"https://mybinder.org/v2/gh/{owner}/{name}/{branch}?labpath={file}",
    }


def notebook_docs(app) -> dict[str, Path]:
    """docname -> source path of every page written as a MyST notebook."""
    docs = {}
    for docname in sorted(app.env.found_docs):
        path = Path(app.env.doc2path(docname))
        if path.suffix == ".md" and is_myst_markdown_notebook(path.read_text(encoding="utf-8")):
            docs[docname] = path
    return docs


def reader_notebook(app, path: Path, title: str) -> nbformat.NotebookNode:
    """The chapter as a reader's notebook: the install cell, then every cell of the chapter."""
    source = read_myst_markdown_notebook(path.read_text(encoding="utf-8"), path=path)
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    install = INSTALL_CELL.format(title=title, site=site_url(app), wheel=wheel_url(app))
    nb.cells.append(nbformat.v4.new_code_cell(install.rstrip("\n")))
    for cell in source.cells:
        tags = list(cell.get("metadata", {}).get("tags", []))
        metadata = {"tags": tags} if tags else {}
        if cell.cell_type == "code":
            nb.cells.append(nbformat.v4.new_code_cell(cell.source, metadata=metadata))
        elif cell.cell_type == "markdown":
            if cell.source.strip():
                nb.cells.append(nbformat.v4.new_markdown_cell(cell.source, metadata=metadata))
        else:
            nb.cells.append(nbformat.v4.new_raw_cell(cell.source, metadata=metadata))
    for cell in nb.cells:  # nbformat >= 5.1 cell ids, stable from build to build
        cell.pop("id", None)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    nbformat.validate(nb)
    return nb


def add_launch_bar(app, doctree, docname):
    """Put the download / Colab / Binder links under the title of a notebook page."""
    if app.builder.format != "html" or docname not in app.env.reader_notebook_docs:
        return
    urls = launch_urls(app, docname)
    bar = (
        '<p class="reader-launch">'
        f'<a class="reader-launch-download" href="{urls["download"]}" download>Download notebook (.ipynb)</a>'
        f'<a class="reader-launch-colab reference external" href="{urls["colab"]}">Open in Colab</a>'
        f'<a class="reader-launch-binder reference external" href="{urls["binder"]}">Launch Binder</a>'
        "</p>"
    )
    node = nodes.raw("", bar, format="html")
    title = next(iter(doctree.findall(nodes.title)), None)
    if title is not None:
        title.parent.insert(title.parent.index(title) + 1, node)
    else:
        doctree.insert(0, node)


def remember_notebook_docs(app, env, docnames):
    # Recomputed on every build, so that it is right for pages Sphinx does not re-read.
    env.reader_notebook_docs = set(notebook_docs(app))


def write_notebooks(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir) / NOTEBOOKS_DIR
    out.mkdir(parents=True, exist_ok=True)
    for docname, path in notebook_docs(app).items():
        title_node = app.env.titles.get(docname)
        title = title_node.astext() if title_node is not None else posixpath.basename(docname)
        nb = reader_notebook(app, path, title)
        nbformat.write(nb, out / f"{posixpath.basename(docname)}.ipynb")
    (out / "requirements.txt").write_text(wheel_url(app) + "\n", encoding="utf-8")
    (out / "runtime.txt").write_text(PYTHON_RUNTIME + "\n", encoding="utf-8")


def setup(app):
    app.add_config_value("reader_notebooks_branch", "notebooks", "html")
    app.add_config_value("reader_notebooks_site", "", "html")  # default: the repository's GitHub Pages
    app.connect("env-before-read-docs", remember_notebook_docs)
    app.connect("doctree-resolved", add_launch_bar)
    app.connect("build-finished", write_notebooks)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
