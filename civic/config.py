"""Defaults in code.  Order of precedence: these defaults, then ``CIVIC_*`` environment variables,
then the mapping passed to :func:`civic.create_app` (tests).

The embedded default needs nothing but Python: a SQLite file under ``instance/``, jobs run
in-process right after the commit that enqueued them, media on the local disk.  Setting
``CIVIC_REDIS_URL`` switches jobs to RQ and rate-limit counters to Redis (the CTFd idea: one switch
chooses embedded or production parts).
"""

from __future__ import annotations

from civic.core.parts import DEV_SECRET_KEY  # noqa: F401  (refused in production by the parts table)


class DefaultConfig:
    ENV = "development"  # "production" refuses development parts: civic.core.parts
    SECRET_KEY = DEV_SECRET_KEY
    DATABASE_URL: str | None = None  # default: sqlite:///<instance>/civic.db
    DATABASE_READ_URL: str | None = None  # optional replica for read-only reporting queries
    REDIS_URL: str | None = None  # unset = embedded: in-process jobs, memory rate-limit counters
    MEDIA_DIR: str | None = None  # default: <instance>/media
    # Set: media in an S3-compatible bucket instead of MEDIA_DIR (civic.core.storage.s3), e.g.
    # s3://civic-media/pudong?endpoint=https://oss-cn-shanghai.aliyuncs.com&region=cn-shanghai
    MEDIA_URL: str | None = None
    MEDIA_ACCESS_KEY: str | None = None  # both unset: the standard AWS credential chain
    MEDIA_SECRET_KEY: str | None = None
    TIMEZONE = "Asia/Shanghai"
    SQLITE_BUSY_TIMEOUT_MS = 30_000
    #: Seconds a pooled PostgreSQL connection may sit idle before its next checkout pings it
    #: (civic.core.db.ping_after_idle); 0 pings on every checkout, as pool_pre_ping does.
    DB_PING_AFTER_IDLE_S = 10

    # Request limits.  Photos: 9 × 20 MB worst case plus form fields.
    MAX_CONTENT_LENGTH = 200 * 1024 * 1024
    MAX_JSON_BYTES = 1 * 1024 * 1024
    # Resumable uploads (civic.core.resumable) one account may hold unused (still receiving, or
    # complete and not yet attached), and their declared lengths together: a case's 9 photos fit;
    # beyond, 409 upload_quota_exceeded.
    UPLOAD_MAX_OPEN = 10
    UPLOAD_MAX_OPEN_BYTES = 200 * 1024 * 1024

    # Tokens and one-time codes.
    TOKEN_TTL_HOURS = 24 * 30
    STAFF_TOKEN_TTL_HOURS = 12
    # Each worker process remembers who a bearer token is (and /me's memberships) for this many
    # seconds, so an API request needs no query to authenticate.  A change made in the same process
    # (logout, revocation, password, account or membership change) takes effect at once; another
    # worker process honours it within this many seconds.  0 turns the cache off.
    AUTH_CACHE_SECONDS = 10
    OTP_TTL_SECONDS = 300
    OTP_MAX_ATTEMPTS = 5
    OTP_RESEND_SECONDS = 60

    # The staff console's session cookie and forms (Flask-WTF).  CSRF is checked by civic.core.http
    # on every unsafe request except bearer-token API calls; SameSite keeps the cookie off
    # cross-site posts as a second guard.
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SECURE: bool | None = None  # None: Secure in production only (civic.core.headers)

    # Security headers on every response (civic.core.headers).  No page has inline script or
    # style; data: images are Swagger UI's icons.  HSTS is sent in production only.
    CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'")
    HSTS_SECONDS = 365 * 24 * 3600
    WTF_CSRF_CHECK_DEFAULT = False
    WTF_CSRF_TIME_LIMIT = 12 * 3600  # a form left open over a working day still posts

    # Rate limits (Flask-Limiter syntax).
    RATELIMIT_ENABLED = True
    # Logins (civic.core.http: login_limit, resident_login_limit, code_check_limit).
    RATELIMIT_LOGIN = "10 per minute;50 per hour"  # per account, phone or WeChat code tried, per client address
    RATELIMIT_LOGIN_ADDRESS = "100 per minute;1000 per hour"  # staff password logins per client address (an office's NAT)
    # Residents' logins (WeChat, phone) and code checks per client address: sized for a carrier's NAT,
    # where a whole compound may share one address on a vote evening (300 residents in a minute).
    RATELIMIT_RESIDENT_LOGIN_ADDRESS = "1200 per minute;20000 per hour"
    RATELIMIT_LOGIN_OPENID = "10 per minute;50 per hour"  # WeChat logins per WeChat user, from any address
    RATELIMIT_LOGIN_FAILURES = "30 per hour"  # failed logins per account or phone, from any address
    RATELIMIT_PUBLIC_WRITE = "30 per minute"
    # "Me too" joins per resident (civic.complaints.service.supporters.join): a signal staff weigh.
    RATELIMIT_COMPLAINT_SUPPORT = "10 per hour;20 per day"

    # WeChat mini-program login (code2session).  "dev" maps a code to openid "dev-<code>".
    WECHAT_ADAPTER = "dev"
    WECHAT_APPID = ""
    WECHAT_SECRET = ""
    WECHAT_CODE2SESSION_URL = "https://api.weixin.qq.com/sns/jscode2session"
    WECHAT_SUBSCRIBE_URL = "https://api.weixin.qq.com/cgi-bin/message/subscribe/send"
    WECHAT_TOKEN_URL = "https://api.weixin.qq.com/cgi-bin/stable_token"  # the stable access token
    WECHAT_TIMEOUT_SECONDS = 5
    # Subscribe messages (NOTIFY_ADAPTER="wechat"): civic's template name → the template id chosen
    # in the mini-program's console, e.g. {"complaint.status": "bDmywsp2oEHjwAadTGKkUHpC0RgBVPvfAsI0mOAXAeg"};
    # an unmapped name is sent as the id itself.  The mini-program version the message opens.
    WECHAT_TEMPLATE_IDS: dict = {}
    WECHAT_MINIPROGRAM_STATE = "formal"  # "developer", "trial" or "formal"
    NOTIFY_ADAPTER = "dev"  # "dev" logs; "wechat" sends subscribe messages
    # One-time codes by SMS (civic.accounts.sms): "dev" writes the code to the log; "none" turns phone
    # login off (503); "aliyun" (Alibaba Cloud SendSms 2017-05-25) or "tencent" (Tencent Cloud
    # SendSms 2021-01-11) send it with the settings below.
    SMS_ADAPTER = "dev"
    SMS_ACCESS_KEY_ID = ""  # Aliyun AccessKey ID / Tencent SecretId
    SMS_ACCESS_KEY_SECRET = ""  # Aliyun AccessKey secret / Tencent SecretKey
    SMS_SIGN_NAME = ""  # the approved signature (签名), e.g. "浦东社区"
    SMS_TEMPLATE = ""  # Aliyun template code ("SMS_123456789") / Tencent template id ("1234567")
    SMS_TEMPLATE_PARAMS = "code"  # the template's variables in order, among "code" and "minutes"
    SMS_SDK_APP_ID = ""  # Tencent only: the SMS application's SdkAppId ("1400000000")
    SMS_REGION = ""  # default: cn-hangzhou (Aliyun), ap-guangzhou (Tencent)
    SMS_ENDPOINT = ""  # a URL overriding the vendor's host (a private endpoint; the tests' server)
    SMS_TIMEOUT_SECONDS = 5

    # Open311 GeoReport v2 (civic/open311): the one jurisdiction this server answers for, the
    # partners' POST budget (per api_key), and the limits on fetching a partner's media_url.
    OPEN311_JURISDICTION_ID = "pudong.sh.cn"
    OPEN311_CONTACT = "浦东新区城市运行管理中心 open311@pudong.sh.cn"
    RATELIMIT_OPEN311_POST = "60 per minute;1000 per day"
    OPEN311_MEDIA_MAX_BYTES = 10 * 1024 * 1024
    OPEN311_MEDIA_TIMEOUT_SECONDS = 10
    # Tests only: lets an allow-listed host resolve to a loopback address (a test server on
    # 127.0.0.1).  Private, link-local, reserved and multicast addresses stay refused.  Never set it
    # in a deployment.
    OPEN311_MEDIA_ALLOW_LOOPBACK_FOR_TESTS = False

    # Embedded scheduler: a thread in the web process that runs periodic and deferred jobs.
    RUN_SCHEDULER = True
    SCHEDULER_TICK_SECONDS = 20

    # The job outbox (with CIVIC_REDIS_URL: civic.core.outbox).  Every tick relays up to
    # OUTBOX_RELAY_BATCH rows left behind by a Redis outage; a row relayed this long ago and never
    # started is relayed again (Redis restarted empty); after a failed relay a web process leaves
    # Redis alone this long (the worker's tick keeps trying).
    OUTBOX_RELAY_BATCH = 500
    OUTBOX_REDELIVER_SECONDS = 600
    OUTBOX_RELAY_PAUSE_SECONDS = 30

    # OpenAPI (flask-smorest)
    API_TITLE = "civic API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    # The docs page (/api/v1/docs) is Swagger UI served from civic's own files (flask-swagger-ui),
    # not from a CDN: it must work offline and from networks in China (civic.core.routes.docs_blueprint).
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    JSON_SORT_KEYS = False
