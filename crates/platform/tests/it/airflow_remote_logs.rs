//! Airflow's task logs go to the object store: the rendered `airflow-conn` init script runs with
//! python3 on files laid out as the pod mounts them, and must write the connection that
//! `[logging] remote_log_conn_id` names, readable by Airflow's `LocalFilesystemBackend`
//! (a JSON object of connections, `conn_type` and `extra` as the Amazon provider reads them),
//! with the keys from the mounted Secret and mode 0600. Every pod that runs Airflow gets the
//! file, the object store's CA where `verify` points, and the bucket the tree creates.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use datalyptica_platform::model::Model;
use serde_json::Value;

fn env_value<'a>(cm: &'a Value, k: &str) -> &'a str {
    cm["data"][k]
        .as_str()
        .unwrap_or_else(|| panic!("airflow-config has no {k}"))
}

#[test]
fn the_log_connection_is_written_from_the_mounted_keys_and_every_airflow_pod_reads_it() {
    for (variant, p) in common::variants() {
        let m = Model::new(&p);
        if !m.enabled(datalyptica_platform::component::ComponentId::Airflow) {
            continue;
        }
        let tree = datalyptica_platform::render(&p);
        let objs: Vec<&Value> = tree.objects().map(|(_, o)| o).collect();
        let cm = objs
            .iter()
            .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "airflow-config")
            .expect("airflow-config");
        assert_eq!(env_value(cm, "AIRFLOW__LOGGING__REMOTE_LOGGING"), "True");
        let conn_id = env_value(cm, "AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID");
        let folder = env_value(cm, "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER");
        let bucket = folder
            .strip_prefix("s3://")
            .and_then(|r| r.split('/').next())
            .expect("s3:// folder");
        assert!(
            datalyptica_platform::prereqs::bucket_owners(&m)
                .iter()
                .any(|(b, _)| b == bucket),
            "{variant}: bucket {bucket} is not created"
        );
        let kwargs: Value =
            serde_json::from_str(env_value(cm, "AIRFLOW__SECRETS__BACKEND_KWARGS")).expect("json");
        let conn_path = kwargs["connections_file_path"].as_str().expect("path");
        assert_eq!(
            env_value(cm, "AIRFLOW__SECRETS__BACKEND"),
            "airflow.secrets.local_filesystem.LocalFilesystemBackend"
        );

        let mut pods: Vec<(String, &Value)> = Vec::new();
        for o in &objs {
            let spec = match o["kind"].as_str() {
                Some("Deployment") | Some("Job") => &o["spec"]["template"]["spec"],
                _ => continue,
            };
            if o["metadata"]["labels"]["app.kubernetes.io/component"] == "airflow" {
                pods.push((
                    format!(
                        "{}/{}",
                        o["kind"].as_str().unwrap_or_default(),
                        o["metadata"]["name"].as_str().unwrap_or_default()
                    ),
                    spec,
                ));
            }
        }
        assert!(pods.len() >= 5, "{variant}: {} Airflow pods", pods.len());
        for (name, pod) in &pods {
            let init = pod["initContainers"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["name"] == "airflow-conn")
                .unwrap_or_else(|| panic!("{variant}: {name} has no airflow-conn"));
            let script = init["command"][2].as_str().expect("python3 -c script");
            // The kubelet's layout: the projected Secret files and the memory volume.
            let dir = std::env::temp_dir().join(format!(
                "datalyptica-airflow-conn-{}-{}",
                std::process::id(),
                name.replace('/', "-")
            ));
            let _ = std::fs::remove_dir_all(&dir);
            let mut local = script.to_string();
            for m in init["volumeMounts"].as_array().into_iter().flatten() {
                let path = m["mountPath"].as_str().expect("mountPath");
                let to = dir.join(m["name"].as_str().expect("name"));
                std::fs::create_dir_all(&to).expect("mkdir");
                local = local.replace(path, &to.display().to_string());
                if m["name"] == "secrets" {
                    let vol = pod["volumes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|v| v["name"] == "secrets")
                        .expect("secrets volume");
                    for src in vol["projected"]["sources"].as_array().into_iter().flatten() {
                        for item in src["secret"]["items"].as_array().into_iter().flatten() {
                            let value =
                                format!("value-of-{}\n", item["key"].as_str().unwrap_or(""));
                            std::fs::write(to.join(item["path"].as_str().unwrap_or("x")), value)
                                .expect("secret file");
                        }
                    }
                }
            }
            let out = Command::new("python3")
                .args(["-c", &local])
                .output()
                .expect("python3");
            assert!(
                out.status.success(),
                "{variant}: {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            // Where the main container reads it: the same volume, at the configured path.
            let main = &pod["containers"][0];
            let conn_dir = Path::new(conn_path).parent().expect("dir");
            let mount = main["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| v["mountPath"] == conn_dir.display().to_string().as_str())
                .unwrap_or_else(|| panic!("{variant}: {name} does not mount {conn_dir:?}"));
            let written = dir
                .join(mount["name"].as_str().expect("name"))
                .join(Path::new(conn_path).file_name().expect("file"));
            let mode = std::fs::metadata(&written)
                .expect("written")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{variant}: {name}");
            let conns: Value =
                serde_json::from_str(&std::fs::read_to_string(&written).expect("read"))
                    .expect("json");
            let c = &conns[conn_id];
            assert_eq!(c["conn_type"], "aws");
            assert_eq!(c["login"], "value-of-AWS_ACCESS_KEY_ID");
            assert_eq!(c["password"], "value-of-AWS_SECRET_ACCESS_KEY");
            assert_eq!(c["extra"]["endpoint_url"], m.object_store.endpoint.as_str());
            assert_eq!(
                c["extra"]["config_kwargs"]["s3"]["addressing_style"],
                "path"
            );
            // `verify` names a file of a volume the main container mounts (the Deployments';
            // the migration Job writes no task logs).
            if let Some(ca) = c["extra"]["verify"].as_str()
                && name.starts_with("Deployment/")
            {
                let ca_dir = Path::new(ca).parent().expect("dir").display().to_string();
                assert!(
                    main["volumeMounts"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|v| v["mountPath"] == ca_dir.as_str()),
                    "{variant}: {name}: {ca} is not mounted"
                );
            } else if c["extra"]["verify"].is_null() {
                assert_eq!(
                    m.object_store.backend,
                    datalyptica_platform::spec::ObjectStoreBackend::External
                );
            }
            // No key in the environment.
            assert!(
                !main["env"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|e| e["name"].as_str().is_some_and(|n| n.starts_with("AWS_"))),
                "{variant}: {name}"
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
