"""Every default of the crawl, in one place (Scrapy's project settings module).

Override one for a run with ``portal-archive crawl -s NAME=VALUE`` or
``scrapy crawl portal -s NAME=VALUE``; per-portal overrides live in the registry
(``crawler/portals.toml``, key ``settings``).
"""

BOT_NAME = "portal-archive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
# `scrapy crawl` says why a portal crawl cannot start in one line (crawler/commands/crawl.py).
COMMANDS_MODULE = "crawler.commands"

# -- Archive --------------------------------------------------------------------------------
ARCHIVE_DATA_DIR = "data"  # holds warc/ and index.db; the CLI sets it from --data
ARCHIVE_OPERATOR = "portal-archive operator (https://github.com/portal-archive/portal-archive)"
ARCHIVE_WARC_MAX_SIZE = 1024**3  # bytes: a WARC file is closed and a new one begun past this
ARCHIVE_WARC_GZIP_LEVEL = 6  # 1-9: zlib level of each record (bench/warc_bench.py)
ARCHIVE_REVISITS = True  # a payload archived before for the URL is written as a revisit
# Capture rows reach the index every N rows or S seconds, whichever comes first: what a crawl
# killed leaves out, `verify --repair` takes back from the WARC files.
ARCHIVE_INDEX_FLUSH_ROWS = 200
ARCHIVE_INDEX_FLUSH_SECONDS = 2.0

# -- Identity and politeness ----------------------------------------------------------------
USER_AGENT = "portal-archive/0.1 (+https://github.com/portal-archive/portal-archive)"
ROBOTSTXT_OBEY = True
ROBOTSTXT_CRAWL_DELAY_MAX = None  # seconds: cap on robots.txt Crawl-delay; None obeys it as written
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2  # government servers are small: keep per-host load low
DOWNLOAD_DELAY = 1.0  # seconds between requests to one host (randomised 0.5x-1.5x)
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30  # seconds
RETRY_TIMES = 3  # a 500 that heals on the next try is common on these portals
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# A URL given up is the portal's trouble, counted in the run's errors (`status`), not a line
# for cron to mail.
RETRY_GIVE_UP_LOG_LEVEL = "WARNING"
BACKOFF_FIRST_DELAY = 2.0  # seconds: a host's delay after its first failure, doubled after each
BACKOFF_MAX_DELAY = 600.0  # seconds: the longest wait, Retry-After included
DOWNLOAD_MAXSIZE = 50 * 1024**2  # bytes: larger responses are dropped and counted
DOWNLOAD_WARNSIZE = 10 * 1024**2  # bytes

# -- Discovery ------------------------------------------------------------------------------
DEPTH_LIMIT = 30  # link hops from a start URL
PORTAL_MAX_PAGES = 20000  # requests per portal and run
PORTAL_DATE_URL_LIMIT = 20  # calendar-style URLs (a date in the URL) followed per URL shape
PORTAL_URL_SHAPE_LIMIT = 5000  # requests of one URL shape (digits, letter-only words aside) per run
PORTAL_MAX_URL_LENGTH = 500  # characters: longer URLs are generated, not linked by editors
PORTAL_MAX_QUERY_PARAMETERS = 8  # more query parameters than this: faceted-search explosion
PORTAL_MAX_PARAMETER_ORDERS = 2  # orders of one URL's query parameters requested (not n!)
PORTAL_ATTACHMENT_MAX_SIZE = 100 * 1024**2  # bytes: documents (PDF, DOC, XLS) larger are dropped
PORTAL_LISTING_MIN_TEASERS = 2  # links to article-shaped URLs that make a page a listing
PORTAL_SITEMAPS = True  # read robots.txt Sitemap: lines (or /sitemap.xml), sitemaps and feeds
# Query parameter order is kept in fingerprints: ?a=1&b=2 and ?b=2&a=1 are both fetched, once
# each, so that the portal's own spelling of a URL is the one stored (crawler/urls.py).
REQUEST_FINGERPRINTER_CLASS = "crawler.urls.ExactUrlFingerprinter"
# HTTP proxy for every request; `crawl --fixtures` points it at the loopback server.
PORTAL_PROXY = None
# An interrupted crawl (Ctrl-C, SIGTERM) keeps its queue in DATA/jobs/<portal>/ and the next run
# of the portal resumes it (crawler/resume.py). A JOBDIR set by hand is left to its owner.
PORTAL_RESUME = True
# Scrapy's per-host queues of a job directory, in folders a long host name fits in; the
# requests kept there forget the proxy they were last sent through (crawler/queues.py).
SCHEDULER_PRIORITY_QUEUE = "crawler.queues.ShortPathPriorityQueue"
SCHEDULER_DISK_QUEUE = "crawler.queues.ProxylessDiskQueue"
# Pages are parsed and their articles extracted in a second process, so that a crawl uses two
# cores (crawler/reading.py); False keeps it all in the crawl's process.
PORTAL_READING_PROCESS = True

# -- Scope: what a crawl may fetch (crawler/middlewares/scope.py, crawler/resolver.py) ---------
# Only http(s), only the portal's hosts (and its registry entry's `document_hosts` for
# documents), never a private, loopback or link-local address but the portal's own.
PORTAL_ALLOW_PRIVATE_ADDRESSES = False  # True: any address (a crawl of an intranet)
TWISTED_DNS_RESOLVER = "crawler.resolver.PublicAddressResolver"
# No download handler for file:, ftp:, s3: or data: URLs: a portal's link must never read the
# crawl machine's own files or leave through another protocol. Downloads under way over http(s)
# are abandoned at once when a crawl stops (crawler/handlers.py).
DOWNLOAD_HANDLERS = {"file": None, "ftp": None, "s3": None, "data": None,
                     "http": "crawler.handlers.HTTPDownloadHandler",
                     "https": "crawler.handlers.HTTPDownloadHandler"}
# Cookies off: every capture stands alone, a Set-Cookie flood is never sent back on every
# request, and Scrapy's cookie handling, on its first cookie, would fetch the Public Suffix
# List from the internet. A portal that needs them: `settings = {COOKIES_ENABLED = true}`.
COOKIES_ENABLED = False

# -- Cleaners -------------------------------------------------------------------------------
# A file overriding keys of the cleaners' shipped settings.cfg (cleaners/settings.cfg); the
# CLI sets it with --cleaner-config.
CLEANERS_CONFIG = None

# -- Bounds: no portal holds a crawl for long (crawler/extensions/stopping.py, liveness.py) --
# Seconds one portal's crawl may run; then it stops and keeps its queue for the next run, as
# after Ctrl-C. Keep it below the interval of your cron line (`cron --every 6h` by default).
PORTAL_TIME_BUDGET = 5 * 3600  # seconds; 0: no budget
# A portal that has not answered yet (no DNS, refused, timeouts, 5xx) after this many attempts
# or this many seconds since its first request ends its run as `down`, and the next starts.
PORTAL_DOWN_ATTEMPTS = 6  # 0: no bound by attempts
PORTAL_DOWN_TIMEOUT = 180  # seconds; 0: no bound by time
# Seconds one page may take in the reading process: a slower one (a page of 300,000
# attributes) is skipped, counted as bad_input/parse_timeout, and a new reading process takes
# over.
PORTAL_PARSE_TIMEOUT = 30

# -- Components -----------------------------------------------------------------------------
DOWNLOADER_MIDDLEWARES = {
    # First of all, before robots.txt is asked for: every request, redirects included.
    "crawler.middlewares.scope.ScopeMiddleware": 40,
    "crawler.middlewares.crawldelay.CrawlDelayMiddleware": 110,
    # Above the retry middleware (550): makes its resends wait (Retry-After, backoff).
    "crawler.middlewares.backoff.BackoffMiddleware": 560,
    # Below the retry middleware (550): names a download that failed for good, quietly.
    "crawler.middlewares.badinput.BadDownloadMiddleware": 540,
    # Below decompression (590): sees the body as a browser would.
    "crawler.middlewares.badinput.BadContentMiddleware": 580,
    # Above redirect (600) and decompression (590): sees redirects and gzip as served.
    "crawler.middlewares.badinput.BadResponseMiddleware": 610,
    "crawler.middlewares.proxy.PortalProxyMiddleware": 740,
    # Highest number: sees the response before decompression, as it came off the wire.
    "crawler.middlewares.warc.WarcCaptureMiddleware": 950,
    # Last before the download: a stopping crawl sends nothing more (and keeps what it drops).
    "crawler.extensions.stopping.StoppingMiddleware": 990,
}
# The requests a stopping crawl abandons go back into the queue kept for the next run.
SCHEDULER = "crawler.scheduler.KeepingScheduler"
# Our pipeline is synchronous: Scrapy's default of 100 starts 100 asyncio tasks per response
# to handle what its callback yields, which costs more than the whole pipeline.
CONCURRENT_ITEMS = 1
ITEM_PIPELINES = {
    "crawler.pipelines.ArticlePipeline": 300,
}
# An unattended crawler needs no remote console: neither telnet nor Scrapy's HTTP control.
REMOTE_CONTROL_ENABLED = False
EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole": None,
    # Lock, WARC, index, run row. Built before Scrapy's own extensions (0): it sets the JOBDIR
    # that SpiderState reads, once it holds the data directory's lock. It owns the run
    # recorder (run figures, the home page's answer).
    "crawler.extensions.session.ArchiveSession": -100,
    "crawler.extensions.progress.ProgressLine": 510,  # live line on a terminal (PROGRESS_ENABLED)
    # Stops a crawl at once (signals, time budget, portal down), keeping its queue.
    "crawler.extensions.stopping.Stopping": 0,
    "crawler.extensions.liveness.Liveness": 10,  # a dead portal ends as `down`, soon
}

# -- Distributed crawl (crawler/distributed/): off unless REDIS_URL is set ---------------------
ADDONS = {"crawler.distributed.addon.DistributedCrawl": 0}
REDIS_URL = None  # redis://HOST:PORT/DB: this process crawls its part of a shared crawl
REDIS_LEASE_TIMEOUT = 60.0  # seconds without a heartbeat before a worker's portal is taken over
REDIS_WORKER_ID = None  # this worker's name in the cluster; None: host-pid-random
REDIS_WORKER_PORTALS = 4  # portals one worker process crawls at once
REDIS_UNTIL_DONE = False  # a worker stops once the cluster has nothing queued or under way
REDIS_COMMIT_INTERVAL = 1.0  # seconds between fsyncs of the WARC file that let handled
# requests leave the shared in-flight set (a crash refetches at most that much)

# -- Operations: cron runs, progress, alarms (archive/lock.py, archive/health.py) ------------
OPS_JOB_ID = None  # the CLI names each `portal-archive crawl` run; its log is logs/<id>.log
OPS_FULL_CRAWL = False  # set per portal by the CLI for the last full crawl of a dying portal
PROGRESS_ENABLED = False  # the CLI turns it on when stderr is a terminal
PROGRESS_INTERVAL = 1.0  # seconds between redraws of the progress line
ALARM_WEBHOOK_URL = None  # alarms are POSTed here as JSON as well as printed
HEALTH_NOW = None  # ISO date the silence alarm measures from; None: today (set for frozen sites)
HEALTH_DEAD_RUNS = 3  # runs in a row with the home page down (5xx, timeout, no DNS) before alarm
HEALTH_DRIFT_SHARE = 0.5  # share of article pages lost (known ones, or among new ones): drift
HEALTH_TEMPLATE_MATCH = 0.25  # least share of the learned chrome lines the home page must show
HEALTH_DRIFT_MIN_PAGES = 3  # pages (known articles refetched, or new pages) to judge drift on
HEALTH_SILENCE_FACTOR = 3.0  # times the portal's usual days between articles before silence
HEALTH_SILENCE_MIN_DAYS = 14  # days: never call a portal silent sooner
HEALTH_SILENCE_MIN_ARTICLES = 5  # dated articles needed to know a portal's publishing rhythm

LOG_LEVEL = "INFO"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
