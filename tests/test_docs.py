"""The examples in the docstrings run and print what they say."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["fastbp", "fastbp._core", "fastbp.mlp", "fastbp.gradcheck",
                                    "fastbp.functional", "fastbp.history", "fastbp.optimizers",
                                    "fastbp.schedules", "fastbp.sklearn", "fastbp.parallel"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0, f"{module} has no examples"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {module}"


def public_api():
    import inspect

    import fastbp
    import fastbp.sklearn

    for name in fastbp.__all__:
        obj = getattr(fastbp, name)
        if name == "__version__":
            continue
        yield f"fastbp.{name}", obj
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and (inspect.isfunction(member) or
                                                 isinstance(member, classmethod)):
                    yield f"fastbp.{name}.{attr}", getattr(obj, attr)
    for cls in (fastbp.sklearn.MLPClassifier, fastbp.sklearn.MLPRegressor):
        yield f"fastbp.sklearn.{cls.__name__}", cls


def test_every_public_function_and_class_has_an_example():
    missing = [name for name, obj in public_api() if ">>>" not in (obj.__doc__ or "")]
    assert not missing, f"no example in the docstring of: {', '.join(missing)}"


def test_help_on_mlp_tells_a_newcomer_what_to_do():
    import pydoc

    import fastbp
    text = pydoc.render_doc(fastbp.MLP, renderer=pydoc.plaintext)
    for words in ("How to use it", "fit", "predict", "Parameters", "Examples", "optimizer"):
        assert words in text


ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent
DOC_PAGES = sorted(p.name for p in (ROOT / "docs").glob("*.md"))


def python_blocks(path):
    """The ```python blocks of a Markdown file, in order; those training over MPI excepted (they
    need mpiexec: tests/distributed makes the same calls there, and MPI initialised in this
    process would change what the fork tests fork from)."""
    blocks, inside = [], None
    for line in path.read_text().splitlines():
        if inside is None and line.strip() == "```python":
            inside = []
        elif inside is not None and line.strip() == "```":
            if "from mpi4py import" not in "\n".join(inside):
                blocks.append("\n".join(inside))
            inside = None
        elif inside is not None:
            inside.append(line)
    return blocks


def run_blocks(blocks, where):
    """Executes the blocks in order in one namespace, as a reader pastes them into one session
    (later blocks use the names the earlier ones made)."""
    namespace: dict = {"__name__": "__docs__"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"{where} python block {i + 1}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"{where} python block {i + 1} failed: {exc!r}\n{block}") from exc


def test_readme_python_snippets_run_as_written(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    blocks = python_blocks(ROOT / "README.md")
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)  # the quick start writes model files
    run_blocks(blocks, "README.md")


@pytest.mark.parametrize("page", DOC_PAGES)
def test_documentation_python_snippets_run_as_written(page, tmp_path, monkeypatch):
    import fastbp

    pytest.importorskip("sklearn")
    if page == "deployment.md":
        pytest.importorskip("onnxruntime")
    monkeypatch.chdir(tmp_path)
    threads = fastbp.get_num_threads()
    try:
        run_blocks(python_blocks(ROOT / "docs" / page), f"docs/{page}")
    finally:
        fastbp.set_num_threads(threads)  # getting-started sets one thread


def test_the_documentation_pages_with_code_are_tested():
    with_code = [p for p in DOC_PAGES if python_blocks(ROOT / "docs" / p)]
    assert {"getting-started.md", "training.md", "sklearn.md", "deployment.md"} <= set(with_code)
