"""The Ray adapter: each run's engine lives in a Ray actor, its tools and its deadline stay here.

A Ray actor is a pool worker whose pipe is Ray: it speaks the same run messages (`bridge/wire.py`) with
the same engine side (`WireSessions`), and its answers get the same checks (`HonestAnswers`). Each run's
state machine (`drive`) and its tools run in this process, on a driver thread; every tool call travels
back over Ray as the actor's answer, and its result goes out as the next message. An actor serves one run
at a time; runs beyond `num_actors` wait in the adapter's queue.

One file per concern:
- `adapter`: scheduling runs on actors, the queue, giving up on runs, replacing actors, stats;
- `actor`: the Ray actor and its engine thread;
- `slot`: the caller's handle on one actor (start-up, requests, death);
- `channel`: the engine side of one run over Ray (`EngineChannel`);
- `run`: a run's record; `drivers`: the driver threads;
- `local`: connecting to Ray, and a local Ray confined to loopback.

Hard limits: a request still unanswered `DEADLINE_GRACE_S` past the run's deadline gets its actor killed
(`ray.kill`) and the run ends TIMEOUT; an actor that dies (from outside, on its own, or for sending what
no honest engine sends) ends its run with RUNTIME_ERROR (WorkerCrashedError) at once, even while the run
waits for its tools. Every actor that dies, or is retired after `max_executions_per_actor` runs, is
replaced at once. Actors are not detached: they die with the process that created them.

What isolates what:
- The engine's limits (memory, stack, deadline, tool calls, console) are the engine's own, as in every
  adapter. The actor is a separate OS process, possibly on another machine: a script that crashes or
  exhausts its engine takes down only that actor, never the caller; the caller kills an actor that
  overruns its deadline. The actor holds no tools, no context and no secrets: only the engine.
- The actor's process is not hardened further (no address-space cap: Ray maps shared memory into every
  worker; no environment scrub: Ray's workers need theirs). Core dumps are off.
- Ray is not a security boundary. An actor is a Ray worker: code that escaped the engine inside it could
  use Ray as any worker can (call other actors, submit tasks, read objects) and hand the caller pickled
  data that Ray unpickles. Run the actors on a cluster that holds nothing more trusted than the scripts,
  or use the worker pool or the double-VM adapter where that matters.
"""

from .adapter import RESERVED_ACTOR_OPTIONS, RayAdapter, RayAdapterStats
from .local import start_local_ray

__all__ = ["RESERVED_ACTOR_OPTIONS", "RayAdapter", "RayAdapterStats", "start_local_ray"]
