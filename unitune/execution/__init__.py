"""Running trials: executors, per-trial time limits, lost workers, driver signals.

See docs/execution.md. ``Study.optimize(executor=...)`` takes None (inline), ``"processes"``
(a process pool unitune owns, one worker per trial in flight) or any
``concurrent.futures.Executor``, Dask's ``client.get_executor(pure=False)`` included.
"""

from unitune.execution.runners import (
    DaskRunner,
    Lost,
    OwnedProcessRunner,
    PlainRunner,
    Runner,
    make_runner,
)
from unitune.execution.signals import (
    Terminated,
    interrupts_deferred,
    pass_on_termination,
    termination_handled,
)

__all__ = [
    "DaskRunner",
    "Lost",
    "OwnedProcessRunner",
    "PlainRunner",
    "Runner",
    "Terminated",
    "interrupts_deferred",
    "make_runner",
    "pass_on_termination",
    "termination_handled",
]
