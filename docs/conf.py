"""Sphinx configuration: the fastbp documentation (docs/, built in CI with warnings as errors:
``sphinx-build -W --keep-going -b html docs build/docs``)."""

import json
import re
import sys
from pathlib import Path

import fastbp

ROOT = Path(__file__).resolve().parent.parent
GENERATED = Path(__file__).resolve().parent / "_generated"

project = "fastbp"
author = "the fastbp developers"
copyright = "2026, the fastbp developers"
release = fastbp.__version__
version = ".".join(release.split(".")[:2])

extensions = ["myst_parser", "sphinx.ext.autodoc", "numpydoc", "sphinx.ext.viewcode"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_generated"]
myst_heading_anchors = 3
html_theme = "furo"
html_title = f"fastbp {release}"

autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc sections say the types, in words
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
nitpicky = False


def benchmark_tables_and_charts():
    """The benchmark page shows the tables and charts of the very results files the README's
    tables name: each drawn again here from its file by bench/tables.py and bench/charts.py."""
    sys.path.insert(0, str(ROOT / "bench"))
    from charts import CHARTS
    from tables import table_of

    GENERATED.mkdir(exist_ok=True)
    readme = (ROOT / "README.md").read_text()
    found = re.findall(r"<!-- table: (\w+) -->\nFrom `(bench/results/[^`]+)`", readme)
    if not found:
        raise RuntimeError("README.md names no results files in its table blocks")
    for kind, name in found:
        path = ROOT / name
        table_kind, table = table_of(path)
        if table_kind != kind:
            raise RuntimeError(f"README's {kind} table names {name}, a {table_kind} file")
        (GENERATED / f"{kind}.md").write_text(table + "\n")
        if kind in CHARTS:
            CHARTS[kind](json.loads(path.read_text()), GENERATED / f"{kind}.png")


benchmark_tables_and_charts()
