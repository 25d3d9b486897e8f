"""``python -m gradedlib``: the same as the ``gradedlib`` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
