"""The first step of every process the launcher starts: tie its life to the launcher's, then run the service.

`python -m utils.fleet.child MODULE [ARGS]` runs MODULE as `python -m MODULE` would, once the process is sure to
die with the launcher — even when the launcher is SIGKILLed and cannot stop anything itself.
"""

from __future__ import annotations

import ctypes
import os
import runpy
import signal
import sys
import threading

from utils.datafiles import PROCESS_UMASK

LIFELINE_FD_ENV = "FLEET_LIFELINE_FD"  # the read end of a pipe whose write end only the launcher holds
LAUNCHER_PID_ENV = "FLEET_LAUNCHER_PID"
PDEATHSIG_ENV = "FLEET_PDEATHSIG"  # "1": the launcher's spawning thread lives as long as the launcher does
PR_SET_PDEATHSIG = 1


def _kill_self_at_eof(fd: int) -> None:
    """Blocks until the launcher is gone (every write end closed: EOF), then ends this process at once."""
    while os.read(fd, 64):
        pass
    os.kill(os.getpid(), signal.SIGKILL)


def _die_with_spawning_thread() -> None:
    # The kernel signals a child when the *thread* that forked it exits, so this is asked for only when the
    # launcher started us from its main thread; the lifeline covers every other case (but not a paused child).
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def tie_to_launcher(environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """Arranges to die with the launcher; exits now if the launcher is already gone."""
    if environ.get(PDEATHSIG_ENV) == "1":
        _die_with_spawning_thread()
    expected = environ.get(LAUNCHER_PID_ENV)
    if expected is not None and os.getppid() != int(expected):
        sys.exit("the launcher exited before this service started: not starting")
    lifeline = environ.get(LIFELINE_FD_ENV)
    if lifeline is not None:
        threading.Thread(target=_kill_self_at_eof, args=(int(lifeline),), name="fleet-lifeline", daemon=True).start()


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        sys.exit("usage: python -m utils.fleet.child MODULE [ARGS...]")
    module = argv[1]
    tie_to_launcher()
    os.umask(PROCESS_UMASK)  # its log files too, which a service opens before it secures its data folder
    for key in (LIFELINE_FD_ENV, LAUNCHER_PID_ENV, PDEATHSIG_ENV):
        os.environ.pop(key, None)  # not handed on to anything the service itself starts
    sys.argv = [module, *argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv)
