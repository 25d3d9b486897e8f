"""The course on JupyterHub, on one machine: ``python -m grading.jupyterhub`` (see ``__main__.py``)."""

__all__: list[str] = []
