"""The message broker named by `SOHOA_BROKER_URL`: none for `inline`, else Redis or RabbitMQ.

    inline                                  stages run in-process (no broker, the embedded default)
    redis://[:pw@]host:6379/0[?opts]        dramatiq RedisBroker
    amqp://user:pw@host:5672/vhost          dramatiq RabbitmqBroker (publisher confirms on)

Redis URLs may carry dramatiq options that are stripped before the URL reaches redis-py:
`namespace` (key prefix, default "sohoa"), `heartbeat_timeout` (ms without a heartbeat before a
worker is considered dead and its unacked messages requeued; ours 20000, dramatiq's 60000),
`maintenance_chance` (per million commands, the chance a fetch also requeues dead workers'
messages; ours 100000, dramatiq's 1000, with which a killed worker's message waited minutes)
and `dead_message_ttl` (ms). Together with the 30 s document lease, a SIGKILLed worker's
document is taken over within about 35 s (tests/pipeline/test_faults.py measures it).
RabbitMQ gets publisher confirms so a message published while the broker goes away raises
instead of being silently dropped.
"""

from __future__ import annotations

import contextlib
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

import dramatiq
from dramatiq.middleware import CurrentMessage

INLINE = "inline"
# Faster recovery than dramatiq's defaults (see the module docstring); URL options override.
REDIS_RECOVERY_DEFAULTS = {"heartbeat_timeout": 20_000, "maintenance_chance": 100_000}
REDIS_OPTIONS = {"namespace": str, "heartbeat_timeout": int, "maintenance_chance": int,
                 "dead_message_ttl": int}


class BrokerConfigError(ValueError):
    """SOHOA_BROKER_URL is not one we can use."""


class BrokerUnavailable(ConnectionError):
    """The broker cannot be reached; an accepted document stays `received` and is re-sent."""


def broker_kind(url: str | None) -> str:
    """'inline', 'redis' or 'rabbitmq' for a broker URL; BrokerConfigError otherwise."""
    if not url or url.strip().lower() == INLINE:
        return INLINE
    scheme = urlparse(url).scheme.lower()
    if scheme in ("redis", "rediss", "unix"):
        return "redis"
    if scheme in ("amqp", "amqps"):
        return "rabbitmq"
    raise BrokerConfigError(
        f"SOHOA_BROKER_URL={redact(url)!r}: unsupported scheme {scheme!r} "
        "(use inline, redis://host:6379/0 or amqp://user:password@host:5672/vhost)")


def redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
        return urlunparse(parsed._replace(netloc=netloc))
    return url


def split_redis_url(url: str) -> tuple[str, dict]:
    """The URL redis-py should see, and the dramatiq options carried in its query."""
    parsed = urlparse(url)
    ours, theirs = {}, []
    for key, value in parse_qsl(parsed.query, keep_blank_values=True):
        if key in REDIS_OPTIONS:
            try:
                ours[key] = REDIS_OPTIONS[key](value)
            except ValueError:
                raise BrokerConfigError(
                    f"SOHOA_BROKER_URL: {key}={value!r} is not a number") from None
        else:
            theirs.append((key, value))
    ours.setdefault("namespace", "sohoa")
    return urlunparse(parsed._replace(query=urlencode(theirs))), ours


def make_broker(url: str) -> dramatiq.Broker | None:
    """A new broker for `url` (None for inline). Adds CurrentMessage so actors see their message."""
    kind = broker_kind(url)
    if kind == INLINE:
        return None
    if kind == "redis":
        from dramatiq.brokers.redis import RedisBroker  # each loads its client library

        plain, options = split_redis_url(url)
        broker = RedisBroker(url=plain, **{**REDIS_RECOVERY_DEFAULTS, **options})
    else:
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url, confirm_delivery=True)
    broker.add_middleware(CurrentMessage())
    return broker


def ping_broker(url: str, timeout: float = 3.0) -> dict:
    """Reach the broker with a fresh short-timeout connection (never the shared one, so a probe
    cannot hang on it). Returns facts worth reporting ({"kind", "appendonly"}); raises
    BrokerUnavailable naming the broker when it does not answer."""
    kind = broker_kind(url)
    if kind == INLINE:
        return {"kind": INLINE}
    try:
        if kind == "redis":
            import redis

            plain, _options = split_redis_url(url)
            client = redis.Redis.from_url(plain, socket_connect_timeout=timeout,
                                          socket_timeout=timeout)
            try:
                client.ping()
                try:
                    appendonly = client.config_get("appendonly").get("appendonly")
                except redis.ResponseError:  # CONFIG may be disabled on managed Redis
                    appendonly = None
            finally:
                client.close()
            return {"kind": kind, "appendonly": appendonly}
        import pika

        params = pika.URLParameters(url)
        params.socket_timeout = timeout
        params.connection_attempts = 1
        params.blocked_connection_timeout = timeout
        pika.BlockingConnection(params).close()
        return {"kind": kind}
    except Exception as exc:  # noqa: BLE001 - redis/pika errors vary
        raise BrokerUnavailable(f"broker {redact(url)} unreachable: {type(exc).__name__}") from exc


_broker: dramatiq.Broker | None = None
_broker_url: str | None = None


def get_broker(url: str) -> dramatiq.Broker | None:
    """The process-wide broker for `url` (settings.broker_url); None when inline.
    It is also installed as dramatiq's global broker."""
    global _broker, _broker_url
    if _broker is not None and url == _broker_url:
        return _broker
    broker = make_broker(url)
    if broker is not None:
        dramatiq.set_broker(broker)
    _broker, _broker_url = broker, url
    return broker


def reset_broker() -> None:
    """Forget the process-wide broker (tests switch brokers)."""
    global _broker, _broker_url
    if _broker is not None:
        with contextlib.suppress(Exception):  # closing a dead connection may fail
            _broker.close()
    _broker, _broker_url = None, None
