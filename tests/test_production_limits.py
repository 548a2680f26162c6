"""Rate limits that hold in production: a shared storage when several workers can run, and the
client's address read from X-Forwarded-For only when a trusted proxy sent it."""

import pytest

from gridgov.config import ConfigError, load_config

PRODUCTION = {
    "GRIDGOV_ENV": "production",
    "GRIDGOV_SECRET_KEY": "k" * 40,
    "GRIDGOV_DATABASE_URL": "postgresql://u@h/db",
    "GRIDGOV_PII_KEY": "x" * 44,
}


def test_production_refuses_per_process_rate_limits(tmp_path):
    with pytest.raises(ConfigError, match="GRIDGOV_RATELIMIT_STORAGE_URL must be set"):
        load_config(str(tmp_path), PRODUCTION)
    memory = {**PRODUCTION, "GRIDGOV_RATELIMIT_STORAGE_URL": "memory://"}
    with pytest.raises(ConfigError, match="counts per process"):
        load_config(str(tmp_path), memory)
    with pytest.raises(ConfigError, match="counts per process"):
        load_config(str(tmp_path), {**memory, "WEB_CONCURRENCY": "4"})
    assert load_config(str(tmp_path), {**memory, "WEB_CONCURRENCY": "1"}).WORKERS == 1
    shared = {**PRODUCTION, "GRIDGOV_RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379/0"}
    assert load_config(str(tmp_path), {**shared, "WEB_CONCURRENCY": "4"}).RATELIMIT_STORAGE_URI.startswith(
        "redis"
    )
    with pytest.raises(ConfigError, match="GRIDGOV_TRUSTED_PROXIES"):
        load_config(str(tmp_path), {**shared, "GRIDGOV_TRUSTED_PROXIES": "proxy.local"})


@pytest.fixture
def app_config(app_config):
    return {
        **app_config,
        "LOGIN_LIMIT_PER_IP": "2 per minute",
        "LOGIN_LIMIT_PER_ACCOUNT": "1000 per minute",
        "TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8",
    }


def attempts(client, peer: str, forwarded: str | None = None, n: int = 3) -> list[int]:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return [
        client.post(
            "/api/v1/auth/login",
            json={"username": "nobody", "password": "wrong-password"},
            headers=headers,
            environ_base={"REMOTE_ADDR": peer},
        ).status_code
        for _ in range(n)
    ]


def test_clients_behind_the_trusted_proxy_each_have_their_own_budget(client):
    assert attempts(client, "127.0.0.1", "198.51.100.7") == [401, 401, 429]
    assert attempts(client, "127.0.0.1", "198.51.100.8") == [401, 401, 429]  # another phone, its own
    # Two trusted hops (an inner proxy in 10/8): the client is the address before them.
    assert attempts(client, "127.0.0.1", "198.51.100.9, 10.1.2.3") == [401, 401, 429]
    assert attempts(client, "127.0.0.1", "198.51.100.9") == [429, 429, 429]  # the same client


def test_a_forged_forwarded_for_from_elsewhere_changes_nothing(client):
    assert attempts(client, "203.0.113.5", "198.51.100.1") == [401, 401, 429]
    assert attempts(client, "203.0.113.5", "198.51.100.2") == [429, 429, 429]  # still one client
    # Through the proxy, an address the client wrote first is not believed either.
    assert attempts(client, "127.0.0.1", "198.51.100.3, 203.0.113.77") == [401, 401, 429]
    assert attempts(client, "127.0.0.1", "203.0.113.77") == [429, 429, 429]
