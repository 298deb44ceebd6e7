"""GOV.UK Notify's rate limit (3,000 requests a minute per API key) held across
every notify replica, through the service's own database.

Time is cut into buckets (a second each for a minute's limit); each bucket may
take `limit // (buckets + 1)` sends, so any window of `period` seconds, which
touches at most buckets + 1 of them, never holds more than `limit`. A send
takes a slot with one atomic statement (INSERT … ON CONFLICT DO UPDATE … WHERE
count < cap RETURNING), so replicas never over-count; when the bucket is full
it waits for the next one.
"""

import time

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from ..models import RateBucket


class SharedRateLimiter:
    def __init__(self, db, limit, period=60.0, buckets=60, clock=time.time, sleep=time.sleep):
        self.db, self.limit, self.period, self.buckets = db, limit, period, buckets
        self.width = period / buckets
        self.cap = max(limit // (buckets + 1), 1)
        self._clock, self._sleep = clock, sleep
        self._purged = None

    def _take(self, bucket):
        dialect = self.db.engine.dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(RateBucket)
        stmt = insert.values(bucket=bucket, count=1).on_conflict_do_update(
            index_elements=[RateBucket.bucket], set_={"count": RateBucket.count + 1},
            where=RateBucket.count < self.cap).returning(RateBucket.count)
        with self.db.session() as s:
            row = s.execute(stmt).first()
            if self._purged != bucket // self.buckets:  # now and then: drop old buckets
                s.execute(delete(RateBucket).where(RateBucket.bucket < bucket - 2 * self.buckets))
                self._purged = bucket // self.buckets
            s.commit()
        return row is not None

    def acquire(self):
        """Wait for a slot; return the seconds waited."""
        waited = 0.0
        while True:
            now = self._clock()
            bucket = int(now // self.width)
            if self._take(bucket):
                return waited
            pause = (bucket + 1) * self.width - now + 0.001
            self._sleep(pause)
            waited += pause
