"""GOV.UK Notify's rate limit held across replicas through the database (issue
17): two limiters on one database (two replicas) together never exceed the
limit in any window, on SQLite and PostgreSQL."""

import threading
import time

from services.common.db import open_database
from services.notify.adapters.ratelimit import SharedRateLimiter
from services.notify.models import Base


def test_two_replicas_share_one_limit(database_urls, engine_name):
    url = database_urls("notify", engine_name)
    stamps, lock, seen = [], threading.Lock(), threading.local()

    def clock():  # the time each slot was taken at
        seen.now = time.time()
        return seen.now

    replicas = [SharedRateLimiter(open_database("notify", Base.metadata, url), limit=22,
                                  period=2.0, buckets=10, clock=clock) for _ in range(2)]
    assert replicas[0].cap == 2  # 22 // 11: any 2 s window touches at most 11 buckets

    def send(limiter, n):
        for _ in range(n):
            limiter.acquire()
            with lock:
                stamps.append(seen.now)

    threads = [threading.Thread(target=send, args=(r, 15)) for r in replicas]
    started = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(stamps) == 30
    stamps.sort()
    worst = max(sum(1 for s in stamps if a <= s < a + 2.0) for a in stamps)
    assert worst <= 22, worst
    assert time.time() - started >= 2.0  # 30 sends at 2 per 0.2 s bucket took time
