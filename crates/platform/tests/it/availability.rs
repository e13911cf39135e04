//! Properties of the availability model: more replicas never lower availability, a longer
//! recovery time never raises it — for the closed forms, for tiers, and for the platform's
//! components as they declare themselves from a spec.

use std::time::Duration;

use datalyptica_platform::availability::{
    Drill, Failover, Rates, Recovery, Tier, evaluate, evaluate_component, evaluate_tier, math,
};
use datalyptica_platform::component::ComponentId;
use datalyptica_platform::components;
use datalyptica_platform::model::Model;
use datalyptica_platform::spec::{Platform, SloSpec};
use proptest::prelude::*;

fn rates_strategy() -> impl Strategy<Value = Rates> {
    // MTBF from a day to ten years, repairs from a minute to (less than) the MTBF.
    (24u64..87_600, 1u64..3600, 1u64..3600, 0u32..60, 1u32..5).prop_map(
        |(mtbf_h, repair_min, resched_s, drains, zones)| Rates {
            node_mtbf: Duration::from_secs(mtbf_h * 3600),
            node_repair: Duration::from_secs(repair_min * 60)
                .min(Duration::from_secs(mtbf_h * 1800)),
            pod_reschedule: Duration::from_secs(resched_s),
            pod_restart: Duration::from_secs(60),
            drains_per_year: drains,
            zones,
        },
    )
}

fn failover(unplanned_s: u64, planned_s: u64) -> Failover {
    Failover {
        active: 1,
        unplanned: Duration::from_secs(unplanned_s),
        planned: Duration::from_secs(planned_s),
        source: String::new(),
    }
}

proptest! {
    #[test]
    fn k_of_n_never_drops_with_another_member(k in 0u32..8, n in 1u32..12, a in 0.0f64..=1.0) {
        prop_assert!(math::k_of_n(k, n + 1, a) >= math::k_of_n(k, n, a) - 1e-12);
    }

    #[test]
    fn a_majority_quorum_gains_from_two_more_members(m in 0u32..6, a in 0.5f64..=1.0) {
        let n = 2 * m + 1;
        let small = math::k_of_n(n / 2 + 1, n, a);
        let big = math::k_of_n((n + 2) / 2 + 1, n + 2, a);
        prop_assert!(big >= small - 1e-12, "{n}: {small} > {big}");
    }

    #[test]
    fn a_tier_never_drops_with_another_member(
        rates in rates_strategy(),
        needed in 1u32..4,
        extra in 0u32..4,
        stateful in any::<bool>(),
        with_pdb in any::<bool>(),
        fo in proptest::option::of((0u64..300, 0u64..60)),
    ) {
        let recovery = if stateful { Recovery::NodeRepair } else { Recovery::Reschedule };
        let tier = |n: u32| {
            let mut t = Tier::new("t", n, needed, recovery, "");
            if with_pdb {
                t = t.with_max_unavailable(1);
            }
            if let Some((u, p)) = fo {
                t = t.with_failover(failover(u, p));
            }
            t
        };
        let n = needed + extra;
        let a = evaluate_tier(&tier(n), &rates).availability;
        let b = evaluate_tier(&tier(n + 1), &rates).availability;
        prop_assert!(b >= a - 1e-12, "n={n}: {a} > {b}");
    }

    #[test]
    fn a_longer_failover_never_raises_a_tier(
        rates in rates_strategy(),
        n in 2u32..6,
        unplanned in 0u64..600,
        planned in 0u64..120,
        more in 1u64..600,
    ) {
        let t = |u: u64, p: u64| Tier::new("t", n, 1, Recovery::NodeRepair, "").with_failover(failover(u, p));
        let base = evaluate_tier(&t(unplanned, planned), &rates).availability;
        prop_assert!(evaluate_tier(&t(unplanned + more, planned), &rates).availability <= base + 1e-15);
        prop_assert!(evaluate_tier(&t(unplanned, planned + more), &rates).availability <= base + 1e-15);
    }

    /// Components whose `replicas` are interchangeable members; quorum components step by two
    /// to stay odd. Not Kafka brokers and MinIO servers: with a fixed replication factor or
    /// parity, another broker or server does not raise the losses tolerated, so it only adds
    /// chances of a fatal combination — the model says so, and validation keeps those fixed.
    #[test]
    fn more_replicas_never_lower_a_component(
        rates in rates_strategy(),
        replicas in 1u32..6,
        which in 0usize..10,
    ) {
        let ids = [
            ComponentId::Postgresql, ComponentId::Redis, ComponentId::Etcd, ComponentId::Nessie,
            ComponentId::Flink, ComponentId::Trino, ComponentId::Spark, ComponentId::Clickhouse,
            ComponentId::Airflow, ComponentId::Superset,
        ];
        let id = ids[which];
        let c = components::by_name(id.name()).expect("registered");
        let step = if c.quorum() { 2 } else { 1 };
        let replicas = if c.quorum() { replicas | 1 } else { replicas };
        let availability = |n: u32| {
            let mut p = Platform::default_ha();
            set_replicas(&mut p, id, n);
            let m = Model::new(&p);
            evaluate_component(&m, c, &rates, &[]).availability
        };
        let (a, b) = (availability(replicas), availability(replicas + step));
        prop_assert!(b >= a - 1e-12, "{id} {replicas} → {}: {a} > {b}", replicas + step);
    }

    #[test]
    fn a_longer_rto_never_raises_a_component(
        rates in rates_strategy(),
        rto_s in 20u64..600,
        more in 1u64..600,
        which in 0usize..2,
    ) {
        let id = [ComponentId::Postgresql, ComponentId::Redis][which];
        let c = components::by_name(id.name()).expect("registered");
        let availability = |rto: u64| {
            let mut p = Platform::default_ha();
            let slo = Some(SloSpec { rto: Some(format!("{rto}s")), ..Default::default() });
            match id {
                ComponentId::Postgresql => p.spec.components.postgresql.slo = slo,
                _ => p.spec.components.redis.slo = slo,
            }
            let m = Model::new(&p);
            evaluate_component(&m, c, &rates, &[]).availability
        };
        prop_assert!(availability(rto_s + more) <= availability(rto_s) + 1e-15);
    }

    #[test]
    fn a_slower_drill_never_raises_a_component(
        p95 in 0.0f64..600.0,
        more in 0.001f64..600.0,
        fault in prop_oneof![Just("kill-primary"), Just("stop-primary"), Just("freeze-primary")],
        which in 0usize..3,
    ) {
        let id = [ComponentId::Postgresql, ComponentId::Redis, ComponentId::Etcd][which];
        let p = Platform::default_ha();
        let m = Model::new(&p);
        let c = components::by_name(id.name()).expect("registered");
        let drill = |s: f64| Drill {
            component: id,
            fault: fault.to_string(),
            p95: Duration::from_secs_f64(s),
            trials: 3,
            file: "x.json".into(),
        };
        let a = evaluate_component(&m, c, &Rates::DEFAULT, &[drill(p95)]).availability;
        let b = evaluate_component(&m, c, &Rates::DEFAULT, &[drill(p95 + more)]).availability;
        prop_assert!(b <= a + 1e-15);
    }
}

fn set_replicas(p: &mut Platform, id: ComponentId, n: u32) {
    let c = &mut p.spec.components;
    let r = Some(n);
    match id {
        ComponentId::Postgresql => c.postgresql.replicas = r,
        ComponentId::Redis => c.redis.replicas = r,
        ComponentId::Etcd => c.etcd.replicas = r,
        ComponentId::Minio => c.minio.replicas = r,
        ComponentId::Nessie => c.nessie.replicas = r,
        ComponentId::Kafka => c.kafka.replicas = r,
        ComponentId::Flink => c.flink.replicas = r,
        ComponentId::Trino => c.trino.replicas = r,
        ComponentId::Spark => c.spark.replicas = r,
        ComponentId::Clickhouse => c.clickhouse.replicas = r,
        ComponentId::Airflow => c.airflow.replicas = r,
        ComponentId::Superset => c.superset.replicas = r,
    }
}

/// What each component declares about its disruption budgets is what it renders: the model
/// reads the declaration, so a PDB changed in a render must change the declaration too.
#[test]
fn declared_budgets_match_the_rendered_pod_disruption_budgets() {
    let mut checked = 0;
    for (variant, p) in Platform::variants() {
        let m = Model::new(&p);
        let tree = datalyptica_platform::render(&p);
        for c in m.enabled_components() {
            let tiers = c.redundancy(&m).tiers;
            let floors: Vec<u32> = tiers
                .iter()
                .filter_map(|t| t.drain_budget.map(|b| t.members.saturating_sub(b)))
                .collect();
            let budgets: Vec<u32> = tiers.iter().filter_map(|t| t.drain_budget).collect();
            let dir = format!("{}/", c.dir());
            for (_, o) in tree
                .objects()
                .filter(|(path, o)| path.starts_with(&dir) && o["kind"] == "PodDisruptionBudget")
            {
                let name = o["metadata"]["name"].as_str().unwrap_or_default();
                // An operator carried in the component's directory is not one of its tiers.
                if name.ends_with("-operator") {
                    continue;
                }
                let spec = &o["spec"];
                checked += 1;
                if let Some(min) = spec["minAvailable"].as_u64() {
                    assert!(
                        floors.contains(&(min as u32)),
                        "{variant}: {} renders PDB {name} minAvailable {min}, declared floors {floors:?}",
                        c.id()
                    );
                } else if let Some(max) = spec["maxUnavailable"].as_u64() {
                    assert!(
                        budgets.contains(&(max as u32)),
                        "{variant}: {} renders PDB {name} maxUnavailable {max}, declared budgets {budgets:?}",
                        c.id()
                    );
                } else {
                    panic!("{variant}: PDB {name} states neither minAvailable nor maxUnavailable");
                }
            }
        }
    }
    assert!(
        checked >= 10,
        "only {checked} rendered PDBs found: the test looks in the wrong place"
    );
}

#[test]
fn every_enabled_component_is_evaluated_in_every_variant() {
    for (variant, p) in Platform::variants() {
        let m = Model::new(&p);
        let r = evaluate(&m, &Rates::from_spec(&p), &[]);
        let enabled: Vec<ComponentId> = m.enabled_components().map(|c| c.id()).collect();
        let got: Vec<ComponentId> = r.components.iter().map(|c| c.component).collect();
        assert_eq!(got, enabled, "{variant}");
        for c in &r.components {
            assert!(
                (0.0..=1.0).contains(&c.availability) && !c.tiers.is_empty(),
                "{variant}: {} {}",
                c.component,
                c.availability
            );
        }
    }
}

/// The README's table of defaults names every rate with the value the code uses.
#[test]
fn the_readme_documents_every_default_rate() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md at the workspace root");
    for (field, value, _) in datalyptica_platform::availability::DEFAULT_SOURCES {
        let plain = value.split(' ').next().unwrap_or(value);
        let row = format!("| `{field}` | `{plain}`");
        assert!(
            readme.contains(&row),
            "README lacks the row starting `{row}`"
        );
    }
    // And the documented values are the ones in force.
    let d = Rates::DEFAULT;
    let value = |field: &str| {
        let (_, v, _) = datalyptica_platform::availability::DEFAULT_SOURCES
            .iter()
            .find(|(f, _, _)| *f == field)
            .expect("documented");
        v.split(' ').next().unwrap_or(v).to_string()
    };
    let dur = |field: &str| {
        datalyptica_platform::units::parse_duration(&value(field)).expect("a duration")
    };
    assert_eq!(dur("nodeMtbf"), d.node_mtbf);
    assert_eq!(dur("nodeRepair"), d.node_repair);
    assert_eq!(dur("podReschedule"), d.pod_reschedule);
    assert_eq!(dur("podRestart"), d.pod_restart);
    assert_eq!(value("drainsPerYear"), d.drains_per_year.to_string());
    assert_eq!(value("zones"), d.zones.to_string());
}
