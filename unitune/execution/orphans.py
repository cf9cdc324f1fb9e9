"""Helper processes that end with the driver that started them, however it ends.

A driver killed outright (SIGKILL, the out-of-memory killer) runs no cleanup: the workers of its
process pool would go on running objectives nobody will record, and the pruning channel's
manager server would stay behind. :func:`die_with_driver` is the initializer those processes run.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
from typing import Any

__all__ = ["die_with_driver"]

logger = logging.getLogger("unitune")

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_driver() -> None:
    """End this process when the process that started it ends (a multiprocessing child's
    initializer; nothing in any other process). On Linux, when the driver is the OS parent (the
    fork and spawn start methods), the kernel's parent-death signal does it, even while the
    objective holds the GIL; otherwise a daemon thread waits on the driver's sentinel."""
    driver = multiprocessing.parent_process()
    if driver is None:
        return
    if not (os.getppid() == driver.pid and _parent_death_signal()):
        threading.Thread(target=_exit_after, args=(driver,), daemon=True,
                         name="unitune-driver-watch").start()
    if not driver.is_alive():  # the driver ended before the watch began
        os._exit(1)


def _parent_death_signal() -> bool:
    """Linux: have the kernel SIGKILL this process when its parent ends; False where that is
    not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) == 0
    except (ImportError, OSError, AttributeError) as exc:  # a Python built without ctypes, say
        logger.debug("no parent-death signal here (%s); watching the driver instead", exc)
        return False


def _exit_after(driver: Any) -> None:
    driver.join()
    os._exit(1)
