"""A crawl shared by many worker processes on many machines through one Redis server.

One worker crawls a portal at a time: it holds the portal's lease (crawler/distributed/cluster.py)
and renews it while it crawls (``lease.py``), so robots.txt, Crawl-delay, per-host concurrency
and backoff are the single-machine crawl's own. The portal's frontier, its seen fingerprints
and the requests under way live in Redis (``scheduler.py``); a request leaves the in-flight set
only once its page is read, its links queued and its article stored (``handled.py``), so a
worker that dies loses nothing: when its lease runs out, another worker takes the portal and
puts those requests back in the queue. What the archive knows of a portal (stored articles,
their ETag/Last-Modified, the host template) is kept in Redis too (``session.py``), for
whichever worker takes it next. ``addon.py`` turns all of it on when ``REDIS_URL`` is set;
``worker.py`` is the process that takes portals from the queue.
"""
