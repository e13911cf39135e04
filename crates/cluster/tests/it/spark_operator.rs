//! The real kubeflow spark-operator judges the rendered SparkApplication on the sandbox: the
//! controller of the release the tree's Helm install runs (v2.5.2, built from its Go module by
//! `.ci/install-spark-operator.sh`, `$DATALYPTICA_SPARK_OPERATOR`) runs as a process against the
//! sandbox's API server, watching the Spark namespace, as its developers run it locally; it calls
//! the real `spark-submit` of Spark 3.5.6 (PySpark's distribution, `$DATALYPTICA_SPARK_HOME`),
//! whose Kubernetes client creates the driver pod through the API server, and the scheduler
//! places it on a simulated node. The rendered namespace, RBAC and SparkApplication are applied
//! as deploy applies them; the CRDs are those the chart's `crds/` folder installs, taken from the
//! same module (`$DATALYPTICA_SPARK_OPERATOR_CRDS`): the manager refuses to start unless
//! SparkConnect is served too, which `../shared/crds/spark` leaves out. Its SparkApplication CRD
//! must be the one the conformance test validates against.
//!
//! The operator's admission webhook (`operator webhook start`, the chart's webhook pod) runs
//! too, registered with the chart's rules and paths at a localhost URL: it defaults and
//! validates the application and patches the driver pod (security contexts, volumes) as it is
//! created.
//!
//! Checked: the operator accepts the application (no SUBMISSION_FAILED or FAILED state, no
//! Warning event about it), spark-submit resolves the rendered `spark.jars.packages` and builds
//! a driver pod that the webhook patches and the API server admits, with the rendered image,
//! service account, owner and security contexts, free of `datalyptica lint`'s security errors
//! (restricted-v2's rules), and the scheduler binds it. The webhook found that it adds a
//! volume only for the Spark container's own mounts, so the truststore init container's CA
//! volume made every driver pod invalid until the container mounted it too. Stand-ins, named:
//! the pods are kwok's (no container runs, so the driver never creates executors). Skips
//! locally without the binaries or the sandbox, fails in CI.

use crate::common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use datalyptica_cluster::api::{ApplyOptions, ClusterApi, TypeRef};
use datalyptica_cluster::sandbox::crds;
use datalyptica_platform::component::ComponentId;
use datalyptica_platform::model::Model;
use datalyptica_platform::{Platform, render};
use serde_json::Value;

fn tools() -> Option<(PathBuf, PathBuf, PathBuf)> {
    let op = std::env::var_os("DATALYPTICA_SPARK_OPERATOR").map(PathBuf::from);
    let home = std::env::var_os("DATALYPTICA_SPARK_HOME").map(PathBuf::from);
    let crds = std::env::var_os("DATALYPTICA_SPARK_OPERATOR_CRDS").map(PathBuf::from);
    let java = Command::new("java")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    match (op, home, crds) {
        (Some(op), Some(home), Some(crds))
            if op.is_file() && home.join("bin/spark-submit").is_file() && crds.is_dir() && java =>
        {
            Some((op, home, crds))
        }
        _ => {
            let what = "the spark-operator test needs $DATALYPTICA_SPARK_OPERATOR and $DATALYPTICA_SPARK_HOME (eval \"$(bash .ci/install-spark-operator.sh)\") and java";
            assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{what}");
            eprintln!(
                "\n**************************************************************************\n\
                 SKIPPED: {what}\n\
                 **************************************************************************"
            );
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_spark_operator_submits_the_rendered_application() {
    let Some((operator, spark_home, crd_dir)) = tools() else {
        return;
    };
    let Some(sb) = common::start_with("spark-operator", |spec| {
        spec.nodes = 3;
        spec.zones = 3;
        // Nothing stands in for an operator here: the real one runs.
        spec.standins = false;
    })
    .await
    else {
        return;
    };
    let api = sb.api().await.expect("api");

    // The chart's CRDs, then the rendered Spark namespace, RBAC and application.
    let file = "sparkoperator.k8s.io_sparkapplications.yaml";
    let shared = crds::shared_dir().join("crds/spark").join(file);
    assert_eq!(
        std::fs::read(crd_dir.join(file)).expect("chart CRD"),
        std::fs::read(&shared).expect("shared CRD"),
        "the conformance test validates against another SparkApplication CRD than the chart installs"
    );
    for crd in crds::load_dir(&crd_dir).expect("spark CRDs") {
        api.apply(&crd, ApplyOptions::default())
            .await
            .expect("apply CRD");
    }
    let app_t = TypeRef::new("sparkoperator.k8s.io/v1beta2", "SparkApplication");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !api.served(&app_t).await.unwrap_or(false) {
        assert!(Instant::now() < deadline, "SparkApplication never served");
        api.forget();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let p = Platform::default_ha();
    let m = Model::new(&p);
    let ns = m.get(ComponentId::Spark).namespace.clone();
    let tree = render(&p);
    let objs: Vec<Value> = tree
        .objects()
        .filter(|(f, o)| {
            (*f == "00-prerequisites/namespaces.yaml" && o["metadata"]["name"] == ns.as_str())
                || f.starts_with("09-spark/spark-rbac")
                || f.starts_with("09-spark/spark-application")
        })
        .map(|(_, o)| o.clone())
        .collect();
    let app = objs
        .iter()
        .find(|o| o["kind"] == "SparkApplication")
        .expect("rendered SparkApplication")
        .clone();
    let app_name = app["metadata"]["name"].as_str().expect("name").to_string();
    // The operator's identity, as in its pod: a ServiceAccount and its token (spark-submit's
    // fabric8 client then authenticates as the operator does in-cluster). Its rights: stand-in,
    // cluster-admin instead of the chart's ClusterRole, which the reference does not carry.
    let token = operator_token(&sb, &api).await;
    let kubeconfig = sb.dir.join("spark-operator.kubeconfig");
    let ca = std::fs::read(sb.dir.join("ca.crt")).expect("sandbox CA");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sandbox\n  cluster:\n    server: {}\n    certificate-authority-data: {}\nusers:\n- name: spark-operator\n  user:\n    token: {token}\ncontexts:\n- name: sandbox\n  context:\n    cluster: sandbox\n    user: spark-operator\ncurrent-context: sandbox\n",
            sb.server,
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, ca),
        ),
    )
    .expect("kubeconfig");

    // The operator's admission webhook (`operator webhook start`, as the chart's webhook pod runs
    // it), registered as the chart registers it but called at https://localhost: its own
    // certificate names localhost, and the API server cannot reach a Service of simulated pods.
    let work = sb.dir.join("spark-operator");
    std::fs::create_dir_all(&work).expect("work dir");
    let hook_log = work.join("webhook.log");
    let webhook = start_webhook(&api, &operator, &kubeconfig, &ns, &work, &hook_log).await;
    // Killed when the test ends, also by a failed assertion.
    let mut procs = common::Procs(vec![webhook], work.join("unused"));

    // Through the webhook: the application is defaulted and validated by the operator's code.
    for o in &objs {
        api.apply(o, ApplyOptions::default())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "apply {}/{}: {e}\n{}",
                    o["kind"],
                    o["metadata"]["name"],
                    std::fs::read_to_string(&hook_log).unwrap_or_default()
                )
            });
    }

    // The operator, as `operator controller start` runs in its pod: the master URL comes from
    // the in-cluster variables, the client from the kubeconfig.
    let url = sb.server.trim_start_matches("https://").to_string();
    let (host, port) = url.rsplit_once(':').expect("host:port");
    let log_path = work.join("operator.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let child = Command::new(&operator)
        .args([
            "controller",
            "start",
            "--namespaces",
            &ns,
            "--leader-election=false",
            "--enable-ui-service=false",
            "--health-probe-bind-address=0",
            "--metrics-bind-address=0",
            "--zap-log-level=info",
        ])
        .current_dir(&work)
        .env("KUBECONFIG", &kubeconfig)
        .env("SPARK_HOME", &spark_home)
        .env("KUBERNETES_SERVICE_HOST", host)
        .env("KUBERNETES_SERVICE_PORT", port)
        // spark-submit's Ivy cache: resolved packages survive between runs.
        .env(
            "HOME",
            std::env::var("DATALYPTICA_SPARK_IVY_HOME")
                .unwrap_or_else(|_| work.display().to_string()),
        )
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("spark-operator");
    procs.0.push(child);

    let pod_t = TypeRef::new("v1", "Pod");
    let deadline = Instant::now() + Duration::from_secs(600);
    let driver = loop {
        for (p, log) in procs.0.iter_mut().zip([&hook_log, &log_path]) {
            if let Some(code) = p.try_wait().expect("wait") {
                panic!(
                    "{} exited ({code}):\n{}",
                    log.display(),
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
        }
        let a = api
            .get(&app_t, Some(&ns), &app_name)
            .await
            .expect("get app")
            .expect("app exists");
        let state = a["status"]["applicationState"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            !matches!(
                state.as_str(),
                "SUBMISSION_FAILED" | "FAILED" | "INVALIDATING"
            ),
            "the operator refused the rendered application: {state}: {}\n{}",
            a["status"]["applicationState"]["errorMessage"],
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        if let Some(pod_name) = a["status"]["driverInfo"]["podName"].as_str()
            && let Some(pod) = api.get(&pod_t, Some(&ns), pod_name).await.expect("get pod")
            && pod["spec"]["nodeName"].is_string()
        {
            break pod;
        }
        assert!(
            Instant::now() < deadline,
            "no scheduled driver pod; application state {state:?}\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    drop(procs);

    // The driver is what the rendered application asked for.
    let spec = &driver["spec"];
    let image = app["spec"]["image"].as_str().expect("image");
    assert!(
        spec["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["image"] == image),
        "driver image: {spec}"
    );
    assert_eq!(
        spec["serviceAccountName"], app["spec"]["driver"]["serviceAccount"],
        "driver service account"
    );
    assert!(
        driver["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["kind"] == "SparkApplication" && r["name"] == app_name.as_str()),
        "the driver belongs to the application"
    );
    // The webhook put the application's security settings on the pod it admitted, and the pod
    // passes the security rules `datalyptica lint` applies (OpenShift's restricted-v2).
    assert_eq!(
        spec["securityContext"]["runAsNonRoot"], true,
        "the webhook did not patch the driver's pod security context: {}",
        spec["securityContext"]
    );
    let container = spec["containers"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["image"] == image))
        .expect("driver container");
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"], false,
        "driver container: {}",
        container["securityContext"]
    );
    let findings = security_findings(&driver);
    assert!(
        findings.is_empty(),
        "the driver pod as the operator built it:\n{findings:#?}"
    );
    // No Warning event about the application.
    let events = api
        .list(&TypeRef::new("v1", "Event"), Some(&ns), None)
        .await
        .expect("events");
    let warnings: Vec<String> = events
        .iter()
        .filter(|e| {
            e["type"] == "Warning"
                && e["involvedObject"]["kind"] == "SparkApplication"
                && e["involvedObject"]["name"] == app_name.as_str()
        })
        .map(|e| format!("{}: {}", e["reason"], e["message"]))
        .collect();
    assert!(warnings.is_empty(), "{warnings:#?}");
}

/// The webhook process, once the API server calls it: its MutatingWebhookConfiguration and
/// ValidatingWebhookConfiguration (the chart's rules and paths, a localhost URL) carry the CA the
/// webhook made and patched in, and its port answers.
async fn start_webhook(
    api: &impl ClusterApi,
    operator: &std::path::Path,
    kubeconfig: &std::path::Path,
    ns: &str,
    work: &std::path::Path,
    log_path: &std::path::Path,
) -> std::process::Child {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    const NAME: &str = "spark-operator-webhook";
    let hook = |name: &str,
                path: &str,
                group: &str,
                version: &str,
                resource: &str,
                ops: &[&str]| {
        let mut h = serde_json::json!({
            "name": name,
            "admissionReviewVersions": ["v1"],
            "clientConfig": {"url": format!("https://localhost:{port}{path}")},
            "sideEffects": "None",
            "failurePolicy": "Fail",
            "timeoutSeconds": 10,
            "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": [ns]}]},
            "rules": [{"apiGroups": [group], "apiVersions": [version], "resources": [resource], "operations": ops}],
        });
        if resource == "pods" {
            h["objectSelector"] = serde_json::json!({"matchLabels": {"sparkoperator.k8s.io/launched-by-spark-operator": "true"}});
        }
        h
    };
    let mutating = serde_json::json!({
    "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
    "metadata": {"name": NAME},
    "webhooks": [
        hook("mutate--v1-pod.sparkoperator.k8s.io", "/mutate--v1-pod", "", "v1", "pods", &["CREATE"]),
        hook("mutate-sparkoperator-k8s-io-v1beta2-sparkapplication.sparkoperator.k8s.io",
            "/mutate-sparkoperator-k8s-io-v1beta2-sparkapplication", "sparkoperator.k8s.io", "v1beta2",
            "sparkapplications", &["CREATE", "UPDATE"]),
    ]});
    let validating = serde_json::json!({
    "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
    "metadata": {"name": NAME},
    "webhooks": [
        hook("validate-sparkoperator-k8s-io-v1beta2-sparkapplication.sparkoperator.k8s.io",
            "/validate-sparkoperator-k8s-io-v1beta2-sparkapplication", "sparkoperator.k8s.io", "v1beta2",
            "sparkapplications", &["CREATE", "UPDATE"]),
    ]});
    for o in [&mutating, &validating] {
        api.apply(o, ApplyOptions::default())
            .await
            .expect("webhook configuration");
    }
    let log = std::fs::File::create(log_path).expect("log");
    let mut child = Command::new(operator)
        .args([
            "webhook",
            "start",
            "--namespaces",
            ns,
            &format!("--webhook-port={port}"),
            &format!("--webhook-cert-dir={}", work.join("certs").display()),
            "--webhook-secret-name=spark-operator-webhook-certs",
            "--webhook-secret-namespace=spark-operator",
            &format!("--webhook-svc-name={NAME}"),
            "--webhook-svc-namespace=spark-operator",
            &format!("--mutating-webhook-name={NAME}"),
            &format!("--validating-webhook-name={NAME}"),
            "--leader-election=false",
            "--health-probe-bind-address=0",
            "--metrics-bind-address=0",
            "--zap-log-level=info",
        ])
        .current_dir(work)
        .env("KUBECONFIG", kubeconfig)
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("spark-operator webhook");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(code) = child.try_wait().expect("wait") {
            panic!(
                "the webhook exited ({code}):\n{}",
                std::fs::read_to_string(log_path).unwrap_or_default()
            );
        }
        let mut patched = true;
        for kind in [
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ] {
            let o = api
                .get(
                    &TypeRef::new("admissionregistration.k8s.io/v1", kind),
                    None,
                    NAME,
                )
                .await
                .expect("get webhook configuration")
                .expect("webhook configuration exists");
            patched &= o["webhooks"].as_array().into_iter().flatten().all(|w| {
                w["clientConfig"]["caBundle"]
                    .as_str()
                    .is_some_and(|c| !c.is_empty())
            });
        }
        if patched && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        assert!(
            Instant::now() < deadline,
            "the webhook never served:\n{}",
            std::fs::read_to_string(log_path).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Errors of `datalyptica lint`'s security rules on one pod (run as root, fixed UIDs, privilege
/// escalation, capabilities, host namespaces, ports and paths, privileged, unpinned tags,
/// resources, inlined secrets: what restricted-v2 admits and what the tree is held to). The
/// namespace's default-deny (DL2015) is a property of the tree, linted there, not of one pod.
fn security_findings(obj: &Value) -> Vec<String> {
    use datalyptica_lint::{Category, Config, Severity, Source, lint_sources, rule};
    let yaml = datalyptica_platform::render::to_yaml(obj);
    let report = lint_sources(&[Source::new("driver-pod.yaml", yaml)], &Config::default());
    report
        .findings
        .iter()
        .filter(|f| rule(f.rule).is_some_and(|r| r.category == Category::Security))
        .filter(|f| f.severity == Severity::Error && f.rule != "DL2015")
        .map(|f| format!("{} {}: {}", f.rule, f.pointer, f.message))
        .collect()
}

/// A token of the ServiceAccount `spark-operator/spark-operator`, bound to cluster-admin.
async fn operator_token(
    sb: &datalyptica_cluster::sandbox::Sandbox,
    api: &impl ClusterApi,
) -> String {
    use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
    use k8s_openapi::api::core::v1::ServiceAccount;
    for o in [
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "spark-operator"}}),
        serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "spark-operator", "namespace": "spark-operator"}}),
        serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "spark-operator-stand-in"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "spark-operator", "namespace": "spark-operator"}]}),
    ] {
        api.apply(&o, ApplyOptions::default())
            .await
            .expect("operator identity");
    }
    let client = kube::Client::try_from(sb.config().await.expect("config")).expect("client");
    let sas: kube::Api<ServiceAccount> = kube::Api::namespaced(client, "spark-operator");
    let tr = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![],
            expiration_seconds: Some(3600),
            ..Default::default()
        },
        ..Default::default()
    };
    sas.create_token_request("spark-operator", &Default::default(), &tr)
        .await
        .expect("token request")
        .status
        .expect("token status")
        .token
}
