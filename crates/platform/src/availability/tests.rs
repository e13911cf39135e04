//! Closed forms checked against values computed independently here (enumeration of every
//! up/down combination, hand-written formulas), and properties of the model.

use std::time::Duration;

use super::*;
use crate::spec::{Platform, Profile};

/// Availability of "at least k of n up" by enumerating all 2^n up/down states.
fn enumerate_k_of_n(k: u32, n: u32, a: f64) -> f64 {
    (0u32..(1 << n))
        .filter(|mask| mask.count_ones() >= k)
        .map(|mask| {
            (0..n)
                .map(|i| if mask & (1 << i) != 0 { a } else { 1.0 - a })
                .product::<f64>()
        })
        .sum()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn k_of_n_matches_enumeration_and_textbook_forms() {
    for a in [0.5, 0.9, 0.99, 0.999_9] {
        for n in 1..=7 {
            for k in 0..=n + 1 {
                let want = enumerate_k_of_n(k, n, a);
                let got = math::k_of_n(k, n, a);
                assert!(
                    close(got, want, 1e-12),
                    "k={k} n={n} a={a}: {got} vs {want}"
                );
            }
        }
        // Textbook forms: 2-of-3 = 3a² − 2a³; 1-of-2 = 2a − a²; n-of-n = aⁿ.
        assert!(close(
            math::k_of_n(2, 3, a),
            3.0 * a * a - 2.0 * a * a * a,
            1e-12
        ));
        assert!(close(math::k_of_n(1, 2, a), 2.0 * a - a * a, 1e-12));
        assert!(close(math::k_of_n(4, 4, a), a.powi(4), 1e-12));
    }
    // Small unavailabilities keep their digits: 2-of-3 with u = 1e-6 is down 3u² − 2u³.
    let u = 1e-6;
    let want = 3.0 * u * u - 2.0 * u * u * u;
    let got = math::k_of_n_unavailability(2, 3, u);
    assert!((got - want).abs() / want < 1e-9, "{got} vs {want}");
}

#[test]
fn series_and_parallel_compose_as_products() {
    let (a, b, c) = (0.99, 0.995, 0.9);
    assert!(close(math::series(&[a, b, c]), a * b * c, 1e-15));
    assert!(close(
        math::parallel(&[a, b, c]),
        1.0 - (1.0 - a) * (1.0 - b) * (1.0 - c),
        1e-15
    ));
    // Parallel of n identical members is 1-of-n.
    assert!(close(
        math::parallel(&[a, a, a]),
        math::k_of_n(1, 3, a),
        1e-15
    ));
    assert_eq!(math::series(&[]), 1.0);
    assert_eq!(math::parallel(&[]), 0.0);
}

#[test]
fn steady_state_is_mtbf_over_mtbf_plus_mttr() {
    assert!(close(math::steady_state(999.0, 1.0), 0.999, 1e-15));
    assert_eq!(math::steady_state(0.0, 0.0), 1.0);
}

fn rates() -> Rates {
    Rates {
        node_mtbf: Duration::from_secs(1000 * 3600),
        node_repair: Duration::from_secs(10 * 3600),
        pod_reschedule: Duration::from_secs(360),
        pod_restart: Duration::from_secs(60),
        drains_per_year: 12,
        zones: 3,
    }
}

#[test]
fn a_tier_is_k_of_n_plus_its_failover_and_drain_losses() {
    let r = rates();
    let (mtbf, mttr): (f64, f64) = (1000.0 * 3600.0, 10.0 * 3600.0);
    let u = mttr / (mtbf + mttr);
    let year = 365.25 * 86_400.0;
    // 1-of-3 primary/standby with a 30 s failover and a 10 s switchover, PDB keeps 2.
    let t = Tier::new("instances", 3, 1, Recovery::NodeRepair, "")
        .with_failover(Failover {
            active: 1,
            unplanned: Duration::from_secs(30),
            planned: Duration::from_secs(10),
            source: String::new(),
        })
        .with_min_available(2);
    let got = evaluate_tier(&t, &r);
    // All three down, or the primary down for its failover while a standby is there.
    let unplanned = u.powi(3) + 30.0 / (mtbf + mttr) * (1.0 - u * u);
    let planned = 12.0 * 10.0 / year;
    let want = (1.0 - unplanned) * (1.0 - planned);
    assert!(
        close(got.availability, want, 1e-12),
        "{} vs {want}",
        got.availability
    );
    assert!(close(got.downtime_per_year.maintenance_s, 120.0, 1e-6));

    // A failover slower than the member's own return costs the return, not more.
    let slow = Tier::new("instances", 2, 1, Recovery::Reschedule, "").with_failover(Failover {
        active: 1,
        unplanned: Duration::from_secs(3600),
        planned: Duration::from_secs(0),
        source: String::new(),
    });
    let u6 = 360.0 / (mtbf + 360.0);
    let got = evaluate_tier(&slow, &r).availability;
    assert!(
        close(got, 1.0 - (u6 * u6 + u6 * (1.0 - u6)), 1e-12),
        "{got}"
    );

    // A single stateless pod: down while rescheduled, and for a restart at every drain.
    let spof = Tier::replicated("coordinator", 1, Recovery::Reschedule);
    let got = evaluate_tier(&spof, &r);
    let want = (1.0 - u6) * (1.0 - 12.0 * 60.0 / year);
    assert!(close(got.availability, want, 1e-12));
    assert!(spof.no_spare());

    // 2-of-3 quorum: a PDB keeping 2 leaves drains harmless; one letting 2 go costs a
    // restart per member and drain.
    let q = Tier::quorum("members", 3);
    let kept = evaluate_tier(&q.clone().with_min_available(2), &r);
    let loose = evaluate_tier(&q.clone().with_max_unavailable(2), &r);
    assert_eq!(kept.downtime_per_year.maintenance_s, 0.0);
    assert!(close(
        loose.downtime_per_year.maintenance_s,
        12.0 * 3.0 * 60.0,
        1e-6
    ));
    assert!(close(
        kept.availability,
        1.0 - (3.0 * u * u - 2.0 * u * u * u),
        1e-12
    ));
}

#[test]
fn drills_replace_the_spec_timing() {
    let p = Platform::default_ha();
    let m = Model::new(&p);
    let pg = components::by_name("postgresql").expect("registered");
    let base = evaluate_component(&m, pg, &Rates::DEFAULT, &[]);
    let drill = |fault: &str, p95: f64| Drill {
        component: ComponentId::Postgresql,
        fault: fault.into(),
        p95: Duration::from_secs_f64(p95),
        trials: 10,
        file: "reports/x.json".into(),
    };
    let slower = evaluate_component(
        &m,
        pg,
        &Rates::DEFAULT,
        &[drill("kill-primary", 120.0), drill("stop-primary", 50.0)],
    );
    assert!(slower.availability < base.availability);
    let f = slower.tiers[0].tier.failover.as_ref().expect("failover");
    assert_eq!(f.unplanned, Duration::from_secs(120));
    assert_eq!(f.planned, Duration::from_secs(50));
    assert!(f.source.contains("kill-primary") && f.source.contains("stop-primary"));
    // A drill of another component changes nothing here.
    let other = Drill {
        component: ComponentId::Redis,
        ..drill("kill-primary", 999.0)
    };
    assert_eq!(
        evaluate_component(&m, pg, &Rates::DEFAULT, &[other]).availability,
        base.availability
    );
}

#[test]
fn drill_reports_parse_and_explain_what_they_lack() {
    let ok = r#"{"component":"etcd","fault":"kill-primary","settings":[],"rto_s":{"n":10,"min":0.5,"p50":0.9,"p95":1.44,"max":1.5},"skipped":null}"#;
    let Ok(drills::Parsed::Drill(d)) = drills::parse("a.json", ok) else {
        panic!("parses");
    };
    assert_eq!(
        (d.component, d.fault.as_str(), d.trials),
        (ComponentId::Etcd, "kill-primary", 10)
    );
    assert_eq!(d.p95, Duration::from_secs_f64(1.44));
    let skipped =
        r#"{"component":"redis","fault":"partition-primary","rto_s":null,"skipped":"nft missing"}"#;
    assert!(matches!(
        drills::parse("b.json", skipped),
        Ok(drills::Parsed::NoMeasurement(m)) if m.contains("nft missing")
    ));
    let e = drills::parse("c.json", "{\"component\": 3}").expect_err("not a report");
    assert!(e.starts_with("c.json:1:"), "{e}");
    let e = drills::parse("d.json", r#"{"component":"mysql","fault":"kill-primary"}"#)
        .expect_err("unknown component");
    assert!(e.contains("`mysql`"), "{e}");
}

#[test]
fn the_default_platform_names_its_single_points_of_failure_and_journeys() {
    let p = Platform::default_ha();
    let m = Model::new(&p);
    let r = evaluate(&m, &Rates::DEFAULT, &[]);
    let spofs: Vec<&String> = r
        .components
        .iter()
        .flat_map(|c| &c.single_points_of_failure)
        .collect();
    assert_eq!(spofs, vec!["trino/coordinator"]);
    let names: Vec<&str> = r.journeys.iter().map(|j| j.name).collect();
    assert_eq!(
        names,
        vec!["streaming", "SQL", "orchestration", "dashboards"]
    );
    let sql = &r.journeys[1];
    assert_eq!(
        sql.components,
        vec![
            ComponentId::Postgresql,
            ComponentId::Minio,
            ComponentId::Nessie,
            ComponentId::Trino
        ]
    );
    // Serial: the journey is the product of its components, below each of them.
    let product: f64 = sql
        .components
        .iter()
        .map(|id| {
            r.components
                .iter()
                .find(|c| c.component == *id)
                .map(|c| c.availability)
                .expect("evaluated")
        })
        .product();
    assert!(close(sql.availability, product, 1e-15));
    assert_eq!(sql.weakest, ComponentId::Trino);
    // The seed's table: every default target holds under the default rates.
    for c in &r.components {
        assert!(
            c.met,
            "{}: {} < {}",
            c.component, c.availability, c.target_percent
        );
    }
    assert!(target_issues(&p).is_empty());
}

#[test]
fn minio_tolerance_follows_parity_and_layout() {
    let tier = |servers: u32, volumes: u32, parity: Option<u32>| {
        let mut p = Platform::default_ha();
        p.spec.components.minio.replicas = Some(servers);
        p.spec.components.minio.config.volumes_per_server = Some(volumes);
        p.spec.components.minio.config.parity = parity;
        let m = Model::new(&p);
        let t = &components::minio::MINIO.redundancy(&m).tiers[0];
        (t.members, t.needed)
    };
    // 4 × 4 = 16 drives, one set of 16, EC:4: a server holds 4 drives of the set → 1 server.
    assert_eq!(tier(4, 4, Some(4)), (4, 3));
    // 8 × 4 = 32 drives, sets of 16, 2 drives per server per set, EC:4 → 2 servers.
    assert_eq!(tier(8, 4, Some(4)), (8, 6));
    // EC:2 on sets of 16 with 2 drives per server: writes survive 2 drives → 1 server.
    assert_eq!(tier(8, 4, Some(2)), (8, 7));
    // EC:8 on a set of 16 is half: writes tolerate 7 drives → 1 server of 4 drives.
    assert_eq!(tier(4, 4, Some(8)), (4, 3));
}

#[test]
fn unreachable_targets_are_reported_where_they_are_set() {
    let mut p = Platform::default_ha();
    p.spec.components.trino.slo = Some(crate::spec::SloSpec {
        availability: Some(99.9999),
        ..Default::default()
    });
    let issues = target_issues(&p);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].pointer, "/spec/components/trino/slo/availability");
    assert!(
        issues[0].message.contains("coordinator"),
        "{}",
        issues[0].message
    );
    assert!(issues[0].message.contains("single point of failure"));

    // Worse rates push a default target out of reach; the pointer is the component.
    let mut p = Platform::default_ha();
    p.spec.profile = Profile::Dev;
    p.spec.availability_model.node_repair = Some("72h".into());
    let issues = target_issues(&p);
    assert!(
        issues
            .iter()
            .any(|i| i.pointer == "/spec/components/postgresql"),
        "{issues:?}"
    );
}

#[test]
fn a_zone_outage_spares_spread_quorums_and_stops_single_members() {
    let p = Platform::default_ha();
    let m = Model::new(&p);
    let r = evaluate(&m, &Rates::DEFAULT, &[]);
    let verdict = |id: ComponentId| {
        r.components
            .iter()
            .find(|c| c.component == id)
            .map(|c| c.zone_outage.verdict)
            .expect("evaluated")
    };
    assert_eq!(verdict(ComponentId::Etcd), ZoneVerdict::AfterFailover);
    assert_eq!(verdict(ComponentId::Nessie), ZoneVerdict::Survives);
    assert_eq!(verdict(ComponentId::Trino), ZoneVerdict::AfterReschedule);
    // 4 MinIO servers over 3 zones: one zone holds 2, writes survive 1.
    assert_eq!(verdict(ComponentId::Minio), ZoneVerdict::Down);
    assert!(r.zone_statement.contains("minio"));
    let single = Rates {
        zones: 1,
        ..Rates::DEFAULT
    };
    assert!(
        evaluate(&m, &single, &[])
            .zone_statement
            .starts_with("one zone")
    );
}

#[test]
fn spec_rates_are_validated() {
    let mut p = Platform::default_ha();
    p.spec.availability_model.node_mtbf = Some("soon".into());
    p.spec.availability_model.zones = Some(0);
    let issues = crate::validate::validate(&p);
    let ptrs: Vec<&str> = issues.iter().map(|i| i.pointer.as_str()).collect();
    assert!(
        ptrs.contains(&"/spec/availabilityModel/nodeMtbf"),
        "{ptrs:?}"
    );
    assert!(ptrs.contains(&"/spec/availabilityModel/zones"), "{ptrs:?}");
}
