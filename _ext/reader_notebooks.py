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
- rewrites a code cell tagged ``raises-exception`` (the book shows its error on
  purpose) into ``try: <the cell> except Exception: print(the error)``, so that
  "Run all" in Jupyter or Colab, which stops at the first error, goes on to the
  end; the tag is dropped, since the cell no longer raises;
- replaces in the markdown myst_nb's glue roles (``{glue:text}`name```, ...) by
  the glued value as the build computed it (``<doc>.glue.json``, which myst_nb
  writes beside the executed notebook), and a ``{glue:figure}`` directive by its
  caption; where a value is not found, by the name and a pointer to the
  ``name: value`` line that the install cell's ``glue`` prints under the code;
- writes beside them the Binder environment of the notebooks repository:
  ``requirements.txt`` (the wheel's address) and ``runtime.txt``;
- puts a bar of three links under the page's title: download the notebook,
  open it in Colab, launch it on Binder. Colab and Binder open the notebook in
  the public repository of the reader notebooks alone
  (``reader_notebooks_repository``, "owner/name", on the branch
  ``reader_notebooks_branch``), which the deployment workflow
  (``.github/workflows/book.yml``) fills with ``notebooks/`` alone. Never the
  book's own repository (``repository.url``), the instructor's: it holds the
  solutions and hidden tests, and is private or one click from them. The
  build stops (a Sphinx ``ConfigError``) if the setting is not "owner/name" or
  names the instructor's repository.

The student wheel and the ``site`` of the install cell are the book's GitHub
Pages site (``https://<owner>.github.io/<name>/`` of ``repository.url``, or
``reader_notebooks_site``): the built site, deployed by the same workflow, not
the repository's files; a page there is no link into the repository.
"""

from __future__ import annotations

import json
import posixpath
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import nbformat
from docutils import nodes
from sphinx.errors import ConfigError
from myst_nb.core.read import is_myst_markdown_notebook, read_myst_markdown_notebook
from myst_nb.core.variables import format_plain_text

NOTEBOOKS_DIR = "notebooks"  # in the built site, and the files of the notebooks repository
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


# A GitHub "owner/name": the owner's letters, digits and single inner hyphens
# (at most 39 characters), the name's letters, digits, ".", "-" and "_".
OWNER_NAME = re.compile(r"(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38})/(?P<name>[A-Za-z0-9._-]+)")
REPOSITORY_SETTING = "reader_notebooks_repository (sphinx: config: in _config.yml)"
BRANCH_SETTING = "reader_notebooks_branch (sphinx: config: in _config.yml)"


def notebooks_repository(app) -> tuple[str, str]:
    """(owner, name) of the public repository of the reader notebooks, which Colab and Binder open.

    ``reader_notebooks_repository``, checked: an "owner/name" of GitHub, and not
    the book's own repository (``repository.url``), which is the instructor's.
    """
    value = app.config.reader_notebooks_repository
    match = OWNER_NAME.fullmatch(value) if isinstance(value, str) else None
    if match is None or match["name"] in (".", "..") or match["name"].endswith(".git"):
        raise ConfigError(
            f"{REPOSITORY_SETTING} must be the GitHub repository of the reader notebooks alone, "
            f'as "owner/name" (e.g. "generative-mnist/generative-mnist-notebooks"); got {value!r}'
        )
    owner, name = match["owner"], match["name"]
    book_owner, book_name = repository(app)
    if (owner.lower(), name.lower()) == (book_owner.lower(), book_name.lower()):
        raise ConfigError(
            f"{REPOSITORY_SETTING} is {value!r}, the book's own repository (repository.url: "
            f"{app.config.html_theme_options.get('repository_url', '')}), the instructor's, which holds the "
            "solutions and hidden tests: the Colab and Binder links must open a separate public "
            "repository that holds the reader notebooks alone"
        )
    return owner, name


def notebooks_branch(app) -> str:
    """``reader_notebooks_branch``: the branch of the notebooks repository that the links open."""
    value = app.config.reader_notebooks_branch
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9._/-]+", value) or ".." in value:
        raise ConfigError(f'{BRANCH_SETTING} must be a branch name (e.g. "main"); got {value!r}')
    return value


def check_config(app, config) -> None:  # noqa: ARG001 - Sphinx's config-inited signature
    """Stop the build at once on a wrong notebooks repository or branch (``config-inited``)."""
    notebooks_repository(app)
    notebooks_branch(app)


def site_url(app) -> str:
    owner, name = repository(app)
    return app.config.reader_notebooks_site or f"https://{owner}.github.io/{name}/"


def wheel_url(app) -> str:
    version = package_version(Path(app.srcdir))
    return f"{site_url(app)}dist/generative_mnist-{version}-py3-none-any.whl"


def launch_urls(app, docname: str) -> dict[str, str]:
    """The three links of a chapter page: download, Colab, Binder (the last two in the notebooks repository)."""
    owner, name = notebooks_repository(app)
    branch = quote(notebooks_branch(app))
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


# --- Cells that raise on purpose ---

RAISES_TAG = "raises-exception"
TRY_LINE = "try:"
EXCEPT_LINES = (
    "except Exception as error:  # the book shows this error on purpose\n"
    '    print(f"{type(error).__name__}: {error}")'
)


def wrap_raising_cell(source: str) -> str:
    """A cell that raises on purpose, as a cell that prints its error and goes on.

    The cell's code is the ``try`` body, unchanged but for 4 spaces of indent
    (blank lines stay blank). Its last line, in the book's chapters, is the call
    that raises, so there is no value that the cell would have shown.
    """
    body = source.strip("\n") or "pass"
    return f"{TRY_LINE}\n{textwrap.indent(body, '    ')}\n{EXCEPT_LINES}"


# --- Glue in the markdown ---

GLUE_ROLE = re.compile(r"\{glue(?::(?P<kind>[a-z]*))?\}`(?P<content>[^`]*)`")
GLUE_DIRECTIVE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,}|:{3,})\{glue(?::(?P<kind>[a-z]*))?\}\s*(?P<arg>.*?)\s*$")
CODE_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
CODE_DIRECTIVES = ("{code-block}", "{code}", "{sourcecode}", "{code-cell}", "{literalinclude}")

# (kind, content of the role or argument of the directive) -> markdown text
GlueLookup = Callable[[str, str], str]


def glue_fallback(kind: str, content: str) -> str:
    """The name, pointing to the ``name: value`` line the install cell's glue prints."""
    doc, _, key = content.rpartition("::")
    if kind == "text" and ":" in key:
        key = key.rsplit(":", 1)[0]
    if doc:
        return f"`{key}` (a value computed in `{doc}`)"
    return f"`{key}` (printed by the code above)"


def is_closing(line: str, fence: str) -> bool:
    """Whether the line closes a block opened by ``fence`` (the same character, as many or more)."""
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def markdown_without_glue(text: str, lookup: GlueLookup = glue_fallback) -> str:
    """The markdown with every glue role and directive replaced by readable text.

    Code blocks are left as they are; a ``{glue:figure}`` directive becomes its
    caption, after a note on where the figure is shown.
    """
    lines = text.split("\n")
    out: list[str] = []
    open_directives: list[str] = []  # the fences of the directives (admonitions, ...) we are in
    i = 0
    while i < len(lines):
        line = lines[i]
        directive = GLUE_DIRECTIVE.match(line)
        code = CODE_FENCE.match(line)
        if directive is not None:
            fence = directive["fence"]
            body = []
            i += 1
            while i < len(lines) and not is_closing(lines[i], fence):
                body.append(lines[i])
                i += 1
            i += 1  # the closing fence
            caption = [b for b in body if not re.match(r"^\s*:[\w-]+:", b)]
            caption_text = GLUE_ROLE.sub(
                lambda m: lookup(m["kind"] or "", m["content"]), " ".join(c.strip() for c in caption if c.strip())
            )
            kind, name = directive["kind"] or "", directive["arg"]
            if kind == "figure":
                note = f"*Figure `{name}`, shown under the code above.*"
                out.append(directive["indent"] + (f"{note} {caption_text}" if caption_text else note))
            else:
                out.append(directive["indent"] + lookup(kind, name))
                if caption_text:
                    out.append(directive["indent"] + caption_text)
            continue
        if open_directives and is_closing(line, open_directives[-1]):
            open_directives.pop()
        elif code is not None and code["info"].strip().startswith("{") and not code["info"].strip().startswith(CODE_DIRECTIVES):
            open_directives.append(code["fence"])  # a directive whose content is markdown
        elif code is not None:  # a code block, left as it is
            fence = code["fence"]
            out.append(line)
            i += 1
            while i < len(lines):
                out.append(lines[i])
                i += 1
                if is_closing(lines[i - 1], fence):
                    break
            continue
        out.append(GLUE_ROLE.sub(lambda m: lookup(m["kind"] or "", m["content"]), line))
        i += 1
    return "\n".join(out)


def glue_data(app, docname: str) -> dict:
    """What the chapter glued, as the build executed it (myst_nb's ``<doc>.glue.json``)."""
    folder = Path(app.env.mystnb_config.output_folder)
    path = folder.joinpath(*docname.split("/")[:-1], f"{docname.split('/')[-1]}.glue.json")
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def glue_lookup(app, docname: str) -> GlueLookup:
    """Glued values as myst_nb's roles show them (same parsing and formatting)."""
    data = {docname: glue_data(app, docname)}

    def lookup(kind: str, content: str) -> str:
        rel_doc, _, key = content.rpartition("::")
        fmt_spec = ""
        if kind == "text":  # [<doc>::]<key>[:<format spec>], as myst_nb's PasteTextRole
            key, _, fmt_spec = key.rpartition(":") if ":" in key else (key, "", "s")
        doc = app.env.path2doc(app.env.relfn2path(rel_doc, docname)[1]) if rel_doc else docname
        if doc is None:
            return glue_fallback(kind, content)
        if doc not in data:
            data[doc] = glue_data(app, doc)
        mime = data[doc].get(key, {}).get("data", {})
        try:
            if kind == "md" and "text/markdown" in mime:
                return mime["text/markdown"]
            if kind == "math" and "text/latex" in mime:
                return mime["text/latex"]
            if kind in ("text", "", "any") and "text/plain" in mime and not any(
                m.startswith("image/") for m in mime
            ):
                return format_plain_text(mime["text/plain"], fmt_spec)
        except (TypeError, ValueError):
            pass
        return glue_fallback(kind, content)

    return lookup


def reader_notebook(app, path: Path, title: str, docname: str | None = None) -> nbformat.NotebookNode:
    """The chapter as a reader's notebook: the install cell, then every cell of the chapter."""
    source = read_myst_markdown_notebook(path.read_text(encoding="utf-8"), path=path)
    lookup = glue_lookup(app, docname) if docname is not None else glue_fallback
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
            code = cell.source
            if RAISES_TAG in tags:
                code = wrap_raising_cell(code)
                tags.remove(RAISES_TAG)
                metadata = {"tags": tags} if tags else {}
            nb.cells.append(nbformat.v4.new_code_cell(code, metadata=metadata))
        elif cell.cell_type == "markdown":
            if cell.source.strip():
                text = markdown_without_glue(cell.source, lookup)
                nb.cells.append(nbformat.v4.new_markdown_cell(text, metadata=metadata))
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


def remember_notebook_docs(app, env, docnames):  # noqa: ARG001 - Sphinx's env-before-read-docs signature
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
        nb = reader_notebook(app, path, title, docname)
        nbformat.write(nb, out / f"{posixpath.basename(docname)}.ipynb")
    (out / "requirements.txt").write_text(wheel_url(app) + "\n", encoding="utf-8")
    (out / "runtime.txt").write_text(PYTHON_RUNTIME + "\n", encoding="utf-8")


def setup(app):
    # "owner/name" of the public repository of the reader notebooks alone; required
    # (no default: the book's own repository is the instructor's).
    app.add_config_value("reader_notebooks_repository", "", "html", types=[str])
    app.add_config_value("reader_notebooks_branch", "main", "html", types=[str])
    app.add_config_value("reader_notebooks_site", "", "html")  # default: the book's GitHub Pages site
    app.connect("config-inited", check_config)
    app.connect("env-before-read-docs", remember_notebook_docs)
    app.connect("doctree-resolved", add_launch_bar)
    app.connect("build-finished", write_notebooks)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
