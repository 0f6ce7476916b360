"""A worker of ``tsunagari-geo serve --workers N`` lives only as long as its supervisor.

uvicorn's supervisor binds the socket and starts the workers; if it is killed with SIGKILL it
cannot stop them, and orphaned workers would keep the port (a restart then fails with
"Address already in use") and keep serving data nobody reloads. So the supervisor puts its
process id in :data:`SUPERVISOR_ENV` before it starts the workers, and each worker, when the
app is created, (1) asks Linux to send it SIGTERM when its parent dies (``PR_SET_PDEATHSIG``)
and (2) watches its parent process id in a thread, for other systems and for the moment
before the request was made. A worker whose supervisor is gone stops as on SIGTERM and, if
that takes longer than :data:`GRACE_SECONDS`, exits at once.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time

logger = logging.getLogger("tsunagari_api")

#: The supervisor's process id, set by ``tsunagari-geo serve`` for its workers.
SUPERVISOR_ENV = "TSUNAGARI_SUPERVISOR_PID"
#: Seconds between two looks at the parent process id.
POLL_SECONDS = 0.5
#: Seconds a worker whose supervisor is gone may take to finish its requests.
GRACE_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1
_started = False


def follow_supervisor() -> bool:
    """In a worker of a supervisor, arrange to stop when it dies; returns whether it did.

    Does nothing in a process that is not a supervised worker (no :data:`SUPERVISOR_ENV`, or
    the supervisor itself), so tests and single-process servers are untouched.
    """
    global _started
    raw = os.environ.get(SUPERVISOR_ENV, "")
    if not raw.isdigit() or int(raw) == os.getpid() or _started:
        return False
    supervisor = int(raw)
    if os.getppid() != supervisor:
        # Started by a supervisor that is already gone (or not by it at all): do not serve.
        logger.warning("supervisor %s is gone; worker %s stops", supervisor, os.getpid())
        os._exit(1)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
            pass
    # The parent may have died between the check above and prctl: look once more.
    if os.getppid() != supervisor:
        os._exit(1)
    _started = True
    threading.Thread(
        target=_watch, args=(supervisor,), name="supervisor-watch", daemon=True
    ).start()
    return True


def _watch(supervisor: int) -> None:
    while os.getppid() == supervisor:
        time.sleep(POLL_SECONDS)
    logger.warning("supervisor %s is gone; worker %s stops", supervisor, os.getpid())
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE_SECONDS)
    os._exit(1)
