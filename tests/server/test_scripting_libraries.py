"""Libraries that need scripting, used against our server the way their users use them.

redis-py's ``Lock`` (acquire, extend, reacquire and release are Lua scripts run with EVALSHA after
SCRIPT LOAD, reloaded on NOSCRIPT), python-redis-lock (its unlock/extend scripts), the ``limits``
rate limiter (moving window and fixed window on its Redis storage), and rq (enqueue, a worker in
burst mode, the job's result). Each test asserts what the library reports.
"""

from __future__ import annotations

import threading
import time

import pytest
import redis
from redis.exceptions import LockError, LockNotOwnedError


def test_redis_py_lock(r):
    r.script_flush()  # the Lock's scripts are loaded on first use (NOSCRIPT, then SCRIPT LOAD)
    lock = r.lock("resource", timeout=5)
    assert lock.acquire(blocking=False)
    assert r.pttl("resource") > 4000
    other = r.lock("resource", timeout=5)
    assert not other.acquire(blocking=False)  # held by another client
    assert lock.extend(10)
    assert r.pttl("resource") > 10000
    assert lock.reacquire()
    assert 4000 < r.pttl("resource") <= 5000
    assert lock.owned()
    assert not other.owned()
    with pytest.raises(LockNotOwnedError):
        other.do_release(b"a token that does not hold it")  # the release script refuses
    lock.release()
    assert r.exists("resource") == 0
    with pytest.raises(LockError):
        lock.release()
    # Blocking acquisition hands the lock over once the holder releases it.
    holder = r.lock("resource", timeout=5, thread_local=False)
    assert holder.acquire()
    threading.Timer(0.2, holder.release).start()
    waiter = r.lock("resource", timeout=5, blocking_timeout=5, sleep=0.05)
    start = time.monotonic()
    assert waiter.acquire()
    assert time.monotonic() - start < 3
    waiter.release()


def test_python_redis_lock(r):
    import redis_lock

    lock = redis_lock.Lock(r, "job", expire=10, id=b"first")
    assert lock.acquire(blocking=False)
    assert lock.locked()
    assert not redis_lock.Lock(r, "job", expire=10, id=b"second").acquire(blocking=False)
    lock.extend(expire=30)
    assert r.ttl("lock:job") > 20
    with pytest.raises(redis_lock.NotAcquired):
        redis_lock.Lock(r, "job", id=b"second").release()
    lock.release()
    assert not lock.locked()
    redis_lock.reset_all(r)


def test_limits_moving_and_fixed_window(ours, r):
    from limits import RateLimitItemPerMinute, storage, strategies

    store = storage.RedisStorage(f"redis://127.0.0.1:{ours.port}")
    item = RateLimitItemPerMinute(3)
    moving = strategies.MovingWindowRateLimiter(store)
    assert [moving.hit(item, "user") for _ in range(4)] == [True, True, True, False]
    assert not moving.test(item, "user")
    window = moving.get_window_stats(item, "user")
    assert window.remaining == 0
    fixed = strategies.FixedWindowRateLimiter(store)
    assert [fixed.hit(item, "other") for _ in range(4)] == [True, True, True, False]
    assert fixed.get_window_stats(item, "other").remaining == 0
    store.clear(item.key_for("user"))
    assert moving.hit(item, "user")


def test_rq_job_through_a_burst_worker(ours, r):
    from rq import Queue, SimpleWorker

    conn = redis.Redis(port=ours.port)
    queue = Queue("scripting-test", connection=conn)
    job = queue.enqueue("operator.add", 2, 3)
    assert queue.count == 1
    worker = SimpleWorker([queue], connection=conn)
    assert worker.work(burst=True)
    job.refresh()
    assert job.get_status() == "finished"
    assert job.return_value() == 5
    assert queue.count == 0
    conn.close()
