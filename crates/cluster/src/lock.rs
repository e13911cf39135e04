//! One deploy or destroy at a time: a `coordination.k8s.io/v1` Lease in the operators namespace,
//! next to the progress record, taken before the first write and renewed while the run lasts.
//!
//! Taking it is exclusive through the API server alone: a create when there is none (the loser
//! of a race gets AlreadyExists), otherwise a server-side apply that carries the resourceVersion
//! it read (the loser gets a conflict). A holder that crashed stops renewing; its lease is
//! free once `renewTime + leaseDurationSeconds` has passed, judged on this machine's clock (so
//! hosts whose clocks differ by more than a few seconds can take over early or late, as with
//! client-go's leader election). Releasing clears the holder, as client-go does on cancel.

use std::future::Future;
use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::api::{ApiError, ApplyOptions, ClusterApi, TypeRef};

pub const LEASE_NAME: &str = "datalyptica-lock";
/// Long enough to outlast a slow API call between renewals, short enough that a crashed run
/// blocks the next one for about a minute.
pub const LEASE_DURATION: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    #[error(
        "another run holds the lock: {holder}, since {since}, last renewed {renewed} \
         (Lease {LEASE_NAME} -n {namespace}; it expires {expires_in_s} s after its last renewal \
         if that run died; rerun with --wait to queue behind it)"
    )]
    Held {
        holder: String,
        namespace: String,
        since: String,
        renewed: String,
        expires_in_s: u64,
    },
    #[error("lost the lock to {0}: this run stopped renewing it for longer than it lasts")]
    Lost(String),
    #[error("{0}")]
    Api(#[from] ApiError),
}

/// Who is running: shown to whoever finds the lock taken.
pub fn identity(command: &str) -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into());
    format!("{command} by {user}@{host} (pid {})", std::process::id())
}

fn now() -> String {
    micro_time(OffsetDateTime::now_utc())
}

/// Lease times are MicroTime, which the API server parses with Go's RFC3339Micro layout:
/// exactly six fractional digits, in UTC.
fn micro_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

fn parse(t: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(t, &Rfc3339).ok()
}

/// The lease's holder, when it still holds it at `at`.
fn live_holder(lease: &Value, at: OffsetDateTime) -> Option<String> {
    let spec = &lease["spec"];
    let holder = spec["holderIdentity"].as_str().filter(|h| !h.is_empty())?;
    let renewed = spec["renewTime"]
        .as_str()
        .or(spec["acquireTime"].as_str())
        .and_then(parse)?;
    let secs = spec["leaseDurationSeconds"].as_i64().unwrap_or(0);
    (renewed + time::Duration::seconds(secs) > at).then(|| holder.to_string())
}

/// A held lock; renew it within its duration (see [`Lock::hold`]) and release it at the end.
#[derive(Debug)]
pub struct Lock {
    namespace: String,
    identity: String,
    duration: Duration,
    resource_version: String,
    transitions: i64,
    acquired: String,
}

/// Every writer of the lease takes its fields: the resourceVersion precondition, not field
/// ownership, is what makes a write exclusive (and a create leaves them to another manager).
const FORCE: ApplyOptions = ApplyOptions {
    dry_run: false,
    force: true,
};

fn lease_t() -> TypeRef {
    TypeRef::new("coordination.k8s.io/v1", "Lease")
}

impl Lock {
    /// Takes the lock, or says who holds it. With `wait`, polls every `poll` until it is free.
    pub async fn acquire<A: ClusterApi>(
        api: &A,
        namespace: &str,
        identity: &str,
        duration: Duration,
        wait: Option<Duration>,
        on_wait: &dyn Fn(&LockError),
    ) -> Result<Lock, LockError> {
        ensure_namespace(api, namespace).await?;
        let mut told = String::new();
        loop {
            match Self::try_acquire(api, namespace, identity, duration).await? {
                Ok(lock) => return Ok(lock),
                Err(held) => match wait {
                    None => return Err(held),
                    Some(poll) => {
                        // Said once per holder, not every poll.
                        if let LockError::Held { holder, .. } = &held
                            && *holder != told
                        {
                            on_wait(&held);
                            told = holder.clone();
                        }
                        tokio::time::sleep(poll).await;
                    }
                },
            }
        }
    }

    async fn try_acquire<A: ClusterApi>(
        api: &A,
        namespace: &str,
        identity: &str,
        duration: Duration,
    ) -> Result<Result<Lock, LockError>, LockError> {
        let at = now();
        let spec = |transitions: i64| {
            json!({"holderIdentity": identity, "leaseDurationSeconds": duration.as_secs(),
                "acquireTime": at, "renewTime": at, "leaseTransitions": transitions})
        };
        let live = api.get(&lease_t(), Some(namespace), LEASE_NAME).await?;
        let Some(live) = live else {
            let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": LEASE_NAME, "namespace": namespace,
                    "labels": {"app.kubernetes.io/managed-by": "datalyptica"}},
                "spec": spec(0)});
            return match api.create(&lease).await {
                Ok(o) => Ok(Ok(Lock::from_lease(&o, namespace, identity, duration))),
                // Someone created it between our read and our create: read it again.
                Err(ApiError::Exists(_)) => {
                    Box::pin(Self::try_acquire(api, namespace, identity, duration)).await
                }
                Err(e) => Err(e.into()),
            };
        };
        let now_t = OffsetDateTime::now_utc();
        if let Some(holder) = live_holder(&live, now_t) {
            let s = &live["spec"];
            let renewed = s["renewTime"].as_str().and_then(parse).unwrap_or(now_t);
            let expires = renewed
                + time::Duration::seconds(s["leaseDurationSeconds"].as_i64().unwrap_or(0))
                - now_t;
            return Ok(Err(LockError::Held {
                holder,
                namespace: namespace.into(),
                since: s["acquireTime"].as_str().unwrap_or("?").into(),
                renewed: s["renewTime"].as_str().unwrap_or("?").into(),
                expires_in_s: expires.whole_seconds().max(0) as u64,
            }));
        }
        // Free (released, or its holder stopped renewing): take it over, on the condition that
        // nobody else did since we read it.
        let transitions = live["spec"]["leaseTransitions"].as_i64().unwrap_or(0) + 1;
        let taken = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": LEASE_NAME, "namespace": namespace,
                "resourceVersion": live["metadata"]["resourceVersion"]},
            "spec": spec(transitions)});
        match api.apply(&taken, FORCE).await {
            Ok(o) => Ok(Ok(Lock::from_lease(&o, namespace, identity, duration))),
            Err(ApiError::Stale(_)) => {
                Box::pin(Self::try_acquire(api, namespace, identity, duration)).await
            }
            Err(e) => Err(e.into()),
        }
    }

    fn from_lease(o: &Value, namespace: &str, identity: &str, duration: Duration) -> Lock {
        Lock {
            namespace: namespace.into(),
            identity: identity.into(),
            duration,
            resource_version: o["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default()
                .into(),
            transitions: o["spec"]["leaseTransitions"].as_i64().unwrap_or(0),
            acquired: o["spec"]["acquireTime"].as_str().unwrap_or_default().into(),
        }
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// How many times the lease changed hands before this holder took it.
    pub fn transitions(&self) -> i64 {
        self.transitions
    }

    /// Moves renewTime forward, on the condition that the lease is still the one we wrote.
    pub async fn renew<A: ClusterApi>(&mut self, api: &A) -> Result<(), LockError> {
        self.write(api, &self.identity.clone(), self.duration).await
    }

    async fn write<A: ClusterApi>(
        &mut self,
        api: &A,
        holder: &str,
        duration: Duration,
    ) -> Result<(), LockError> {
        let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": LEASE_NAME, "namespace": self.namespace,
                "resourceVersion": self.resource_version},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration.as_secs(),
                "acquireTime": self.acquired, "renewTime": now(),
                "leaseTransitions": self.transitions}});
        match api.apply(&lease, FORCE).await {
            Ok(o) => {
                self.resource_version = o["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
                    .into();
                Ok(())
            }
            Err(ApiError::Stale(_)) => {
                let now_holder = api
                    .get(&lease_t(), Some(&self.namespace), LEASE_NAME)
                    .await?
                    .and_then(|l| l["spec"]["holderIdentity"].as_str().map(String::from))
                    .unwrap_or_else(|| "nobody (the lease is gone)".into());
                Err(LockError::Lost(now_holder))
            }
            // Destroy deleted the namespace, and the lease with it: nothing left to hold.
            Err(ApiError::NotFound(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Runs `work` while renewing the lease every third of its duration. A renewal that fails
    /// transiently is tried again at the next tick; losing the lease stops the work.
    pub async fn hold<A: ClusterApi, T>(
        &mut self,
        api: &A,
        work: impl Future<Output = T>,
    ) -> Result<T, LockError> {
        let every = self.duration / 3;
        tokio::pin!(work);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                r = &mut work => return Ok(r),
                _ = tick.tick() => match self.renew(api).await {
                    Ok(()) => {}
                    Err(LockError::Api(e)) if e.is_transient() => {}
                    Err(e) => return Err(e),
                },
            }
        }
    }

    /// Frees the lock for the next run (it stays as a record of the last holder).
    pub async fn release<A: ClusterApi>(mut self, api: &A) -> Result<(), LockError> {
        self.write(api, "", Duration::from_secs(1)).await
    }
}

async fn ensure_namespace<A: ClusterApi>(api: &A, ns: &str) -> Result<(), ApiError> {
    let t = TypeRef::new("v1", "Namespace");
    if api.get(&t, None, ns).await?.is_none() {
        // The deploy applies the plan's own Namespace object over this one later.
        let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        match api.create(&obj).await {
            Ok(_) | Err(ApiError::Exists(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: &str, renewed: &str, secs: i64) -> Value {
        json!({"spec": {"holderIdentity": holder, "renewTime": renewed,
            "acquireTime": "2026-12-05T08:00:00.000000Z", "leaseDurationSeconds": secs}})
    }

    #[test]
    fn a_lease_is_held_until_its_duration_after_the_last_renewal() {
        let at = |s: &str| parse(s).expect("time");
        let l = lease("deploy by a@b (pid 1)", "2026-12-05T08:00:10.500000Z", 60);
        assert_eq!(
            live_holder(&l, at("2026-12-05T08:01:10.499999Z")).as_deref(),
            Some("deploy by a@b (pid 1)")
        );
        assert_eq!(live_holder(&l, at("2026-12-05T08:01:10.500000Z")), None);
    }

    #[test]
    fn a_released_or_malformed_lease_is_free() {
        let at = parse("2026-12-05T08:00:11Z").expect("time");
        assert_eq!(
            live_holder(&lease("", "2026-12-05T08:00:10Z", 60), at),
            None
        );
        assert_eq!(
            live_holder(&lease("x", "not a time", 60), at),
            None,
            "an unreadable renewTime must not lock everyone out forever"
        );
    }

    #[test]
    fn times_are_micro_times() {
        let t = parse("2026-12-05T08:00:10.5+01:00").expect("time");
        assert_eq!(micro_time(t), "2026-12-05T07:00:10.500000Z");
        assert!(parse(&now()).is_some());
    }
}
