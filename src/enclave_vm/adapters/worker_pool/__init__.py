"""The worker-pool adapter: scripts run in a pool of OS worker processes.

The run protocol is the in-process one: each run's state machine (`drive`) and its tools run in the host,
on a driver thread of this process; only the engine lives in a worker, behind a `WorkerChannel` that sends
each step to the worker as a frame and waits for the answering step. A worker serves one run at a time;
runs beyond the pool's size wait in its queue.

One file per concern:
- `adapter`: scheduling runs on workers, the queue, giving up on runs, stats;
- `drivers`: the driver threads;
- `supervisor`: the thread that spawns, watches, kills, retires and reaps workers;
- `process`: the host's handle on one worker process;
- `channel`: the engine side of one run over a worker's pipes;
- `honest`: what an honest engine can send (anything else is a protocol violation);
- `run`: a run's record.

Hard limits: a worker still computing a run's step `DEADLINE_GRACE_S` past the run's deadline is SIGKILLed
and the run ends TIMEOUT; a run blocked in a sync tool is given up on `SYNC_TOOL_GRACE_S` past its deadline
(the worker, idle meanwhile, serves the next run); a worker whose resident memory passes
`max_worker_memory` is SIGKILLed and its run ends MEMORY_LIMIT_EXCEEDED; any other death ends its run with
RUNTIME_ERROR (WorkerCrashedError) at once, even while the run waits for its tools, whose async calls are
then cancelled. A worker is retired after `max_executions_per_worker` runs and stops after `idle_timeout`
ms without runs. Workers die with the host (parent-death signal, end-of-file on their stdin, and an exit
hook).
"""

from .adapter import (
    BACKSTOP_S,
    DEADLINE_GRACE_S,
    SYNC_TOOL_GRACE_S,
    TICK_S,
    WorkerPoolAdapter,
    WorkerPoolStats,
)
from .channel import WorkerChannel
from .process import WorkerProcess, WorkerUnavailable

__all__ = [
    "BACKSTOP_S",
    "DEADLINE_GRACE_S",
    "SYNC_TOOL_GRACE_S",
    "TICK_S",
    "WorkerChannel",
    "WorkerPoolAdapter",
    "WorkerPoolStats",
    "WorkerProcess",
    "WorkerUnavailable",
]
