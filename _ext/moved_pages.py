"""Pages that moved keep their old address: a small page there sends the reader on.

The fourth edition renumbered chapters (``book/07c_why_cI_works`` is now
``book/08_why_cI_works``, and so on). A link or bookmark to an old address
would otherwise end on the host's "not found" page. For every entry of the
``moved_pages`` setting, ``{old docname: new docname}``, the HTML build writes
``<old>.html``: it replaces itself by the new page, keeping the ``#section``
of the address (a one-line script), falls back to a ``<meta http-equiv=refresh>``
without scripts, names the new page as canonical and shows a plain link.

The build stops, naming the entry, if an old name is still a page of the book
(the redirect would hide it) or if a new name is not one.
"""

from __future__ import annotations

import html
import json
import posixpath
from pathlib import Path

from sphinx.errors import ConfigError

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Moved: {title}</title>
<link rel="canonical" href="{href}">
<meta name="robots" content="noindex">
<meta http-equiv="refresh" content="0; url={href}">
<script>location.replace({href_js} + location.hash);</script>
</head>
<body>
<p>This page has moved to <a href="{href}">{title}</a>.</p>
</body>
</html>
"""


def check_moved_pages(app, env):
    """Every old name is no longer a page and every new name is one."""
    moved = app.config.moved_pages
    if not isinstance(moved, dict):
        raise ConfigError(f"The 'moved_pages' setting must be a mapping of old to new page names. Got {moved!r}.")
    for old, new in moved.items():
        if old in env.found_docs:
            raise ConfigError(f"moved_pages: {old!r} is still a page of the book; a redirect would hide it.")
        if new not in env.found_docs:
            raise ConfigError(f"moved_pages: {old!r} points to {new!r}, which is not a page of the book.")


def write_moved_pages(app, exception):
    """Write one redirect page per entry of ``moved_pages`` into the HTML output."""
    if exception is not None or app.builder.format != "html":
        return
    for old, new in app.config.moved_pages.items():
        target = Path(app.outdir) / f"{old}.html"
        href = posixpath.relpath(f"{new}.html", posixpath.dirname(old) or ".")
        title = app.env.titles[new].astext() if new in app.env.titles else new
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_PAGE.format(title=html.escape(title), href=html.escape(href, quote=True),
                                       href_js=json.dumps(href).replace("<", "\\u003c")), encoding="utf-8")


def setup(app):
    app.add_config_value("moved_pages", {}, "html", types=[dict])
    app.connect("env-check-consistency", check_moved_pages)
    app.connect("build-finished", write_moved_pages)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
