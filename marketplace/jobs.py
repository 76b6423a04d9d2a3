"""Background jobs: side effects leave the request and run on a worker.

Engine: Huey (maintained, small, one dependency). It has an embedded storage that needs no
server — SQLite in ``instance/jobs.db``, the default, so ``make run`` works on a bare machine —
and a Redis storage for production, where any number of consumers on any hosts share one queue
(``JOBS_URL=redis://…``). Huey's own scheduler runs the periodic jobs (no cron needed).

Domains register plain functions with ``@jobs.task`` / ``@jobs.periodic(...)`` at import time;
``init_app`` (called by the factory after every domain is imported) binds them to the app's Huey
instance, each run inside an app context as one unit of work (commit on success, roll back on
error). Request code never enqueues directly: ``enqueue_after_commit`` queues the job only once
the action's transaction has committed, so a rolled-back action starts nothing.

Tests run with ``JOBS_IMMEDIATE`` (the job runs synchronously when enqueued); tests about the
queue itself use a real consumer.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, g
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper

from marketplace.database import after_commit, commit, rollback
from marketplace.extensions import db

log = logging.getLogger(__name__)

EXTENSION = "jobs"


@dataclass(frozen=True)
class _Registered:
    func: Callable[..., Any]
    retries: int
    retry_delay: int
    schedule: dict[str, str] | None  # crontab(**schedule) for periodic jobs


@dataclass
class JobQueue:
    """The registry of job functions; one Huey instance per app is built from it."""

    registered: dict[str, _Registered] = field(default_factory=dict)

    def task(self, func: Callable[..., Any] | None = None, *, retries: int = 0,
             retry_delay: int = 0) -> Any:
        """Register ``func`` as a job (enqueue with ``enqueue_after_commit(func, …)``)."""
        def register(f: Callable[..., Any]) -> Callable[..., Any]:
            self.registered[job_name(f)] = _Registered(f, retries, retry_delay, None)
            return f
        return register(func) if func is not None else register

    def periodic(self, **schedule: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register ``func`` to run on Huey's scheduler, e.g. ``@jobs.periodic(minute="*")``."""
        def register(f: Callable[..., Any]) -> Callable[..., Any]:
            self.registered[job_name(f)] = _Registered(f, 0, 0, schedule)
            return f
        return register

    def init_app(self, app: Flask) -> Huey:
        huey = create_huey(app)
        tasks: dict[str, TaskWrapper] = {}
        for name, entry in self.registered.items():
            runner = _in_app_context(app, entry.func)
            short = entry.func.__qualname__  # Huey prefixes the module itself
            if entry.schedule is not None:
                tasks[name] = huey.periodic_task(crontab(**entry.schedule), name=short)(runner)
            else:
                tasks[name] = huey.task(name=short, retries=entry.retries, retry_delay=entry.retry_delay)(runner)
        huey.on_startup("yield_cpu_to_requests")(_yield_cpu(int(app.config.get("JOBS_NICENESS", 0))))
        app.extensions[EXTENSION] = _AppJobs(huey, tasks)
        return huey


@dataclass
class _AppJobs:
    huey: Huey
    tasks: dict[str, TaskWrapper]


jobs = JobQueue()


def _yield_cpu(niceness: int) -> Callable[[], None]:
    """A consumer's startup hook: each worker (run in its own thread or process) lowers its own
    scheduling priority to ``niceness``, so on a host it shares with web processes the requests
    get the CPU first and the jobs take what is left: their work is not what anyone waits for.
    On Linux a thread's nice value is its own, so the consumer's scheduler thread, which only
    enqueues periodic jobs, keeps its priority. Never raises it (that would need privileges)."""
    def lower() -> None:
        if niceness <= 0 or not hasattr(os, "setpriority"):  # (Windows has none)
            return
        try:
            current = os.getpriority(os.PRIO_PROCESS, 0)
            if niceness > current:
                os.setpriority(os.PRIO_PROCESS, 0, niceness)
        except OSError as exc:  # a platform or sandbox without it: run at the priority we have
            log.warning("job worker keeps its CPU priority (%s)", exc)
    return lower


def job_name(func: Callable[..., Any]) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def create_huey(app: Flask) -> Huey:
    """Huey for this app: immediate (tests), Redis (``JOBS_URL=redis://…``) or SQLite (default)."""
    cfg = app.config
    name = cfg.get("JOBS_NAME", "balance")
    # results=False: nothing reads a job's return value; stored, it would pile up in Redis (or the
    # SQLite file) forever, one write per job.
    if cfg.get("JOBS_IMMEDIATE"):
        return MemoryHuey(name, immediate=True, results=False)
    url = cfg.get("JOBS_URL") or ""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False)
    filename = url.removeprefix("sqlite:///") if url else os.path.join(app.instance_path, "jobs.db")
    return SqliteHuey(name, filename=filename, results=False)


def huey_of(app: Flask) -> Huey:
    """The app's Huey instance (``huey_consumer wsgi.huey`` runs it)."""
    return app.extensions[EXTENSION].huey


def _in_app_context(app: Flask, func: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``func`` as one unit of work in its own app context (and so its own DB session)."""
    def run(*args: Any, **kwargs: Any) -> Any:
        with app.app_context():
            g.write_intent = True  # SQLite: take the write lock up front (see database.py)
            try:
                result = func(*args, **kwargs)
                commit()
                return result
            except Exception:
                rollback()
                log.exception("job %s failed", job_name(func))
                raise
            finally:
                db.session.remove()
    run.__name__ = func.__name__
    run.__qualname__ = func.__qualname__
    run.__module__ = func.__module__
    return run


def enqueue(func: Callable[..., Any], *args: Any) -> None:
    """Queue ``func(*args)`` now. Use only where nothing is left to commit (jobs, after commit).

    A queue that cannot be reached is logged, never raised: every job has a periodic sweep
    (outbox, availability, holds, counters) that picks up what a lost message would have done.
    """
    task = current_app.extensions[EXTENSION].tasks[job_name(func)]
    try:
        task(*args)
    except Exception:  # noqa: BLE001 - the action is committed; the sweep will catch up
        log.exception("could not enqueue job %s", job_name(func))


def enqueue_after_commit(func: Callable[..., Any], *args: Any) -> None:
    """Queue ``func(*args)`` once the current unit of work has committed (never if it rolls back)."""
    after_commit(lambda: enqueue(func, *args))


__all__ = ["JobQueue", "create_huey", "enqueue", "enqueue_after_commit", "huey_of", "job_name", "jobs"]
