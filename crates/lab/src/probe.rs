//! Write probes with real client libraries: one writer, strictly increasing sequence numbers,
//! every attempt recorded. Client-side retries are off so each attempt is one try.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::analysis::{Attempt, Outcome};
use crate::http;
use crate::settings::RedisSettings;
use crate::topology::*;

/// Pause after an acknowledged write: ~100 writes/s is plenty of resolution for RTO.
const WRITE_INTERVAL: Duration = Duration::from_millis(10);
/// Pause after a failed one, so a dead endpoint does not spin the CPU the servers need.
const RETRY_PAUSE: Duration = Duration::from_millis(20);

pub enum Writer {
    Etcd(EtcdWriter),
    Postgres(PgWriter),
    Redis(RedisWriter),
}

impl Writer {
    pub fn new(component: Datastore, run: &str, redis: &RedisSettings) -> Result<Writer> {
        Ok(match component {
            Datastore::Etcd => Writer::Etcd(EtcdWriter::new(run)),
            Datastore::Postgresql => Writer::Postgres(PgWriter::new(run)),
            Datastore::Redis => Writer::Redis(RedisWriter::new(run, redis)?),
        })
    }

    pub async fn setup(&mut self) -> Result<()> {
        match self {
            Writer::Postgres(w) => w.setup().await,
            _ => Ok(()),
        }
    }

    pub async fn write(&mut self, seq: u64) -> (Outcome, Option<String>) {
        match self {
            Writer::Etcd(w) => w.write(seq).await,
            Writer::Postgres(w) => w.write(seq).await,
            Writer::Redis(w) => w.write(seq).await,
        }
    }

    pub async fn read_back(&mut self) -> Result<Vec<u64>> {
        match self {
            Writer::Etcd(w) => w.read_back().await,
            Writer::Postgres(w) => w.read_back().await,
            Writer::Redis(w) => w.read_back().await,
        }
    }
}

/// Runs the writer until `stop`; returns the writer (for read-back) and its attempt log.
pub async fn run_probe(
    mut w: Writer,
    t0: Instant,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Attempt>>>,
) -> Writer {
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        let start = t0.elapsed();
        let (outcome, node) = w.write(seq).await;
        let end = t0.elapsed();
        log.lock().await.push(Attempt {
            seq,
            start_us: start.as_micros() as u64,
            end_us: end.as_micros() as u64,
            outcome,
            node,
        });
        tokio::time::sleep(if outcome == Outcome::Ok {
            WRITE_INTERVAL
        } else {
            RETRY_PAUSE
        })
        .await;
    }
    w
}

// ---------------------------------------------------------------- etcd

pub struct EtcdWriter {
    endpoints: Vec<SocketAddr>,
    current: usize,
    prefix: String,
}

/// A follower holds a proposal while there is no leader; a short timeout lets the probe try again
/// (possibly elsewhere) instead of sitting out the whole election.
const ETCD_TIMEOUT: Duration = Duration::from_millis(400);

pub fn etcd_key(prefix: &str, seq: u64) -> String {
    format!("{prefix}{seq:012}")
}

/// `range_end` for a prefix scan: the prefix with its last byte incremented.
pub fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

impl EtcdWriter {
    pub fn new(run: &str) -> Self {
        Self {
            endpoints: etcd_client_addrs(),
            current: 0,
            prefix: format!("/datalyptica-drill/{run}/"),
        }
    }

    async fn write(&mut self, seq: u64) -> (Outcome, Option<String>) {
        let addr = self.endpoints[self.current];
        let node = Some(format!("etcd{}", self.current + 1));
        let body = serde_json::json!({
            "key": B64.encode(etcd_key(&self.prefix, seq)),
            "value": B64.encode(seq.to_string()),
        });
        let r = http::request(
            addr,
            "POST",
            "/v3/kv/put",
            Some(&body.to_string()),
            ETCD_TIMEOUT,
        )
        .await;
        let outcome = match r {
            Ok(resp) if resp.status == 200 => return (Outcome::Ok, node),
            Ok(_) => Outcome::Error,
            Err(e) if format!("{e:#}").contains("connect") => Outcome::Refused,
            Err(_) => Outcome::Unknown,
        };
        self.current = (self.current + 1) % self.endpoints.len();
        (outcome, node)
    }

    async fn read_back(&mut self) -> Result<Vec<u64>> {
        let body = serde_json::json!({
            "key": B64.encode(&self.prefix),
            "range_end": B64.encode(prefix_end(&self.prefix)),
        });
        let mut last = None;
        for &addr in &self.endpoints {
            match http::post_json(addr, "/v3/kv/range", &body, Duration::from_secs(5)).await {
                Ok((200, v)) => return parse_etcd_range(&v),
                Ok((s, v)) => last = Some(anyhow::anyhow!("{addr}: HTTP {s}: {v}")),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no etcd endpoint")))
    }
}

pub fn parse_etcd_range(v: &serde_json::Value) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    if let Some(kvs) = v["kvs"].as_array() {
        for kv in kvs {
            let raw = kv["value"].as_str().context("kv without value")?;
            let bytes = B64.decode(raw).context("bad base64 value")?;
            let s = String::from_utf8(bytes).context("non-UTF-8 value")?;
            out.push(
                s.parse()
                    .with_context(|| format!("non-numeric value {s:?}"))?,
            );
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- PostgreSQL

pub struct PgWriter {
    run: String,
    client: Option<tokio_postgres::Client>,
    node: Option<String>,
}

const PG_TIMEOUT: Duration = Duration::from_secs(2);

pub fn pg_conn_string() -> String {
    let hosts: Vec<String> = (0..NODES)
        .map(|i| Proc::new(ProcKind::Patroni, i).ip().to_string())
        .collect();
    format!(
        "host={} port={PG_PORT} user=postgres dbname=postgres target_session_attrs=read-write connect_timeout=1",
        hosts.join(",")
    )
}

async fn pg_connect() -> Result<(tokio_postgres::Client, Option<String>)> {
    let (client, conn) = tokio_postgres::connect(&pg_conn_string(), tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let row = client
        .query_one("SELECT host(inet_server_addr())", &[])
        .await?;
    let ip: String = row.try_get(0).unwrap_or_default();
    let node = (0..NODES)
        .map(|i| Proc::new(ProcKind::Patroni, i))
        .find(|p| p.ip().to_string() == ip)
        .map(|p| p.name());
    Ok((client, node))
}

impl PgWriter {
    pub fn new(run: &str) -> Self {
        Self {
            run: run.to_string(),
            client: None,
            node: None,
        }
    }

    async fn setup(&mut self) -> Result<()> {
        let (c, _) = pg_connect()
            .await
            .context("connecting to the PostgreSQL primary")?;
        // No unique key on purpose: a duplicated write must show up as a duplicate row.
        c.batch_execute(
            "CREATE TABLE IF NOT EXISTS lab_drill (run text NOT NULL, seq bigint NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
             CREATE INDEX IF NOT EXISTS lab_drill_run ON lab_drill (run);",
        )
        .await?;
        Ok(())
    }

    async fn write(&mut self, seq: u64) -> (Outcome, Option<String>) {
        let fut = async {
            if self.client.as_ref().is_none_or(|c| c.is_closed()) {
                self.client = None;
                let (c, node) = pg_connect().await.map_err(|_| Outcome::Refused)?;
                self.client = Some(c);
                self.node = node;
            }
            let Some(c) = self.client.as_ref() else {
                return Err(Outcome::Refused);
            };
            let seq = i64::try_from(seq).map_err(|_| Outcome::Refused)?;
            match c
                .execute(
                    "INSERT INTO lab_drill (run, seq) VALUES ($1, $2)",
                    &[&self.run, &seq],
                )
                .await
            {
                Ok(_) => Ok(()),
                // A server error (e.g. read-only after demotion) means the row was not inserted;
                // a broken connection leaves the commit's fate unknown.
                Err(e) if e.as_db_error().is_some() => Err(Outcome::Error),
                Err(_) => Err(Outcome::Unknown),
            }
        };
        let r = tokio::time::timeout(PG_TIMEOUT, fut).await;
        let outcome = match r {
            Ok(Ok(())) => Outcome::Ok,
            Ok(Err(o)) => o,
            Err(_) => Outcome::Unknown,
        };
        if outcome != Outcome::Ok {
            self.client = None;
        }
        (outcome, self.node.clone())
    }

    async fn read_back(&mut self) -> Result<Vec<u64>> {
        let (c, _) = pg_connect()
            .await
            .context("connecting to the new primary for read-back")?;
        let rows = c
            .query("SELECT seq FROM lab_drill WHERE run = $1", &[&self.run])
            .await?;
        rows.iter()
            .map(|r| Ok(u64::try_from(r.try_get::<_, i64>(0)?)?))
            .collect()
    }
}

// ---------------------------------------------------------------- Redis

pub struct RedisWriter {
    key: String,
    sentinel: redis::sentinel::SentinelClient,
    con: Option<redis::aio::MultiplexedConnection>,
    node: Option<String>,
    wait_replicas: u32,
    wait_timeout_ms: u32,
}

const REDIS_TIMEOUT: Duration = Duration::from_millis(1000);

pub fn sentinel_urls() -> Vec<String> {
    (0..NODES)
        .map(|i| {
            format!(
                "redis://{}/",
                Proc::new(ProcKind::Sentinel, i).addr(SENTINEL_PORT)
            )
        })
        .collect()
}

impl RedisWriter {
    pub fn new(run: &str, s: &RedisSettings) -> Result<Self> {
        let sentinel = redis::sentinel::SentinelClient::build(
            sentinel_urls(),
            REDIS_MASTER_NAME.to_string(),
            None,
            redis::sentinel::SentinelServerType::Master,
        )?;
        Ok(Self {
            key: format!("datalyptica-drill:{run}"),
            sentinel,
            con: None,
            node: None,
            wait_replicas: s.wait_replicas,
            wait_timeout_ms: s.wait_timeout_ms,
        })
    }

    async fn connect(&mut self) -> Result<redis::aio::MultiplexedConnection> {
        // Asks the Sentinels for the master, then checks that node calls itself master.
        let client = self.sentinel.async_get_client().await?;
        let addr = client.get_connection_info().addr().to_string();
        self.node = crate::health::redis_node_name(&addr).or(Some(addr));
        Ok(client
            .get_multiplexed_async_connection_with_config(&crate::health::redis_config(
                REDIS_TIMEOUT,
            ))
            .await?)
    }

    async fn write(&mut self, seq: u64) -> (Outcome, Option<String>) {
        let fut = async {
            let mut con = match self.con.take() {
                Some(c) => c,
                None => self.connect().await.map_err(|_| Outcome::Refused)?,
            };
            let r: redis::RedisResult<i64> = redis::cmd("RPUSH")
                .arg(&self.key)
                .arg(seq)
                .query_async(&mut con)
                .await;
            match r {
                Ok(_) => {}
                // NOREPLICAS / READONLY etc.: the server refused the write.
                Err(e)
                    if e.kind() != redis::ErrorKind::Io
                        && !e.is_timeout()
                        && !e.is_connection_dropped() =>
                {
                    return Err(Outcome::Error);
                }
                Err(_) => return Err(Outcome::Unknown),
            }
            if self.wait_replicas > 0 {
                let n: redis::RedisResult<i64> = redis::cmd("WAIT")
                    .arg(self.wait_replicas)
                    .arg(self.wait_timeout_ms)
                    .query_async(&mut con)
                    .await;
                match n {
                    Ok(n) if n >= i64::from(self.wait_replicas) => {}
                    // Applied on the master but not confirmed by a replica: not acknowledged.
                    // Dropping the connection makes the next attempt ask the Sentinels again.
                    Ok(_) => return Err(Outcome::Unknown),
                    Err(_) => return Err(Outcome::Unknown),
                }
            }
            self.con = Some(con);
            Ok(())
        };
        let outcome = match tokio::time::timeout(REDIS_TIMEOUT * 2, fut).await {
            Ok(Ok(())) => Outcome::Ok,
            Ok(Err(o)) => o,
            Err(_) => Outcome::Unknown,
        };
        if outcome != Outcome::Ok {
            // Rediscover: the master may have moved.
            self.con = None;
        }
        (outcome, self.node.clone())
    }

    async fn read_back(&mut self) -> Result<Vec<u64>> {
        let mut con = self
            .connect()
            .await
            .context("connecting to the Redis master for read-back")?;
        let v: Vec<u64> = redis::cmd("LRANGE")
            .arg(&self.key)
            .arg(0)
            .arg(-1)
            .query_async(&mut con)
            .await?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_keys_and_ranges() {
        assert_eq!(etcd_key("/p/", 42), "/p/000000000042");
        assert_eq!(prefix_end("/p/"), b"/p0".to_vec());
        let v = serde_json::json!({"kvs": [{"key": B64.encode("/p/1"), "value": B64.encode("7")}], "count": "1"});
        assert_eq!(parse_etcd_range(&v).unwrap(), vec![7]);
        assert_eq!(
            parse_etcd_range(&serde_json::json!({"count": "0"})).unwrap(),
            Vec::<u64>::new()
        );
        let bad = serde_json::json!({"kvs": [{"value": "!!"}]});
        assert!(parse_etcd_range(&bad).is_err());
    }

    #[test]
    fn conn_string_is_multi_host_read_write() {
        let s = pg_conn_string();
        assert!(s.contains("host=127.0.0.21,127.0.0.22,127.0.0.23"));
        assert!(s.contains("target_session_attrs=read-write"));
    }
}
