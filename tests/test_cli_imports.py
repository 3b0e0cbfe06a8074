"""One-shot CLI verbs import only what they need: `--help` and the parser load no data libraries, and the
modules of `insights`, `report` and `link-code` load neither scikit-learn, SciPy nor matplotlib (seconds of
imports before any work). Checked in a fresh interpreter, from its `sys.modules`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("sklearn", "scipy", "matplotlib")
DATA = ("pandas", "numpy", "pyarrow", *MODELS)


def _loaded_after(code: str) -> set[str]:
    """Top-level packages in sys.modules after running `code` in a new interpreter."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_help_and_parser_load_no_data_library() -> None:
    loaded = _loaded_after(
        "import contextlib, io\n"
        "from bot.cli import build_parser, main\n"
        "parser = build_parser()\n"
        "parser.parse_args(['insights', 'C1'])\n"
        "parser.parse_args(['report', 'C1', '--month', '2016-09'])\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['--help']) == 0\n"
        "    assert main(['insights', '--help']) == 0\n"
    )
    assert not loaded & set(DATA), sorted(loaded & set(DATA))


@pytest.mark.parametrize("verb", ["insights", "report", "link_code"])
def test_one_shot_verb_loads_no_model_library(verb: str) -> None:
    loaded = _loaded_after(f"import bot.commands.{verb}")
    assert "bot" in loaded  # the probe ran the import
    assert not loaded & set(MODELS), sorted(loaded & set(MODELS))


def test_merchant_model_is_still_found_where_it_was() -> None:
    loaded = _loaded_after(
        "from analytics.categorize import MerchantCategorizer\n"
        "from analytics.merchant_model import MerchantCategorizer as Moved\n"
        "assert MerchantCategorizer is Moved\n"
    )
    assert "sklearn" in loaded
