"""Run the ```python code blocks of README.md and docs/**/*.md as tests, with Sybil.

Each Markdown file is collected as one test module and each of its code blocks as one test; the
blocks of a file run in order, in one namespace, in a fresh temporary working directory (a block
that writes ``study.db`` or ``trials.jsonl`` writes it there, never into the repository). A block
that starts with ``>>>`` is a doctest: its printed output is compared (``...`` matches anything,
line breaks count as spaces).

Context a reader already has from the prose around a block (their ``objective`` and ``space``)
goes in an invisible block, an HTML comment that Markdown does not render::

    <!-- invisible-code-block: python
    space = {"x": unitune.Float(0.0, 1.0)}
    -->

A block that cannot run here is skipped, with the reason in the comment::

    <!-- skip: next "needs a GPU" -->

A fence in another language (```text, ```console, ```toml) is not run.
"""

from __future__ import annotations

import contextlib
import doctest
import importlib
import itertools
import os
import shutil
import sys
import tempfile
import types
from pathlib import Path

import pytest
from sybil import Sybil
from sybil.integration.pytest import SybilItem
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

# One BLAS and OpenMP thread per process for the whole session, set before anything imports
# NumPy, SciPy, scikit-learn, LightGBM or torch (they size their pools when loaded), so that the
# subprocesses and workers that tests start inherit it too. On a 2-core machine a second thread
# only contends: with two, the GP conformance checks (skopt.gp, Optuna's torch GP) took 2.2x
# the CPU time, and test_skopt.py, tests/sklearn/ and test_optuna_fidelity.py 1.6x; on a
# loaded machine that is wall time. A value set in the environment is kept.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

ROOT = Path(__file__).resolve().parent
DOCS = ROOT / "docs"


def _module_of(namespace: dict) -> types.ModuleType:
    """A module whose attributes are the page's names: a function a page defines then pickles by
    reference, as a reader's module-level function does (``executor="processes"``, Dask)."""
    module = types.ModuleType(namespace["__name__"])

    def __getattr__(name: str):
        try:
            return namespace[name]
        except KeyError:
            raise AttributeError(name) from None

    module.__getattr__ = __getattr__
    return module


def _one_blas_thread():
    """One BLAS and OpenMP thread, as tests/examples sets: on a busy 2-core machine more only
    contend (a 50x50 Cholesky solve took 100x longer with 2 OpenBLAS threads). threadpoolctl
    limits the libraries loaded so far, so load SciPy's OpenBLAS and scikit-learn's OpenMP first."""
    from threadpoolctl import threadpool_limits

    for name in ("scipy.linalg", "sklearn"):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    return threadpool_limits(1)


def _setup(namespace: dict) -> None:
    namespace["__name__"] = f"unitune_docs_page{next(_numbers)}"
    sys.modules[namespace["__name__"]] = _module_of(namespace)
    limits = _one_blas_thread()
    cwd = os.getcwd()
    tmp = tempfile.mkdtemp(prefix="unitune-docs-")
    os.chdir(tmp)
    _pages[namespace["__name__"]] = (cwd, tmp, limits)


def _teardown(namespace: dict) -> None:
    for kind in ("Client", "LocalCluster"):  # what a page started on Dask, clients first
        for value in list(namespace.values()):
            if type(value).__name__ == kind and type(value).__module__.startswith("distributed"):
                value.close()
    cwd, tmp, limits = _pages.pop(namespace["__name__"])
    os.chdir(cwd)
    shutil.rmtree(tmp, ignore_errors=True)
    limits.restore_original_limits()
    sys.modules.pop(namespace["__name__"], None)


_pages: dict[str, tuple[str, str, object]] = {}  # module name -> (cwd, temporary directory, limits)
_numbers = itertools.count()

_collect_markdown = Sybil(
    parsers=[
        PythonCodeBlockParser(doctest_optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE),
        SkipParser(),
    ],
    patterns=["*.md"],
    setup=_setup,
    teardown=_teardown,
).pytest()


_sybil_traceback_filter = getattr(SybilItem, "_traceback_filter", None)  # private: patched only if there


def _traceback_filter(self, excinfo):
    """Sybil's filter, minus its crash on a traceback of one entry (Sybil issue #118, still in
    10.1): the cause of a chained error (``raise UnituneError(...) from exc``) often has just one,
    and the IndexError became a pytest INTERNALERROR that ended the whole session."""
    try:
        return _sybil_traceback_filter(self, excinfo)
    except IndexError:
        return excinfo.traceback


if _sybil_traceback_filter is not None:
    SybilItem._traceback_filter = _traceback_filter


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A skipped block is reported at its own line of its page, not inside pytest's unittest
    support (Sybil raises unittest.SkipTest)."""
    report = yield
    if report.skipped and isinstance(report.longrepr, tuple) and isinstance(item, SybilItem):
        report.longrepr = (os.fspath(item.path), item.example.line, report.longrepr[2])
    return report


def pytest_collect_file(file_path: Path, parent):
    # README.md and docs/ only: not the adapters' READMEs, bench-results/ or .pytest_cache/.
    if file_path == ROOT / "README.md" or DOCS in file_path.parents:
        return _collect_markdown(file_path, parent)
    return None
