//! `render --gitops argocd` on a REAL control plane (the sandbox): the Applications' sources,
//! built by real kustomize from the written tree and applied server-side wave by wave as Argo CD
//! syncs them, reach the state `deploy` reaches: a deploy run afterwards finds every object
//! there and changes none of them.
//!
//! Stand-ins, named: Argo CD itself (this test applies each Application's `kustomize build`
//! with Argo CD's field manager and waits between waves for the unit's gates, which
//! tests/gitops_health.rs shows mean the same as the Lua health checks); the sealed-secrets
//! controller and the user's secret-sync tool (the test creates the Secrets the gitops README
//! lists as prerequisites); OLM and the operators (the sandbox's, as for every sandbox test).
//! Needs the sandbox binaries and kustomize (`.ci/install-kustomize.sh`, `$DATALYPTICA_KUSTOMIZE`).

use crate::common;
use common::{key, live};
#[path = "../../../platform/tests/it/kustomize/mod.rs"]
mod kustomize;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use datalyptica_cluster::api::{ApiError, ClusterApi, KubeApi, TypeRef};
use datalyptica_cluster::certs::Ca;
use datalyptica_cluster::deploy::{DeployOptions, Event, deploy};
use datalyptica_cluster::gates::{self, GateState};
use datalyptica_cluster::plan::Plan;
use datalyptica_cluster::secrets;
use datalyptica_platform::Platform;
use datalyptica_platform::gitops::{self, Engine};
use datalyptica_platform::model::Model;
use datalyptica_platform::security::SecretSource;
use datalyptica_platform::spec::SecretsMode;
use serde_json::Value;

/// The field manager Argo CD applies with (`argocd-controller`, its server-side apply manager).
const ARGO_MANAGER: &str = "argocd-controller";
/// How long one wave may take to apply and become healthy.
const WAVE_TIMEOUT: Duration = Duration::from_secs(180);
const POLL: Duration = Duration::from_millis(300);

/// Argo CD's sync of one Application: every object applied server-side; what fails (a CR whose
/// CRD is not established yet) is retried until the wave's deadline, as its sync retry does.
async fn sync(api: &KubeApi, app: &str, objects: &[Value], deadline: Instant) {
    let mut pending: Vec<&Value> = objects.iter().collect();
    loop {
        let mut failed = Vec::new();
        for o in pending {
            match api.apply_as(o, ARGO_MANAGER).await {
                Ok(_) => {}
                Err(e @ (ApiError::UnknownKind(_) | ApiError::Transient { .. })) => {
                    failed.push((o, e.to_string()))
                }
                Err(e) => panic!("{app}: the API server refused {:?}: {e}", key(o)),
            }
        }
        if failed.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{app}: still failing at the deadline: {:?}",
            failed.iter().map(|(o, e)| (key(o), e)).collect::<Vec<_>>()
        );
        pending = failed.into_iter().map(|(o, _)| o).collect();
        tokio::time::sleep(POLL).await;
    }
}

/// Why `unit` is not healthy yet (None: healthy): its gates, or for the prerequisites the
/// Subscriptions' CSVs, judged as deploy judges them.
async fn unhealthy(api: &KubeApi, unit: &gitops::Unit) -> Option<String> {
    for o in unit.objects.iter().filter(|o| o["kind"] == "Subscription") {
        let sub = live(api, o).await?;
        let csv = match gates::subscription_csv(&sub) {
            Ok(c) => c,
            Err(why) => return Some(why),
        };
        let t = TypeRef::new("operators.coreos.com/v1alpha1", "ClusterServiceVersion");
        let ns = sub["metadata"]["namespace"].as_str().unwrap_or_default();
        let state = api
            .get(&t, Some(ns), &csv)
            .await
            .ok()
            .flatten()
            .map(|c| gates::csv(&c));
        if !matches!(state, Some(GateState::Ready(_))) {
            return Some(format!("CSV {csv}: {state:?}"));
        }
    }
    for gate in &unit.gates {
        let name = &gate.name;
        let obj = match api
            .get(&gates::type_ref(gate.kind), Some(&gate.namespace), name)
            .await
        {
            Ok(o) => o,
            Err(e) => return Some(e.to_string()),
        };
        let sel = gates::pod_selector(gate.kind, name, obj.as_ref());
        let pods = datalyptica_cluster::api::pods_matching(api, &gate.namespace, &sel).await;
        match gates::evaluate(gate, obj.as_ref(), &pods) {
            GateState::Ready(_) => {}
            GateState::Failed(why) => panic!("{} {}: failed: {why}", gate.kind, name),
            GateState::Waiting(why) => return Some(format!("{} {name}: {why}", gate.kind)),
        }
    }
    None
}

async fn create_secret(api: &KubeApi, s: &Value) {
    let t = TypeRef::of(s);
    let (_, _, ns, name) = key(s);
    if api.get(&t, Some(&ns), &name).await.expect("get").is_none() {
        api.create(s).await.expect("create secret");
    }
}

/// The Secrets the gitops README makes the user's job, as they would exist before a unit syncs:
/// platform and user Secrets (a SealedSecret each: the sealed-secrets controller's STAND-IN),
/// certificates from a private CA (what the user issues), and copies of operators' Secrets
/// whose source exists by now (the user's secret-sync tool: STAND-IN).
async fn provide_secrets(api: &KubeApi, plan: &Plan, keys: &secrets::ObjectStoreKeys) {
    let mut cas: BTreeMap<(String, String), Ca> = BTreeMap::new();
    let now = time::OffsetDateTime::now_utc();
    for e in plan.components().flat_map(|c| &c.secrets) {
        let ns = e.namespace.as_str();
        match &e.source {
            SecretSource::Platform | SecretSource::User(_) => {
                let data =
                    secrets::generated_data(e, &plan.object_store_secret, keys).expect("values");
                create_secret(
                    api,
                    &secrets::secret_object(ns, &e.name, &plan.platform, data),
                )
                .await;
            }
            SecretSource::Issued { ca, request } => {
                let ca = cas.entry((ns.to_string(), ca.clone())).or_insert_with(|| {
                    Ca::new(&datalyptica_cluster::certs::ca_common_name(ns, ca), now).expect("CA")
                });
                let leaf = ca.leaf_data(request, now).expect("leaf");
                create_secret(
                    api,
                    &secrets::secret_object(ns, &e.name, &plan.platform, leaf),
                )
                .await;
            }
            SecretSource::Copy { namespace, name } => {
                let t = TypeRef::new("v1", "Secret");
                if let Some(src) = api.get(&t, Some(namespace), name).await.expect("get") {
                    let data = secrets::copied_data(&src, &e.keys);
                    create_secret(
                        api,
                        &secrets::copy_object(data, ns, &e.name, &plan.platform),
                    )
                    .await;
                }
            }
            SecretSource::Created(_) => {}
        }
    }
}

/// The live object without what the server keeps changing on its own.
fn state(mut o: Value) -> Value {
    if let Some(m) = o["metadata"].as_object_mut() {
        for k in ["managedFields", "resourceVersion"] {
            m.remove(k);
        }
    }
    if let Some(m) = o.as_object_mut() {
        m.remove("status");
    }
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argocd_waves_reach_the_state_deploy_reaches() {
    let Some(kustomize) = kustomize::find() else {
        return;
    };
    let Some(sb) = common::start("gitops-waves", 10, 3).await else {
        return;
    };
    let api = sb.api().await.expect("api");
    let mut p = Platform::default_ha();
    p.spec.secrets.mode = SecretsMode::SealedSecrets;
    let opts = gitops::Options {
        engine: Engine::ArgoCd,
        repo: "https://git.example.com/lake.git".into(),
        revision: "main".into(),
        path: "tree".into(),
    };
    let tree = gitops::render(&p, &opts).expect("render --gitops");
    let repo = std::env::temp_dir().join(format!("datalyptica-gitops-sync-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&repo);
    kustomize::write(&tree, &repo.join("tree"));
    let m = Model::new(&p);
    let units = gitops::units(&m, &datalyptica_platform::render(&p)).expect("units");
    let plan = common::plan_of(&p);

    // The root Application's children, in sync-wave order (Argo CD: by wave, then by name).
    let apps: Vec<Value> = tree
        .objects()
        .filter(|(_, o)| {
            o["kind"] == "Application"
                && o["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"].is_string()
        })
        .map(|(_, o)| o.clone())
        .collect();
    let wave = |a: &Value| -> i64 {
        a["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
            .as_str()
            .and_then(|w| w.parse().ok())
            .expect("numeric sync-wave")
    };
    let mut waves: BTreeMap<i64, Vec<&Value>> = BTreeMap::new();
    for a in &apps {
        waves.entry(wave(a)).or_default().push(a);
    }
    assert_eq!(apps.len(), units.len(), "one Application per unit");

    let keys = secrets::ObjectStoreKeys::generate().expect("keys");
    let mut synced: Vec<Value> = Vec::new();
    for (w, apps) in &waves {
        let deadline = Instant::now() + WAVE_TIMEOUT;
        let mut in_wave = Vec::new();
        for app in apps {
            let path = app["spec"]["source"]["path"].as_str().expect("source.path");
            let unit = units
                .iter()
                .find(|u| opts.repo_path(&u.dir) == path)
                .unwrap_or_else(|| panic!("no unit for {path}"));
            assert_eq!(unit.wave as i64, *w, "{path}");
            let objects = kustomize::build(&kustomize, &repo.join(path));
            // What Argo CD syncs is what the unit says deploy applies, in the same order.
            assert_eq!(
                objects.iter().map(key).collect::<Vec<_>>(),
                unit.objects.iter().map(key).collect::<Vec<_>>(),
                "{path}"
            );
            for (o, u) in objects.iter().zip(&unit.objects) {
                if let Some(d) = kustomize::first_difference(o, u, String::new()) {
                    panic!("{path}: kustomize built {:?} unlike the plan: {d}", key(o));
                }
            }
            if unit.component.is_some() {
                provide_secrets(&api, &plan, &keys).await;
            }
            sync(&api, &unit.name, &objects, deadline).await;
            synced.extend(objects);
            in_wave.push(unit);
        }
        // The next wave starts when every Application of this one is healthy.
        for unit in in_wave {
            let mut why = unhealthy(&api, unit).await;
            while let Some(w) = &why {
                assert!(
                    Instant::now() < deadline,
                    "unit {} not healthy in time: {w}",
                    unit.name
                );
                tokio::time::sleep(POLL).await;
                why = unhealthy(&api, unit).await;
            }
        }
        if *w == 0 {
            // Namespaces exist now: the sealed Secrets can be unsealed into them.
            provide_secrets(&api, &plan, &keys).await;
        }
    }

    // Every object deploy applies is in the cluster, synced by the GitOps units.
    let applied = common::applied_objects(&plan);
    let synced_keys: BTreeSet<_> = synced.iter().map(key).collect();
    let mut before = BTreeMap::new();
    for o in &applied {
        assert!(
            synced_keys.contains(&key(o)),
            "deploy applies {:?}, no Application syncs it",
            key(o)
        );
        let l = live(&api, o)
            .await
            .unwrap_or_else(|| panic!("{:?} synced but absent", key(o)));
        before.insert(key(o), state(l));
    }

    // deploy's field manager can apply every object over Argo CD's without a conflict: a
    // conflict means the rendering differs from what the server made of it (a zero value the
    // server drops, a default it fills into an atomic struct), which a second applier trips on.
    let mut conflicts = Vec::new();
    for o in &applied {
        let dry = datalyptica_cluster::api::ApplyOptions {
            dry_run: true,
            force: false,
        };
        if let Err(e) = api.apply(o, dry).await {
            conflicts.push(format!("{:?}: {e}", key(o)));
        }
    }
    assert!(conflicts.is_empty(), "{}", conflicts.join("\n"));

    // deploy on the GitOps-built cluster: it passes every gate and changes nothing.
    let events = std::sync::Mutex::new(Vec::new());
    let r = deploy(
        &api,
        &plan,
        &DeployOptions {
            poll: Duration::from_millis(200),
            timeout: Some(Duration::from_secs(120)),
            ..Default::default()
        },
        &|e: &Event| events.lock().expect("lock").push(e.clone()),
    )
    .await;
    let events = events.into_inner().expect("lock");
    assert!(
        r.result.is_ok(),
        "deploy after the GitOps sync failed: {:?}\nlast: {:?}",
        r.result.err().map(|e| e.to_string()),
        events.last()
    );
    let mut changed = Vec::new();
    for o in &applied {
        let after = state(live(&api, o).await.expect("still there"));
        if before.get(&key(o)) != Some(&after) {
            changed.push(key(o));
        }
    }
    assert!(
        changed.is_empty(),
        "deploy changed what the GitOps sync had applied: {changed:?}"
    );
    // Nothing generated in sealed-secrets mode: every Secret was already there.
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Secret { action, .. } if action.contains("generated"))),
        "deploy generated a Secret"
    );
    eprintln!(
        "{} Applications in {} waves synced {} objects; deploy afterwards changed none",
        apps.len(),
        waves.len(),
        synced.len()
    );
    let _ = std::fs::remove_dir_all(&repo);
}
