//! Flink's S3 filesystem under OpenShift's restricted-v2 SCC, checked on the rendered
//! FlinkDeployment (no Flink runs on these machines). The image's entrypoint turns
//! `ENABLE_BUILT_IN_PLUGINS` into `mkdir`/`ln` under /opt/flink/plugins, owned by uid 9999, which a
//! random UID cannot write (silently: s3:// then has no filesystem); Presto's S3 client asks the
//! EC2 metadata endpoint for credentials unless `presto.s3.use-instance-credentials` is false
//! (Flink mirrors `s3.*` to `presto.s3.*`).

use crate::common;

use serde_json::Value;

fn env_names(c: &Value) -> Vec<&str> {
    c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str())
        .collect()
}

#[test]
fn the_s3_plugin_loads_without_writing_the_image_and_credentials_come_from_the_environment() {
    let mut checked = 0;
    for (variant, tree) in common::rendered() {
        for (_, fd) in tree
            .objects()
            .filter(|(_, o)| o["kind"] == "FlinkDeployment")
        {
            let version = fd["spec"]["flinkVersion"].as_str().unwrap_or_default();
            let conf = &fd["spec"]["flinkConfiguration"];
            assert_eq!(
                conf["s3.use-instance-credentials"], "false",
                "{variant}: Presto's S3 client would ask the EC2 metadata endpoint"
            );
            for role in ["jobManager", "taskManager"] {
                let pod = &fd["spec"][role]["podTemplate"]["spec"];
                let main = pod["containers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|c| c["name"] == "flink-main-container")
                    .unwrap_or_else(|| panic!("{variant}/{role}: no main container"));
                let env = env_names(main);
                assert!(
                    !env.contains(&"ENABLE_BUILT_IN_PLUGINS"),
                    "{variant}/{role}: ENABLE_BUILT_IN_PLUGINS writes into /opt/flink/plugins"
                );
                for k in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
                    assert!(env.contains(&k), "{variant}/{role}: no {k}");
                }
                // The plugin directory is a volume of its own under /opt/flink/plugins …
                let mount = main["volumeMounts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|m| {
                        m["mountPath"]
                            .as_str()
                            .is_some_and(|p| p.starts_with("/opt/flink/plugins/"))
                    })
                    .unwrap_or_else(|| panic!("{variant}/{role}: no plugin volume"));
                let vol = mount["name"].as_str().expect("mount name");
                assert!(
                    pod["volumes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|v| v["name"] == vol && v["emptyDir"].is_object()),
                    "{variant}/{role}: the plugin volume is not a writable emptyDir"
                );
                // … that an init container fills with the S3 jar of the image's own version.
                let filled = pod["initContainers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| {
                        let cmd: Vec<&str> = c["command"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .collect();
                        let writes = c["volumeMounts"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .find(|m| m["name"] == vol && m["readOnly"].as_bool() != Some(true));
                        cmd.first() == Some(&"cp")
                            && cmd.iter().any(|a| {
                                a.starts_with("/opt/flink/opt/flink-s3-fs-presto-")
                                    && a.ends_with(".jar")
                            })
                            && writes.is_some_and(|m| {
                                cmd.last().is_some_and(|dst| {
                                    dst.trim_end_matches('/')
                                        == m["mountPath"].as_str().unwrap_or_default()
                                })
                            })
                    });
                assert!(
                    filled,
                    "{variant}/{role}: no init container copies the S3 jar (Flink {version}) into the plugin volume"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 2, "no FlinkDeployment rendered");
}
