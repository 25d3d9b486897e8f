"""The student package: the wheel and sdist that students and readers install.

They must hold gradedlib with its MNIST files and nothing of the
instructor's: no solutions, hidden tests, grading plugins, simulated
submissions, released notebook, book sources or test suite. The wheel is
published with the book (README, "For students"), so the README's install
command must name the wheel that this version builds.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import gradedlib

ROOT = Path(__file__).resolve().parents[2]
VERSION = gradedlib.__version__
WHEEL = f"generative_mnist-{VERSION}-py3-none-any.whl"
SDIST = f"generative_mnist-{VERSION}.tar.gz"
MNIST = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
INSTRUCTOR_DIRS = ["solutions", "grading", "tests", "exercises", "book", "bench"]

pytestmark = pytest.mark.slow  # builds the package (about 10 s)


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """Build the sdist, then the wheel from the sdist (python -m build), from a copy of the project."""
    work = tmp_path_factory.mktemp("package")
    src = work / "project"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", "_build", "*.egg-info", "__pycache__", ".ci-venv", "venv", ".venv", "build", "dist",
        ".pytest_cache", ".jupyter_cache", "gradebook.db"))
    out = work / "dist"
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == sorted([SDIST, WHEEL])
    return out / WHEEL, out / SDIST


def instructor_files() -> dict:
    """SHA-256 -> path of every file in the instructor-only folders and the course config."""
    hashes = {}
    paths = [ROOT / "nbgrader_config.py"] + [p for d in INSTRUCTOR_DIRS for p in (ROOT / d).rglob("*")]
    for path in paths:
        if path.is_file() and "__pycache__" not in path.parts:
            hashes[hashlib.sha256(path.read_bytes()).hexdigest()] = path.relative_to(ROOT)
    return hashes


def test_wheel_holds_gradedlib_and_mnist_only(dists):
    wheel, _ = dists
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        contents = {name: zf.read(name) for name in names}
    tops = {name.split("/")[0] for name in names}
    assert tops == {"gradedlib", f"generative_mnist-{VERSION}.dist-info"}
    for module in ["__init__.py", "data.py", "cli.py", "check.py", "selfcheck.py", "__main__.py"]:
        assert f"gradedlib/{module}" in names
    for name in MNIST + ["SHA256SUMS.uncompressed", "README.md"]:
        assert f"gradedlib/_data/mnist/{name}" in names
    # the MNIST files are the repository's, byte for byte, and match their checksums
    sums = dict(line.split()[::-1] for line in contents["gradedlib/_data/mnist/SHA256SUMS.uncompressed"].decode().splitlines() if line.strip())
    for name in MNIST:
        data = contents[f"gradedlib/_data/mnist/{name}"]
        assert data == (ROOT / "gradedlib" / "_data" / "mnist" / name).read_bytes()
        assert hashlib.sha256(gzip.decompress(data)).hexdigest() == sums[name.removesuffix(".gz")]
    assert not [n for n in names if n.endswith((".ipynb", ".pyc"))]


def test_sdist_holds_no_instructor_file(dists):
    _, sdist = dists
    prefix = f"generative_mnist-{VERSION}/"
    with tarfile.open(sdist) as tf:
        members = [m for m in tf.getmembers() if m.isfile()]
        contents = {m.name: tf.extractfile(m).read() for m in members}
    assert all(name.startswith(prefix) for name in contents)
    tops = {name[len(prefix):].split("/")[0] for name in contents}
    assert tops == {"LICENSE", "MANIFEST.in", "PKG-INFO", "README.md", "pyproject.toml", "setup.cfg",
                    "gradedlib", "generative_mnist.egg-info"}
    for name in MNIST:
        assert f"{prefix}gradedlib/_data/mnist/{name}" in contents


def test_no_file_of_the_instructor_in_either_archive(dists):
    """Not by path, and not by content (a copy under another name)."""
    wheel, sdist = dists
    secret = instructor_files()
    assert len(secret) > 10
    with zipfile.ZipFile(wheel) as zf:
        archived = {n: zf.read(n) for n in zf.namelist()}
    with tarfile.open(sdist) as tf:
        archived.update({m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()})
    for name, data in archived.items():
        parts = name.split("/")
        assert not set(parts) & set(INSTRUCTOR_DIRS), name
        assert "nbgrader_config.py" not in parts, name
        assert hashlib.sha256(data).hexdigest() not in secret, f"{name} is a copy of {secret.get(hashlib.sha256(data).hexdigest())}"


def test_metadata(dists):
    wheel, _ = dists
    with zipfile.ZipFile(wheel) as zf:
        meta = Parser().parsestr(zf.read(f"generative_mnist-{VERSION}.dist-info/METADATA").decode())
        entry_points = zf.read(f"generative_mnist-{VERSION}.dist-info/entry_points.txt").decode()
    assert meta["Name"] == "generative-mnist" and meta["Version"] == VERSION
    assert meta["Requires-Python"] == ">=3.11"
    requires = [r for r in meta.get_all("Requires-Dist") if "extra ==" not in r]
    names = {re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0].lower() for r in requires}
    # what the released notebook and `gradedlib check` import, and nothing of the instructor's
    assert names == {"numpy", "scipy", "matplotlib", "scikit-learn", "nbformat", "nbclient", "ipykernel"}
    assert "gradedlib = gradedlib.cli:main" in entry_points


@pytest.mark.parametrize("where", ["README.md", "guides/students.md", "book/14_assignment.md", "the release's first cell"])
def test_install_command_names_this_wheel(where):
    """The one install command, wherever students read it, is the wheel this version builds."""
    if where.startswith("the release"):
        import nbformat

        nb = nbformat.read(ROOT / "exercises" / "gaussian_generative" / "gaussian_generative.ipynb", as_version=4)
        text = nb.cells[0].source
    else:
        text = (ROOT / where).read_text()
    urls = set(re.findall(r"https://\S+?\.whl", text))
    assert urls, f"{where} must give the wheel's URL"
    assert {url.rsplit("/", 1)[1] for url in urls} == {WHEEL}, urls


def _students_section(title: str) -> str:
    text = (ROOT / "guides" / "students.md").read_text()
    return re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, flags=re.M | re.S).group(1)


def test_the_students_build_command_makes_the_published_wheel(dists, tmp_path):
    """Before the site is deployed, guides/students.md builds the wheel with one pip command at the
    repository's root: it gives the files of the wheel that `python -m build` makes (the published one).
    Run with --no-build-isolation added, to stay offline; the build backend is the same setuptools."""
    import shlex

    commands = re.findall(r"```bash\n(.*?)\n```", _students_section("Install the student package"), flags=re.S)
    assert commands == ["python -m pip wheel --no-deps --wheel-dir dist ."]
    src = tmp_path / "project"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", "_build", "*.egg-info", "__pycache__", ".ci-venv", "venv", ".venv", "build", "dist",
        ".pytest_cache", ".jupyter_cache", "gradebook.db"))
    argv = shlex.split(commands[0])
    assert argv[:2] == ["python", "-m"]
    proc = subprocess.run([sys.executable, *argv[1:], "--no-build-isolation"], cwd=src, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    built = src / "dist" / WHEEL
    assert f"`dist/{WHEEL}`" in _students_section("Install the student package")
    published, _ = dists
    with zipfile.ZipFile(built) as ours, zipfile.ZipFile(published) as theirs:
        assert sorted(ours.namelist()) == sorted(theirs.namelist())
        for name in theirs.namelist():
            if name.startswith("gradedlib/"):
                assert ours.read(name) == theirs.read(name), name


def test_the_students_notebook_before_deployment_is_the_release():
    """The notebook students take from the repository is the file the assignment page links: no solutions."""
    section = _students_section("The notebook")
    path = "exercises/gaussian_generative/gaussian_generative.ipynb"
    assert f"`{path}`" in section
    assert f"</{path}>" in (ROOT / "book" / "14_assignment.md").read_text()
    text = (ROOT / path).read_text()
    solutions = (ROOT / "solutions" / "gaussian_generative" / "gaussian_generative.ipynb").read_text()
    for marker in ("### BEGIN SOLUTION", "### END SOLUTION"):
        assert marker in solutions and marker not in text, marker


def declared_minimums() -> list[str]:
    """``name==minimum`` for every dependency of the package, from pyproject.toml."""
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = []
    for dep in deps:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)", dep.strip())
        assert match, f"dependency {dep!r}: expected the form 'name>=minimum'"
        pins.append(f"{match.group(1)}=={match.group(2)}")
    return pins


def notebook_imports() -> str:
    """Every import statement of the released notebook's code cells."""
    import ast

    import nbformat

    nb = nbformat.read(ROOT / "exercises" / "gaussian_generative" / "gaussian_generative.ipynb", as_version=4)
    lines = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        lines += [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert any("gradedlib" in line for line in lines)
    return "\n".join(dict.fromkeys(lines))


@pytest.mark.skipif(sys.version_info[:2] != (3, 11),
                    reason="the declared minimum numpy (1.24) has wheels for Python 3.11 at the newest")
def test_fresh_environment_at_the_minimum_versions(dists, tmp_path):
    """One install command (the wheel, with every dependency pinned to its declared
    minimum) in a fresh virtual environment: the released notebook's imports, the
    self-checks on the reference solution and `gradedlib check` all work."""
    from test_check import FIT, released
    from test_selfcheck import REFERENCE

    import nbformat

    wheel, _ = dists
    env = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=300)
    python = env / "bin" / "python"
    pins = declared_minimums()
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel), *pins],
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True).stdout
    for pin in pins:
        assert pin.lower().replace("_", "-") in listed.lower().replace("_", "-"), (pin, listed)
    script = notebook_imports() + "\n" + textwrap.dedent('''
        import sys
        ns = {}
        exec(sys.stdin.read(), ns)
        from gradedlib.data import load_mnist
        from gradedlib.selfcheck import check_fit, check_predict, check_fit_per_class_c
        assert load_mnist("test")[0].shape == (10000, 784)
        check_fit(ns["fit_generative_model"], n_pixels=16)
        check_predict(ns["predict"], n_pixels=16)
        check_fit_per_class_c(ns["fit_generative_model_per_class_c"], n_pixels=16)
    ''')
    proc = subprocess.run([str(python), "-c", script], input=REFERENCE, capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    notebook = tmp_path / "assignment.ipynb"
    nbformat.write(released(fit=FIT, answer="answer = 42"), notebook)
    proc = subprocess.run([str(env / "bin" / "gradedlib"), "check", "--quiet", str(notebook)],
                          capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Everything visible passes." in proc.stdout
