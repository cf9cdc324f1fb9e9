"""Guards around two quirks of Nevergrad 1.0 that an adapter must not pass on to its users.

**Shared CMA configuration.** Nevergrad's CMA switches its configuration object to the ``fcmaes``
library when the space has one dimension (the ``cma`` package refuses one). That object is the
module-level one shared by every optimizer of the kind, so every later CMA of the process would
use fcmaes too. :func:`isolate_configs` gives each CMA inside a new optimizer its own copy.
fcmaes also calls ``np.set_printoptions(legacy='1.25')`` when imported, which would change how
numpy prints in the user's whole process (``0.5`` for ``np.float64(0.5)``): for a one-dimensional
CMA, :func:`isolate_configs` imports it first with numpy's print options kept.

**Metamodels on numpy >= 2.4.** Nevergrad's ``MetaModel`` (NGOpt's choice for small continuous
spaces, e.g. one parameter, or up to four with a budget in the hundreds) fits a quadratic model
and minimizes it with ``float(model.predict(row))``, a one-element array: numpy 2.4 made that
conversion an error (it was deprecated), so its ask raises ``TypeError`` once enough trials are
in. :func:`keep_metamodels_running` makes each metamodel inside a new optimizer take the path
Nevergrad takes when its model fails (``MetaModelFailure``): its base optimizer's next point;
with an older numpy nothing changes.

**Recast optimizers** (Cobyla, Powell, SQP, BFGS, ... wrapped from scipy). A recast optimizer
runs the wrapped library in a background thread that hands points over through queues. Two
consequences, both known upstream (facebookresearch/nevergrad#180, #325, #1629):

- It proposes one point at a time: a second ``ask()`` before the first point is told blocks
  forever. NGOpt picks such optimizers by itself (e.g. Cobyla for a small continuous space with
  ``num_workers=1``). :func:`is_sequential` tells the backend, which then serves the extra trials of
  a batch with random points instead of deadlocking.
- The thread is not a daemon and stops only when its optimizer is garbage-collected, so a study
  still referenced at exit (a script's global) keeps the interpreter from exiting. :func:`track`
  registers an optimizer; at interpreter shutdown, before non-daemon threads are joined, the
  threads of every tracked optimizer still alive are told to stop (:func:`stop_threads`).
"""

from __future__ import annotations

import copy
import importlib.util
import logging
import sys
import threading
import weakref
from collections.abc import Iterator
from typing import Any

__all__ = ["is_sequential", "isolate_configs", "keep_metamodels_running", "optimizer_tree", "stop_threads",
           "track"]

logger = logging.getLogger("unitune")
_TRACKED: weakref.WeakSet = weakref.WeakSet()
_HOOKED = False


def optimizer_tree(optimizer: Any, *, build: bool = False) -> Iterator[Any]:
    """``optimizer`` and every Nevergrad optimizer built inside it (NGOpt's choice, a chain's or a
    portfolio's members), each once. With ``build``, a choosing optimizer (NGOpt, CMA's competence
    map) that has not chosen yet chooses now (as it would at its first ask)."""
    from nevergrad.optimization.base import Optimizer

    stack, seen = [optimizer], set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if build and getattr(current, "_optim", False) is None:
            current.optim  # noqa: B018 - the property builds the chosen optimizer
        yield current
        for value in vars(current).values():
            if isinstance(value, Optimizer):
                stack.append(value)
            elif isinstance(value, (list, tuple)):
                stack.extend(v for v in value if isinstance(v, Optimizer))


def isolate_configs(optimizer: Any) -> None:
    """Give every CMA inside ``optimizer`` (built now if need be) its own configuration object
    (and load fcmaes for a one-dimensional one, print options kept)."""
    from nevergrad.optimization.optimizerlib import ParametrizedCMA

    for o in optimizer_tree(optimizer, build=True):
        config = getattr(o, "_config", None)
        if isinstance(config, ParametrizedCMA):
            o._config = copy.copy(config)
            if o.dimension == 1:  # Nevergrad will use fcmaes
                _import_fcmaes()


def _import_fcmaes() -> None:
    """Import the fcmaes module Nevergrad uses, undoing the numpy print options it sets."""
    if "fcmaes.cmaes" in sys.modules or importlib.util.find_spec("fcmaes") is None:
        return  # loaded already, or not installed (Nevergrad then says to install it)
    import numpy as np

    with np.printoptions():  # restores the options on exit
        import fcmaes.cmaes  # noqa: F401


def keep_metamodels_running(optimizer: Any) -> None:
    """Have every metamodel inside ``optimizer`` (built already, see :func:`isolate_configs`)
    fall back to its base optimizer where numpy refuses the scalar its model's prediction is
    read as, as Nevergrad does when the model fails."""
    from nevergrad.optimization.optimizerlib import _MetaModel

    for o in optimizer_tree(optimizer):
        if isinstance(o, _MetaModel):
            o._internal_ask_candidate = _falling_back(o, o._internal_ask_candidate)


def _falling_back(meta: Any, ask: Any) -> Any:
    said = False

    def ask_or_fall_back() -> Any:
        nonlocal said
        try:
            return ask()
        except TypeError as exc:
            if "only 0-dimensional arrays can be converted" not in str(exc):
                raise
            if not said:
                said = True
                logger.info("Nevergrad's %s: its quadratic model cannot be minimized with this numpy "
                            "(%s); its points come from its base optimizer, as when the model fails",
                            meta.name, str(exc))
            return meta._optim.ask()

    return ask_or_fall_back


def is_sequential(optimizer: Any) -> bool:
    """True when the optimizer (or one it delegates to) cannot have two points asked at once."""
    return any(getattr(o, "no_parallelization", False) for o in optimizer_tree(optimizer))


def stop_threads(optimizer: Any) -> None:
    """Tell every recast thread inside ``optimizer`` to stop (the optimizer cannot ask after)."""
    for o in optimizer_tree(optimizer):
        thread = getattr(o, "_messaging_thread", None)
        if thread is not None and thread.is_alive():
            thread.stop()


def _stop_all() -> None:
    for optimizer in list(_TRACKED):
        stop_threads(optimizer)


def track(optimizer: Any) -> None:
    """Stop ``optimizer``'s recast threads at interpreter shutdown if it is still alive then."""
    global _HOOKED
    _TRACKED.add(optimizer)
    if not _HOOKED:
        # threading's own shutdown hooks run before non-daemon threads are joined (atexit runs
        # after, too late); concurrent.futures uses the same hook.
        register = getattr(threading, "_register_atexit", None)
        if register is not None:
            register(_stop_all)
        _HOOKED = True
