"""Make a graded notebook safe to show in a browser (the formgrader and the feedback pages).

nbgrader's formgrader shows the autograded notebook to the instructor on the
Jupyter server's own origin, and ``nbgrader generate_feedback`` turns it into
the student's feedback page.  Both insert the notebook's HTML as it is: a
student's ``display(HTML("<script>..."))`` output, or ``<img onerror=...>`` in
a written answer, would run in the instructor's browser with the instructor's
rights.  :func:`sanitize_notebook` removes what could run there:

* code-cell outputs: ``text/html`` is cleaned by nh3 (an allowlist sanitizer)
  with :data:`ALLOWED_TAGS` and :data:`ALLOWED_ATTRIBUTES`; ``text/markdown``
  is cleaned like a markdown cell; ``text/plain``, ``text/latex`` and base64
  PNG, JPEG and GIF images are kept; ``application/json`` becomes text; every
  other type (JavaScript, SVG, widgets, ``text/vnd.*``...) is removed, with a
  ``text/plain`` notice where no text is left.  ``stream`` and ``error``
  outputs are text, which every renderer escapes: they are kept.
* markdown cells: link targets other than http, https, mailto and ``#``
  (``javascript:``, ``data:text/html``...) become ``#removed-unsafe-link``,
  also in LaTeX ``\\href`` and ``\\url``; the HTML written inside the
  markdown is cleaned by nh3, code and math are left as written.  The cell is
  then rendered with nbconvert's own markdown renderer and kept only if nh3
  would remove nothing from the result; otherwise every ``<`` and the link
  syntax are escaped, and as a last resort the cell is shown as a code block.
  Attachments other than PNG, JPEG and GIF images are removed.
* raw cells: cleaned like HTML (nbconvert renders them as HTML).
* the notebook's widget state (``metadata.widgets``) is removed.

The notebook is changed in place; sanitizing it twice changes nothing more.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter

import nh3

__all__ = ["ALLOWED_ATTRIBUTES", "ALLOWED_TAGS", "clean_html", "clean_markdown", "sanitize_notebook"]

#: Tags kept in HTML: text formatting, headings, lists, tables, code, images and links.
ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del", "details",
    "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "summary",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var",
})
#: Attributes kept, by tag ("*": any tag).  ``style`` keeps only ``text-align`` (:data:`STYLE_PROPERTIES`).
ALLOWED_ATTRIBUTES = {
    "*": {"title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "table": {"border"},
    "td": {"colspan", "rowspan", "align", "style"},
    "th": {"colspan", "rowspan", "align", "style", "scope"},
    "col": {"span"}, "colgroup": {"span"},
    "ol": {"start", "type"},
    "p": {"align"}, "div": {"align"},
    "details": {"open"},
}
STYLE_PROPERTIES = {"text-align"}
#: Removed together with their content (never shown as text).
REMOVED_WITH_CONTENT = {"script", "style", "svg", "math", "template", "iframe", "object", "noscript", "textarea",
                        "title", "select", "noembed", "noframes", "xmp"}

#: Output types kept (text the renderers escape, base64 images); ``text/latex`` has its ``\\href`` neutralized.
KEPT_TYPES = {"text/plain", "image/png", "image/jpeg", "image/gif"}
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif"}
#: Output metadata that the renderers read safely (image size and text alternative).
KEPT_OUTPUT_METADATA = {"width", "height", "unconfined", "alt"}
LINK_SCHEMES = {"http", "https", "mailto"}
REMOVED_LINK = "#removed-unsafe-link"
NOTICE = "[The grader removed an output of type {}: it could run code in the grader's browser.]"
AS_CODE_NOTE = "*[The grader shows this cell as plain text: its HTML could not be made safe to display.]*"

_IMAGE_DATA = re.compile(r"data:image/(png|jpeg|gif);base64,[a-z0-9+/=]*")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")


def _plain_url(url: str) -> str:
    """``url`` as a browser reads its scheme: entities decoded, markdown escapes, spaces and controls removed."""
    url = html.unescape(url)
    url = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", url)
    return re.sub(r"[\x00-\x20\x7f]+", "", url).lower()


def _link_ok(url: str) -> bool:
    """A link target: http, https, mailto or a fragment of this page."""
    plain = _plain_url(url)
    scheme = re.match(r"([a-z][a-z0-9+.\-]*):", plain)
    return plain.startswith("#") or (scheme is not None and scheme.group(1) in LINK_SCHEMES)


def _image_ok(url: str, attachments=()) -> bool:
    """An image source: relative, https, a base64 PNG/JPEG/GIF, or one of the cell's (kept) attachments."""
    plain = _plain_url(url)
    scheme = re.match(r"([a-z][a-z0-9+.\-]*):", plain)
    if scheme is None:
        return True
    if scheme.group(1) == "attachment":
        return html.unescape(url).strip()[len("attachment:"):] in attachments
    return scheme.group(1) == "https" or _IMAGE_DATA.fullmatch(plain) is not None


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:  # noqa: ARG001 - nh3's signature
    """nh3's attribute filter: URLs must pass :func:`_link_ok` (href) or :func:`_image_ok` (src)."""
    if attribute == "href":
        return value if _link_ok(value) else None
    if attribute == "src":
        return value if _image_ok(value) else None
    return value


_CLEAN = dict(
    tags=set(ALLOWED_TAGS), clean_content_tags=REMOVED_WITH_CONTENT, attributes=ALLOWED_ATTRIBUTES,
    attribute_filter=_keep_attribute, url_schemes=LINK_SCHEMES | {"data"}, filter_style_properties=STYLE_PROPERTIES,
)
# What nbconvert's markdown renderer itself adds (heading anchors, classes, task-list boxes) is not executable.
_RENDERED = dict(
    _CLEAN, tags=set(ALLOWED_TAGS) | {"input"}, link_rel=None,
    attributes={**ALLOWED_ATTRIBUTES, "*": ALLOWED_ATTRIBUTES["*"] | {"class", "id"},
                "a": {"href", "rel"}, "input": {"type", "disabled", "checked"}},
)


def clean_html(text: str) -> str:
    """``text`` (an HTML fragment) with only :data:`ALLOWED_TAGS`, :data:`ALLOWED_ATTRIBUTES` and safe URLs.

    Parameters
    ----------
    text : str
        HTML as a browser would receive it.

    Returns
    -------
    str
        The cleaned HTML (nh3); idempotent.
    """
    return nh3.clean(text, **_CLEAN)


def _removes_nothing(rendered: str) -> bool:
    """True if nh3 keeps every tag, attribute and URL of ``rendered`` (both parsed by nh3, as a browser does)."""
    if re.search(r"<[!?]", rendered):  # comments, doctypes, CDATA: never produced by clean markdown
        return False
    # Every scheme as a URL parser may read it (entities decoded, tabs and newlines dropped) is allowed here.
    decoded = rendered + re.sub(r"[\t\n\r]", "", html.unescape(rendered))
    everything = dict(
        tags={t.lower() for t in re.findall(r"</?([A-Za-z][^\s/>]*)", rendered)}, clean_content_tags=set(),
        attributes={}, generic_attribute_prefixes=set(rendered), strip_comments=False, link_rel=None,
        url_schemes={s.lower() for s in re.findall(r"[A-Za-z][A-Za-z0-9+.\-]*(?=:)", decoded)},
    )
    return nh3.clean(rendered, **_RENDERED) == nh3.clean(rendered, **everything)


def _renders_safely(source: str, attachments: dict) -> bool:
    """Render ``source`` as the formgrader and the feedback do (nbconvert's markdown2html) and check the HTML."""
    from nbconvert.filters import strip_files_prefix
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    try:
        rendered = MarkdownWithMath(renderer=IPythonRenderer(escape=False, attachments=attachments)).render(source)
        rendered = strip_files_prefix(rendered)  # the templates' next filter
    except Exception:  # noqa: BLE001 - what nbconvert cannot render is not shown as markdown
        return False
    return _removes_nothing(rendered)


# Parts of markdown left as written: code (fenced or inline), math, autolinks <scheme:...>.
_PROTECTED = re.compile(r"""
      (?P<fence>^[ ]{0,3}(?P<f>`{3,}|~{3,})[^\n]*\n.*?(?:^[ ]{0,3}(?P=f)[`~]*[ \t]*$|\Z))
    | (?P<code>(?P<ticks>`+)(?!`).+?(?<!`)(?P=ticks)(?!`))
    | (?P<math>\$\$.+?\$\$|\$[^$\n]+\$|\\\[.+?\\\]|\\\(.+?\\\)|\\begin\{(?P<env>[^{}]*)\}.*?\\end\{(?P=env)\})
    | (?P<autolink><[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>]*>)
""", re.M | re.S | re.X)
_TAG_START = re.compile(r"<[A-Za-z!/?]")
_MD_LINK = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\([ \t\n]*(<[^<>\n]*>|(?:[^\s()]|\([^\s()]*\))+)"
                      r"(?=[ \t\n]*\)|[ \t\n]+[\"'(])")  # the destination, then ")" or a title
_MD_DEFINITION = re.compile(r"^([ ]{0,3}\[[^\]]+\]:[ \t]*\n?[ \t]*)(<[^<>\n]*>|\S+)", re.M)
_TEX_LINK = re.compile(r"(\\(?:href|url)\s*\{)([^{}]*)(\})")


def _neutralize_links(text: str, attachments) -> str:
    """Markdown links, definitions and LaTeX ``\\href``/``\\url`` with unsafe targets point to :data:`REMOVED_LINK`."""

    def link(m):
        target = m.group(3)[1:-1] if m.group(3).startswith("<") else m.group(3)
        ok = _image_ok(target, attachments) if m.group(1) else _link_ok(target)
        return m.group(0) if ok else m.group(0)[: m.start(3) - m.start(0)] + REMOVED_LINK

    text = _MD_LINK.sub(link, text)
    text = _MD_DEFINITION.sub(lambda m: m.group(0) if _link_ok(m.group(2).strip("<>")) else m.group(1) + REMOVED_LINK,
                              text)
    return _neutralize_tex_links(text)


def _neutralize_tex_links(text: str) -> str:
    """LaTeX ``\\href{URL}`` and ``\\url{URL}`` (MathJax makes links of them) with unsafe URLs."""
    return _TEX_LINK.sub(lambda m: m.group(0) if _link_ok(m.group(2)) else m.group(1) + REMOVED_LINK + m.group(3), text)


def _clean_markdown_text(source: str, attachments) -> str:
    """Neutralize unsafe link targets, then clean the HTML written in markdown (code and math left as written)."""
    out, position = [], 0

    def text(part: str) -> str:
        if not _TAG_START.search(part):
            return part
        # nh3 escapes '>' in text; markdown needs it back (blockquotes, "784 > n"): it cannot open a tag
        return clean_html(part).replace("&gt;", ">")

    source = _neutralize_links(source, attachments)
    for m in _PROTECTED.finditer(source):
        out.append(text(source[position:m.start()]))
        piece = m.group(0)
        if m.group("fence"):  # a "mermaid" fence is inserted unescaped by nbconvert: show it as text
            piece = re.sub(r"\A([ ]{0,3}(?:`{3,}|~{3,})[ \t]*)mermaid", r"\1text", piece)
        elif m.group("autolink") and not _link_ok(piece[1:-1]):
            piece = "&lt;" + piece[1:-1] + "&gt;"
        out.append(piece)
        position = m.end()
    out.append(text(source[position:]))
    return "".join(out)


def clean_markdown(source: str, attachments: dict | None = None) -> tuple[str, str]:
    """Markdown ``source`` made safe to render; returns ``(markdown, how)``.

    Parameters
    ----------
    source : str
        The markdown (a cell's source or a ``text/markdown`` output).
    attachments : dict, optional
        The cell's attachments (name -> {mimetype: base64}), already reduced to images.

    Returns
    -------
    tuple of str
        The markdown and how it was made safe: ``"cleaned"`` (HTML cleaned,
        unsafe links neutralized; the usual case), ``"escaped"`` (``<`` and
        link syntax escaped: no HTML and no links at all) or ``"code"``
        (shown as a code block).
    """
    attachments = attachments or {}
    cleaned = _clean_markdown_text(source, attachments)
    if _renders_safely(cleaned, attachments):
        return cleaned, "cleaned"
    # no HTML and no links: every "<" escaped, "](" and a definition's "[" too
    escaped = re.sub(r"^([ ]{0,3})\[", r"\1\\[", cleaned.replace("<", "&lt;").replace("](", "]\\("), flags=re.M)
    if _renders_safely(escaped, attachments):
        return escaped, "escaped"
    fence = "`" * max(3, 1 + max(map(len, re.findall(r"`+", source)), default=0))
    return f"{AS_CODE_NOTE}\n\n{fence}text\n{source}\n{fence}\n", "code"


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _sanitize_output(output, counts: Counter) -> None:
    """Clean one ``display_data``/``execute_result``/``update_display_data`` output in place."""
    data = output.get("data", {})
    removed = []
    for mimetype in list(data):
        if mimetype == "application/json":  # not rendered by nbconvert; shown as text
            value = data.pop(mimetype)
            data.setdefault("text/plain", value if isinstance(value, str) else json.dumps(value, indent=1))
            counts["json_as_text"] += 1
            continue
        value = _text(data[mimetype])
        if mimetype == "text/html":
            new = clean_html(value)
        elif mimetype == "text/markdown":
            new, _ = clean_markdown(value)
        elif mimetype == "text/latex":
            new = _neutralize_tex_links(value)
        elif mimetype in KEPT_TYPES and (mimetype not in IMAGE_TYPES or _BASE64.fullmatch(value)):
            continue
        else:
            del data[mimetype]
            removed.append(mimetype)
            continue
        if new != value:
            data[mimetype] = new
            counts[f"output_{mimetype.split('/')[1]}_cleaned"] += 1
    if removed:
        counts["outputs_removed"] += len(removed)
        if "text/plain" not in data:
            data["text/plain"] = NOTICE.format(", ".join(sorted(removed)))
    metadata = output.get("metadata")
    if metadata:
        safe = {m: {k: v for k, v in metadata[m].items() if k in KEPT_OUTPUT_METADATA}
                for m in data if isinstance(metadata.get(m), dict)}
        if safe != metadata:
            output["metadata"] = {m: v for m, v in safe.items() if v}


def sanitize_notebook(nb) -> dict:
    """Remove from ``nb`` (in place) whatever could run in the browser that shows it; return counts.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A notebook (version 4), e.g. an autograded submission.

    Returns
    -------
    dict
        What was changed, for a log line: e.g. ``{"html_cleaned": 2,
        "outputs_removed": 1, "markdown_cleaned": 1}`` (empty when nothing was).
    """
    counts: Counter = Counter()
    if nb.get("metadata", {}).pop("widgets", None) is not None:
        counts["widget_state_removed"] += 1
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") in ("display_data", "execute_result", "update_display_data"):
                    _sanitize_output(output, counts)
            continue
        attachments = cell.get("attachments")
        if attachments:
            kept = {name: {m: v for m, v in bundle.items()
                           if m in IMAGE_TYPES and isinstance(v, str) and _BASE64.fullmatch(v)}
                    for name, bundle in attachments.items()}
            kept = {name: bundle for name, bundle in kept.items() if bundle}
            if kept != attachments:
                counts["attachments_removed"] += sum(map(len, attachments.values())) - sum(map(len, kept.values()))
                cell["attachments"] = kept
        source = _text(cell.get("source", ""))
        if cell.get("cell_type") == "markdown":
            new, how = clean_markdown(source, cell.get("attachments") or {})
        elif cell.get("cell_type") == "raw":
            new, how = clean_html(source), "cleaned"
        else:
            continue
        if new != source:
            cell["source"] = new
            counts[f"{cell['cell_type']}_{how}"] += 1
    return dict(counts)
