//! Alert routing: the AlertmanagerConfig of every platform namespace and the checks of
//! `spec.alerting`.
//!
//! Receivers come from `spec.alerting`. Every value rendered is a reference, never a credential:
//! the PagerDuty routing key and the SMTP password live in Secrets the operator team creates in
//! each platform namespace (AlertmanagerConfig may only reference Secrets of its own namespace).

use crate::component::ComponentId;
use crate::crs::monitoring::*;
use crate::k8s;
use crate::model::Model;

/// Name of the AlertmanagerConfig rendered into every platform namespace.
pub const ALERTMANAGER_CONFIG: &str = "datalyptica-alerts";

/// `spec.alerting` with its defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Alerting {
    pub pagerduty: Option<PagerDuty>,
    pub email: Option<Email>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PagerDuty {
    pub severities: Vec<String>,
    /// (Secret, key) of the Events API v2 routing key.
    pub routing_key: (String, String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    pub to: Vec<String>,
    pub from: String,
    /// `host:port`, STARTTLS.
    pub smarthost: String,
    pub username: String,
    /// (Secret, key) of the SMTP password.
    pub password: (String, String),
}

impl Alerting {
    pub fn resolve(p: &crate::Platform) -> Self {
        let a = &p.spec.alerting;
        let key = |k: &Option<crate::spec::SecretKeySpec>, name: &str, key: &str| {
            k.as_ref().map_or((name.to_string(), key.to_string()), |k| {
                (k.name.clone(), k.key.clone())
            })
        };
        let pd = a.pagerduty.clone().unwrap_or_default();
        let em = a.email.clone().unwrap_or_default();
        let from = em
            .from
            .clone()
            .unwrap_or_else(|| "alertmanager@example.com".into());
        Alerting {
            pagerduty: (pd.enabled != Some(false)).then(|| PagerDuty {
                severities: pd
                    .severities
                    .clone()
                    .unwrap_or_else(|| vec!["critical".into()]),
                routing_key: key(&pd.routing_key, "alertmanager-pagerduty", "routing-key"),
            }),
            email: (em.enabled != Some(false)).then(|| Email {
                to: em
                    .to
                    .clone()
                    .unwrap_or_else(|| vec!["datalyptica-oncall@example.com".into()]),
                smarthost: em
                    .smarthost
                    .clone()
                    .unwrap_or_else(|| "smtp.example.com:587".into()),
                username: em.username.clone().unwrap_or_else(|| from.clone()),
                password: key(&em.password, "alertmanager-smtp", "password"),
                from,
            }),
        }
    }

    /// The Secrets the receivers read, with what each holds.
    pub fn secrets(&self) -> Vec<(String, &'static str)> {
        let mut v = Vec::new();
        if let Some(p) = &self.pagerduty {
            v.push((
                p.routing_key.0.clone(),
                "PagerDuty Events API v2 routing key",
            ));
        }
        if let Some(e) = &self.email {
            v.push((e.password.0.clone(), "password of the SMTP relay user"));
        }
        v
    }
}

/// Checks of `spec.alerting`.
pub fn validate(p: &crate::Platform, out: &mut Vec<crate::validate::Issue>) {
    use crate::validate::Issue;
    let a = &p.spec.alerting;
    let known = ["critical", "warning", "info"];
    if let Some(sev) = a.pagerduty.as_ref().and_then(|p| p.severities.as_ref()) {
        if sev.is_empty() {
            out.push(Issue::new(
                "/spec/alerting/pagerduty/severities",
                "empty list (expected severities that page, e.g. [critical]; set enabled: false to not page)",
            ));
        }
        for (i, s) in sev.iter().enumerate() {
            if !known.contains(&s.as_str()) {
                out.push(Issue::new(
                    format!("/spec/alerting/pagerduty/severities/{i}"),
                    format!("`{s}` is not a severity our alerts carry (expected one of critical, warning, info)"),
                ));
            }
        }
    }
    let Some(e) = &a.email else { return };
    let mailbox = |s: &str| {
        s.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !s.contains(char::is_whitespace)
        })
    };
    if let Some(to) = &e.to {
        if to.is_empty() {
            out.push(Issue::new(
                "/spec/alerting/email/to",
                "empty list (expected at least one address; set enabled: false to not mail)",
            ));
        }
        for (i, t) in to.iter().enumerate() {
            if !mailbox(t) {
                out.push(Issue::new(
                    format!("/spec/alerting/email/to/{i}"),
                    format!("`{t}` is not an e-mail address (expected name@domain)"),
                ));
            }
        }
    }
    if let Some(f) = &e.from
        && !mailbox(f)
    {
        out.push(Issue::new(
            "/spec/alerting/email/from",
            format!("`{f}` is not an e-mail address (expected name@domain)"),
        ));
    }
    if let Some(h) = &e.smarthost
        && !h.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        })
    {
        out.push(Issue::new(
            "/spec/alerting/email/smarthost",
            format!("`{h}` is not host:port (expected e.g. smtp.example.com:587)"),
        ));
    }
}

fn eq(name: &str, value: &str) -> AmMatcher {
    AmMatcher {
        name: name.into(),
        value: value.into(),
        match_type: "=",
    }
}

/// Alerts of the paging severities page (PagerDuty) and every alert is mailed; `None` when
/// both receivers are off (the cluster's own Alertmanager routing then applies).
pub fn alertmanager_config(m: &Model, id: ComponentId) -> Option<AlertmanagerConfig> {
    const PAGERDUTY: &str = "pagerduty";
    const EMAIL: &str = "email";
    const NOWHERE: &str = "none";
    let a = Alerting::resolve(m.platform);
    if a.pagerduty.is_none() && a.email.is_none() {
        return None;
    }
    let child = |receiver: &str, matchers: Vec<AmMatcher>, continue_: bool| AmRoute {
        receiver: receiver.into(),
        group_by: vec![],
        group_wait: None,
        group_interval: None,
        repeat_interval: None,
        matchers,
        continue_,
        routes: vec![],
    };
    let secret = |(name, key): &(String, String)| AmSecretRef {
        name: name.clone(),
        key: key.clone(),
    };
    let mut routes = Vec::new();
    let mut receivers = Vec::new();
    if let Some(p) = &a.pagerduty {
        let matcher = match p.severities.as_slice() {
            [one] => eq("severity", one),
            many => AmMatcher {
                name: "severity".into(),
                value: many.join("|"),
                match_type: "=~",
            },
        };
        // `continue` lets a paging alert reach the e-mail route too.
        routes.push(child(PAGERDUTY, vec![matcher], a.email.is_some()));
        receivers.push(AmReceiver {
            name: PAGERDUTY.into(),
            pagerduty_configs: vec![AmPagerDuty {
                routing_key: secret(&p.routing_key),
                send_resolved: true,
            }],
            email_configs: vec![],
        });
    }
    let root = if let Some(e) = &a.email {
        routes.push(child(EMAIL, vec![], false));
        receivers.push(AmReceiver {
            name: EMAIL.into(),
            pagerduty_configs: vec![],
            email_configs: vec![AmEmail {
                to: e.to.join(", "),
                from: e.from.clone(),
                smarthost: e.smarthost.clone(),
                auth_username: e.username.clone(),
                auth_password: secret(&e.password),
                require_tls: true,
                send_resolved: true,
            }],
        });
        EMAIL
    } else {
        // The root route needs a receiver; alerts that do not page go nowhere by choice.
        receivers.push(AmReceiver {
            name: NOWHERE.into(),
            pagerduty_configs: vec![],
            email_configs: vec![],
        });
        NOWHERE
    };
    Some(AlertmanagerConfig {
        api_version: "monitoring.coreos.com/v1alpha1",
        kind: "AlertmanagerConfig",
        metadata: k8s::meta(m, id, ALERTMANAGER_CONFIG, ALERTMANAGER_CONFIG),
        spec: AmSpec {
            route: AmRoute {
                receiver: root.into(),
                group_by: vec!["alertname".into(), "namespace".into()],
                group_wait: Some("30s".into()),
                group_interval: Some("5m".into()),
                repeat_interval: Some("4h".into()),
                matchers: vec![],
                continue_: false,
                routes,
            },
            receivers,
            // A firing critical alert already says it: do not also mail its warning twin
            // (same alert name, lower threshold) for the same object.
            inhibit_rules: vec![AmInhibitRule {
                source_match: vec![eq("severity", "critical")],
                target_match: vec![eq("severity", "warning")],
                equal: ["namespace", "alertname", "pod", "persistentvolumeclaim"]
                    .map(String::from)
                    .to_vec(),
            }],
        },
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::spec::Platform;

    #[test]
    fn alertmanager_config_pages_critical_and_mails_everything() {
        let p = Platform::default_ha();
        let m = Model::new(&p);
        let Some(c) = alertmanager_config(&m, ComponentId::Postgresql) else {
            panic!("the default spec routes alerts")
        };
        let v = k8s::to_value(&c);
        assert_eq!(v["apiVersion"], "monitoring.coreos.com/v1alpha1");
        assert_eq!(v["kind"], "AlertmanagerConfig");
        assert_eq!(
            v["metadata"]["namespace"],
            m.get(ComponentId::Postgresql).namespace.as_str()
        );
        let route = &v["spec"]["route"];
        assert_eq!(route["receiver"], "email");
        let routes = route["routes"].as_array().cloned().unwrap_or_default();
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[0]["receiver"], "pagerduty");
        assert_eq!(
            routes[0]["matchers"],
            json!([{"name": "severity", "value": "critical", "matchType": "="}])
        );
        assert_eq!(routes[0]["continue"], true);
        assert_eq!(routes[1]["receiver"], "email");
        assert!(
            routes[1].get("matchers").is_none(),
            "the e-mail route takes everything"
        );
        let recv = &v["spec"]["receivers"];
        assert_eq!(
            recv[0]["pagerdutyConfigs"][0]["routingKey"],
            json!({"name": "alertmanager-pagerduty", "key": "routing-key"})
        );
        assert_eq!(
            recv[1]["emailConfigs"][0]["authPassword"],
            json!({"name": "alertmanager-smtp", "key": "password"})
        );
        assert_eq!(recv[1]["emailConfigs"][0]["requireTLS"], true);
        assert_eq!(
            v["spec"]["inhibitRules"][0]["sourceMatch"][0]["matchType"],
            "="
        );
        // References only: no literal key or password anywhere.
        let text = v.to_string();
        assert!(!text.contains("serviceKey") && !text.contains("authSecret\":\""));
    }

    fn with_alerting(yaml: &str) -> Platform {
        let mut p = Platform::default_ha();
        let doc = match datalyptica_yaml::parse(yaml).map(|mut d| d.remove(0)) {
            Ok(d) => d,
            Err(e) => panic!("test spec: {e}"),
        };
        p.spec.alerting = match serde_json::from_value(doc.value) {
            Ok(a) => a,
            Err(e) => panic!("test spec: {e}"),
        };
        p
    }

    #[test]
    fn alert_receivers_follow_the_spec() {
        let p = with_alerting(
            "pagerduty: {severities: [critical, warning], routingKey: {name: pd, key: k}}\nemail: {to: [a@corp.example, b@corp.example], from: am@corp.example, smarthost: 'relay.corp.example:2525', password: {name: smtp, key: pw}}",
        );
        assert!(crate::validate::validate(&p).is_empty());
        let m = Model::new(&p);
        let Some(c) = alertmanager_config(&m, ComponentId::Redis) else {
            panic!("receivers are on")
        };
        let v = k8s::to_value(&c);
        let routes = &v["spec"]["route"]["routes"];
        assert_eq!(
            routes[0]["matchers"],
            json!([{"name": "severity", "value": "critical|warning", "matchType": "=~"}])
        );
        let recv = &v["spec"]["receivers"];
        assert_eq!(
            recv[0]["pagerdutyConfigs"][0]["routingKey"],
            json!({"name": "pd", "key": "k"})
        );
        let mail = &recv[1]["emailConfigs"][0];
        assert_eq!(mail["to"], "a@corp.example, b@corp.example");
        assert_eq!(mail["smarthost"], "relay.corp.example:2525");
        assert_eq!(
            mail["authUsername"], "am@corp.example",
            "the user defaults to the sender"
        );
        assert_eq!(mail["authPassword"], json!({"name": "smtp", "key": "pw"}));
        assert_eq!(
            Alerting::resolve(&p)
                .secrets()
                .into_iter()
                .map(|(n, _)| n)
                .collect::<Vec<_>>(),
            ["pd", "smtp"]
        );
    }

    #[test]
    fn paging_only_mail_only_and_no_receivers() {
        let p = with_alerting("email: {enabled: false}");
        let m = Model::new(&p);
        let v = alertmanager_config(&m, ComponentId::Etcd).map(|c| k8s::to_value(&c));
        let Some(v) = v else {
            panic!("PagerDuty is still on")
        };
        assert_eq!(v["spec"]["route"]["receiver"], "none");
        assert_eq!(v["spec"]["route"]["routes"][0]["receiver"], "pagerduty");
        assert!(v["spec"]["route"]["routes"][0].get("continue").is_none());
        assert_eq!(v["spec"]["receivers"][1], json!({"name": "none"}));

        let p = with_alerting("pagerduty: {enabled: false}");
        let m = Model::new(&p);
        let Some(c) = alertmanager_config(&m, ComponentId::Etcd) else {
            panic!("e-mail is still on")
        };
        let v = k8s::to_value(&c);
        assert_eq!(v["spec"]["receivers"].as_array().map(Vec::len), Some(1));
        assert!(!v.to_string().contains("pagerduty"));

        let p = with_alerting("pagerduty: {enabled: false}\nemail: {enabled: false}");
        assert!(
            !crate::render(&p)
                .objects()
                .any(|(_, o)| o["kind"] == "AlertmanagerConfig")
        );
    }

    #[test]
    fn bad_receivers_are_spec_errors() {
        let p = with_alerting(
            "pagerduty: {severities: [page]}\nemail: {to: [oncall], smarthost: smtp.example.com}",
        );
        let paths: Vec<String> = crate::validate::validate(&p)
            .into_iter()
            .map(|i| i.pointer)
            .collect();
        assert_eq!(
            paths,
            [
                "/spec/alerting/pagerduty/severities/0",
                "/spec/alerting/email/to/0",
                "/spec/alerting/email/smarthost"
            ]
        );
    }
}
