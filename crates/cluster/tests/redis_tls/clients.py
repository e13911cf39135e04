"""Runs the rendered Redis client settings of Superset and Airflow against real TLS servers.

CONF_DIR holds the rendered superset_config.py and datalyptica_celery.py (paths and the Sentinel
host rewritten to the local lab) and a stand-in for Airflow's default Celery settings built from
the rendered environment. Prints one JSON line; any failure raises.
"""

import json
import os
import sys
import uuid

sys.path.insert(0, os.environ["CONF_DIR"])

import redis
import redis.sentinel
from celery import Celery
from flask import Flask
from flask_caching import Cache

import datalyptica_celery
import superset_config

out = {}

# Superset's cache: Flask-Caching's RedisSentinelCache with the rendered options.
app = Flask(__name__)
cache = Cache(app, config=superset_config.CACHE_CONFIG)
key = f"k-{uuid.uuid4()}"
with app.app_context():
    assert cache.set(key, "v"), "cache.set through Sentinel over TLS failed"
    assert cache.get(key) == "v", "cache.get did not return the value"
out["superset_cache"] = "ok"

# Superset's Celery: broker and result backend through Sentinel over TLS.
superset_celery = Celery("superset")
superset_celery.config_from_object(superset_config.CeleryConfig)
with superset_celery.connection_for_write() as conn:
    conn.ensure_connection(max_retries=3)
res = superset_celery.send_task("datalyptica.test.noop", args=[1])
superset_celery.backend.store_result(res.id, 42, "SUCCESS")
meta = superset_celery.backend.get_task_meta(res.id)
assert meta["result"] == 42, meta
out["superset_celery"] = "ok"

# Airflow's Celery settings module, as AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS loads it.
airflow_celery = Celery("airflow", config_source=datalyptica_celery.CELERY_CONFIG)
with airflow_celery.connection_for_write() as conn:
    conn.ensure_connection(max_retries=3)
airflow_celery.send_task("datalyptica.test.noop", args=[2])
out["airflow_celery"] = "ok"

# Negative controls: an untrusted CA is refused, and plain TCP is not served.
host, port = superset_config._SENTINELS[0]
wrong = {**superset_config._TLS, "ssl_ca_certs": os.environ["WRONG_CA"]}
sentinel = redis.sentinel.Sentinel(
    [(host, port)], sentinel_kwargs={**wrong, "socket_timeout": 3}, socket_timeout=3
)
try:
    sentinel.discover_master(os.environ["MASTER_GROUP"])
    raise AssertionError("a Sentinel with a certificate from another CA was trusted")
except redis.sentinel.MasterNotFoundError:
    out["untrusted_ca_refused"] = "ok"
try:
    redis.Redis(host=host, port=port, socket_timeout=3).ping()
    raise AssertionError("Sentinel answered plain TCP")
except redis.exceptions.ConnectionError:
    out["plain_tcp_refused"] = "ok"

# The data nodes refuse a client without the password.
master_host, master_port = redis.sentinel.Sentinel(
    [(host, port)], sentinel_kwargs=superset_config._TLS
).discover_master(os.environ["MASTER_GROUP"])
try:
    redis.Redis(host=master_host, port=master_port, socket_timeout=3, **superset_config._SSL, ssl=True).ping()
    raise AssertionError("the master answered a client without the password")
except (redis.exceptions.AuthenticationError, redis.exceptions.ResponseError) as e:
    assert "NOAUTH" in str(e) or "Authentication" in str(e), e
    out["unauthenticated_refused"] = "ok"

print(json.dumps(out, sort_keys=True))
