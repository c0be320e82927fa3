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
