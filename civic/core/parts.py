"""The parts civic is built from, each chosen by a setting, and which choices are for development only.

One table (:data:`PARTS`): for each part (SMS, WeChat login, notifications, the media store, the
secret key...) the setting that chooses it, the values that must never serve production (with why),
the values civic knows, and what each of those needs set beside it.  :func:`check` reads the table
when the app is created (:func:`civic.create_app`):

- with ``CIVIC_ENV=production``, a development value refuses to start, naming the setting to
  change: a development adapter fails *silently* (codes written to a log, anyone logged in as any
  openid), so it must not get as far as the first resident;
- in every environment, an adapter name civic does not know, or a known one missing a setting it
  needs, refuses to start too (a typo such as ``CIVIC_SMS_ADAPTER=aliyn`` would otherwise answer
  503 to every resident).

A new adapter joins the table where it is implemented: add its name to its part's ``choices`` with
the settings it needs (``register`` again with the new row, or edit the row below).  ``/healthz``
reports :func:`configured` (names only, never a secret or a URL).

What production needs today (docs/deploy.md, "What production refuses"): ``CIVIC_SECRET_KEY``,
``CIVIC_WECHAT_ADAPTER=wechat`` with ``CIVIC_WECHAT_APPID`` and ``CIVIC_WECHAT_SECRET``,
``CIVIC_NOTIFY_ADAPTER=wechat``, and ``CIVIC_SMS_ADAPTER=aliyun`` or ``tencent`` with their
settings (civic.accounts.sms registers the row), or ``none`` (phone login off, 503 ``sms_unavailable``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# The default of SECRET_KEY (civic.config): public in the source, so refused in production.
DEV_SECRET_KEY = "civic-development-secret-key-do-not-use-in-production"


class ProductionRefused(RuntimeError):
    """The configuration would run a development part (or an unknown one): the message names every
    setting to change, one line each."""


@dataclass(frozen=True)
class Part:
    """One row of the table.

    :param name: the part as ``/healthz`` names it (``"sms"``).
    :param setting: the config key choosing it (environment variable ``CIVIC_<setting>``).
    :param development: value → why it must not serve production.
    :param choices: the values civic knows besides the development ones, each with the settings it
        needs non-empty; ``None``: the setting is free-form (a URL, a key), nothing to check.
    :param report: what ``/healthz`` shows of the part from the config; by default an adapter part
        (one with ``choices``) shows its adapter's name and any other part nothing.
    :param secret: the value is a secret: never echoed in an error.
    :param hint: how to fix a development value, where "set it to one of: <choices>" says too little.
    """

    name: str
    setting: str
    development: Mapping[Any, str]
    choices: Mapping[str, tuple[str, ...]] | None = None
    report: Callable[[Mapping[str, Any]], str] | None = None
    secret: bool = False
    hint: str = ""

    def problems(self, config: Mapping[str, Any]) -> list[str]:
        """What is wrong with this part under ``config``: one line per fault, each naming the
        ``CIVIC_*`` variable to change."""
        var = f"CIVIC_{self.setting}"
        value = config.get(self.setting)
        shown = "" if self.secret else f"={value!r}"
        out = []
        production = config.get("ENV") == "production"
        if _is_in(value, self.development):
            if production:
                fix = self.hint or (f"set it to one of: {', '.join(self.choices)}" if self.choices else "change it")
                out.append(f"{var}{shown} is for development only ({self.development[value]}): {fix}")
            return out
        if self.choices is None:
            return out
        if not isinstance(value, str) or value not in self.choices:
            known = ", ".join([*map(str, self.development), *self.choices])
            out.append(f"{var}={value!r} is not a {self.name} adapter civic knows (known: {known})")
            return out
        missing = [f"CIVIC_{need}" for need in self.choices[value] if not config.get(need)]
        if missing:
            out.append(f"{var}={value!r} needs {', '.join(missing)} set")
        return out


def _is_in(value: Any, development: Mapping[Any, str]) -> bool:
    # True == 1 in Python: a flag's True must not match a development value 1, nor "1" match True.
    return any(value is d or (type(value) is type(d) and value == d) for d in development)


PARTS: dict[str, Part] = {}


def register(part: Part) -> None:
    """Add ``part`` to the table, or replace the row of the same name (a domain registers its own
    parts when its module is imported: the core names no domain)."""
    PARTS[part.name] = part


def check(config: Mapping[str, Any]) -> None:
    """Refuse a configuration the table says must not run.

    :raises ProductionRefused: with every fault, one per line, each naming its ``CIVIC_*`` setting.
    """
    faults = [line for part in PARTS.values() for line in part.problems(config)]
    if faults:
        where = " (CIVIC_ENV=production)" if config.get("ENV") == "production" else ""
        raise ProductionRefused(f"civic refuses to start{where}:\n  - " + "\n  - ".join(faults))


def configured(config: Mapping[str, Any]) -> dict[str, str]:
    """The parts in use by name, e.g. ``{"sms": "none", "wechat_login": "wechat", "media":
    "filesystem"}``: adapter names and URL schemes only, never a secret, a key or an address."""
    out = {}
    for p in PARTS.values():
        if p.report is not None:
            out[p.name] = p.report(config)
        elif p.choices is not None:
            out[p.name] = str(config.get(p.setting))
    return out


# --- the core's own parts ----------------------------------------------------------------------------

register(Part(
    "secret_key", "SECRET_KEY", secret=True,
    development={DEV_SECRET_KEY: "the development default, public in the source",
                 "": "empty", None: "unset"},
    hint="set it to a long random value (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'), "
         "the same on every app server"))
register(Part(
    "notifications", "NOTIFY_ADAPTER",
    development={"dev": "writes residents' messages to the log instead of sending them",
                 "fail": "fails every message: for tests of the retry path"},
    choices={"wechat": ("WECHAT_APPID", "WECHAT_SECRET")}))
register(Part(
    # The filesystem is a production choice too (one server, or a shared NFS directory): nothing is
    # refused, only reported.  Scheme only: an object-store URL may carry its keys.
    "media", "MEDIA_URL", development={},
    report=lambda config: urlsplit(str(config.get("MEDIA_URL") or "")).scheme or "filesystem"))
register(Part(
    "jobs", "REDIS_URL", development={},
    report=lambda config: "rq" if config.get("REDIS_URL") else "in-process"))
register(Part(
    "rate_limits", "RATELIMIT_ENABLED",
    development={False: "turns off every login and public-write limit"},
    report=lambda config: "redis" if config.get("REDIS_URL") else "memory"))
register(Part(
    "csrf", "WTF_CSRF_ENABLED",
    development={False: "turns off the console's CSRF checks"}))
