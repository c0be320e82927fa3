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


def readme_python_blocks():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    blocks, inside = [], None
    for line in text.splitlines():
        if inside is None and line.strip() == "```python":
            inside = []
        elif inside is not None and line.strip() == "```":
            blocks.append("\n".join(inside))
            inside = None
        elif inside is not None:
            inside.append(line)
    return blocks


def test_readme_python_snippets_run_as_written(tmp_path, monkeypatch):
    """Every ```python block of the README, in order and in one namespace, as a reader pastes
    them into one session (the later ones use the quick start's X, y and net)."""
    pytest.importorskip("sklearn")
    blocks = readme_python_blocks()
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)  # the quick start writes model files
    namespace: dict = {"__name__": "__readme__"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"README.md python block {i + 1}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"README python block {i + 1} failed: {exc!r}\n{block}") from exc


def test_readme_cpp_snippet_is_the_example_ci_compiles():
    """The README's C++ lines are lines of examples/cpp_consumer/train_xor.cpp, which CI builds
    against the installed package and runs: the snippet cannot drift into code that does not
    compile."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    (snippet,) = re.findall(r"```cpp\n(.*?)```", readme, re.S)
    example = [line.strip() for line in (root / "examples/cpp_consumer/train_xor.cpp")
               .read_text().splitlines()]
    missing = [line for line in snippet.splitlines() if line.strip() and
               line.strip() not in example]
    assert not missing, f"README C++ lines not in the compiled example: {missing}"
