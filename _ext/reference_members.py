"""The library reference documents gradedlib's own code only.

``automodule:: gradedlib.<module>`` with ``:members:`` documents the names of
the module's ``__all__`` and, for classes, their public methods. A
scikit-learn estimator also carries methods that scikit-learn generates for
it (``set_score_request`` and the like, for metadata routing), whose
docstrings refer to scikit-learn's own documentation; this extension skips
every member defined outside ``gradedlib``, so the reference holds what
gradedlib defines and nothing else.
"""

from __future__ import annotations


def _skip_foreign(app, what, name, obj, skip, options):  # noqa: ARG001 - Sphinx's autodoc-skip-member signature
    module = getattr(obj, "__module__", None)
    if what == "class" and isinstance(module, str) and not module.startswith("gradedlib"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
