"""How Redis store URLs and options are read, and how bad ones are refused."""

from __future__ import annotations

import pytest

from sessionware.stores.redis import DEFAULT_PREFIX, RedisURLError
from sessionware.stores.redis._settings import RedisSettings, parse_url


def test_plain_redis_url_names_host_port_and_database() -> None:
    settings = parse_url("redis://cache.internal:6380/3", {})
    assert settings.mode == "standalone"
    assert settings.hosts == (("cache.internal", 6380),)
    assert settings.db == 3
    assert settings.ssl is False


def test_defaults_are_localhost_prefix_and_two_second_timeouts() -> None:
    settings = parse_url("redis://", {})
    assert settings.hosts == (("localhost", 6379),)
    assert settings.db == 0
    assert settings.prefix == DEFAULT_PREFIX == "sessionware:"
    assert settings.socket_timeout == settings.socket_connect_timeout == 2.0


def test_rediss_and_valkeys_turn_on_tls() -> None:
    assert parse_url("rediss://h:6379/0", {}).ssl is True
    assert parse_url("valkeys://h:6379/0", {}).ssl is True


@pytest.mark.parametrize("scheme", ["valkey", "valkey+sentinel", "valkey+cluster"])
def test_valkey_schemes_mean_the_same_as_redis_ones(scheme: str) -> None:
    path = "/mymaster/0" if "sentinel" in scheme else ""
    redis_scheme = scheme.replace("valkey", "redis")
    assert parse_url(f"{scheme}://h1:1,h2:2{path}", {}) == parse_url(
        f"{redis_scheme}://h1:1,h2:2{path}", {}
    )


def test_credentials_come_from_the_user_info_percent_decoded() -> None:
    settings = parse_url("redis://app:p%40ss%3Aword@h:6379/0", {})
    assert settings.username == "app"
    assert settings.password == "p@ss:word"


def test_password_without_user_name() -> None:
    settings = parse_url("redis://:secret@h/0", {})
    assert settings.username is None
    assert settings.password == "secret"


def test_sentinel_url_lists_sentinels_then_service_and_database() -> None:
    settings = parse_url("redis+sentinel://s1:26379,s2:26380,[::1]:26381/mymaster/2", {})
    assert settings.mode == "sentinel"
    assert settings.hosts == (("s1", 26379), ("s2", 26380), ("::1", 26381))
    assert settings.service == "mymaster"
    assert settings.db == 2


def test_cluster_url_lists_startup_nodes() -> None:
    settings = parse_url("redis+cluster://n1:7000,n2:7001?prefix=app:", {})
    assert settings.mode == "cluster"
    assert settings.hosts == (("n1", 7000), ("n2", 7001))
    assert settings.prefix == "app:"


def test_query_options_are_converted() -> None:
    settings = parse_url(
        "redis://h/0?prefix=web:&socket_timeout=0.5&socket_connect_timeout=1"
        "&max_connections=20&retries=0&health_check_interval=30",
        {},
    )
    assert settings == RedisSettings(
        mode="standalone",
        hosts=(("h", 6379),),
        prefix="web:",
        socket_timeout=0.5,
        socket_connect_timeout=1.0,
        max_connections=20,
        retries=0,
        health_check_interval=30,
    )


def test_keyword_options_override_the_query() -> None:
    settings = parse_url("redis://h/0?prefix=a:", {"prefix": "b:", "socket_timeout": 5})
    assert settings.prefix == "b:"
    assert settings.socket_timeout == 5.0


def test_tls_options_reach_the_client_only_with_tls() -> None:
    url = "rediss://h/0?ssl_cert_reqs=none&ssl_ca_certs=/etc/ca.pem"
    options = parse_url(url, {}).connection_options()
    assert options["ssl"] is True
    assert options["ssl_cert_reqs"] == "none"
    assert options["ssl_ca_certs"] == "/etc/ca.pem"
    assert "ssl" not in parse_url("redis://h/0", {}).connection_options()


def test_equal_urls_give_equal_settings_so_they_share_a_client() -> None:
    assert parse_url("redis://h/0?prefix=a:", {}) == parse_url("redis://h/0", {"prefix": "a:"})
    assert hash(parse_url("redis://h/0", {})) == hash(parse_url("redis://h/0", {}))


def test_settings_repr_hides_passwords() -> None:
    assert "hunter2" not in repr(parse_url("redis://:hunter2@h/0?sentinel_password=x", {}))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://h/0?colour=blue", "unknown Redis store option"),
        ("redis://h/0?socket_timeout=soon", "socket_timeout"),
        ("redis://h/0?socket_timeout=0", "socket_timeout"),
        ("redis://h/zero", "db"),
        ("redis://h:port/0", "bad port"),
        ("redis://h/0/extra", "unexpected path"),
        ("redis+sentinel://s1:26379", "names its master"),
        ("redis+cluster://n1:7000/1", "unexpected path"),
        ("redis+cluster://n1:7000?db=2", "only database 0"),
        ("redis://h/0?prefix=a{b}:", "prefix may not contain"),
        ("redis://h/0?ssl=maybe", "ssl"),
        ("memcached://h", "not a Redis store URL"),
    ],
)
def test_bad_urls_are_refused_with_a_clear_error(url: str, message: str) -> None:
    with pytest.raises(RedisURLError, match=message):
        parse_url(url, {})


def test_url_errors_never_show_the_password() -> None:
    with pytest.raises(RedisURLError) as caught:
        parse_url("redis://:hunter2@h/0?colour=blue", {})
    assert "hunter2" not in str(caught.value)
    assert "***" in str(caught.value)


def test_url_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="unknown"):
        parse_url("redis://h/0?nope=1", {})
