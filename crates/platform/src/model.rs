//! The resolved model: the spec with every default applied, computed once, read by renderers.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::component::{Component, ComponentId, Dep, Group, OperatorDefaults};
use crate::components;
use crate::spec::{
    ComponentSpec, InstallPlanApproval, NamespaceLayout, ObjectStoreBackend, Platform, Profile,
};
use crate::units::parse_duration;

/// A component's profile defaults.
#[derive(Debug, Clone)]
pub struct Defaults {
    pub replicas: u32,
    pub storage: &'static str,
    pub requests: (&'static str, &'static str),
    pub limits: (&'static str, &'static str),
    pub image: &'static str,
    pub version: &'static str,
    pub slo: Slo,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slo {
    /// Percent, e.g. 99.95.
    pub availability: f64,
    pub rpo: Duration,
    pub rto: Duration,
}

impl Slo {
    pub const fn new(availability: f64, rpo_s: u64, rto_s: u64) -> Self {
        Slo {
            availability,
            rpo: Duration::from_secs(rpo_s),
            rto: Duration::from_secs(rto_s),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resources {
    pub cpu_request: String,
    pub memory_request: String,
    pub cpu_limit: String,
    pub memory_limit: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    pub display: &'static str,
    pub package: String,
    pub channel: String,
    pub source: String,
    pub source_namespace: String,
    pub starting_csv: Option<String>,
    /// The channel head the tree is written for; `None` when the spec chose another package or
    /// channel (then nothing here was validated against what it installs).
    pub head: Option<&'static str>,
}

/// A component after defaults.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub id: ComponentId,
    pub enabled: bool,
    pub replicas: u32,
    pub storage: String,
    pub resources: Resources,
    pub image: String,
    pub version: String,
    pub operator: Option<Operator>,
    pub slo: Slo,
    pub namespace: String,
}

/// Where consumers find the object store; one place for every consumer.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectStore {
    pub backend: ObjectStoreBackend,
    /// https URL reachable from inside the cluster.
    pub endpoint: String,
    pub host: String,
    pub region: String,
    /// Secret (in each consumer's namespace) with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
    pub credentials_secret: String,
    pub odf_storage_class: String,
}

impl ObjectStore {
    /// The bucket a consumer uses: one per consumer, so a leaked key scopes to one bucket.
    pub fn bucket(&self, purpose: &str) -> String {
        format!("datalyptica-{purpose}")
    }
}

pub struct Model<'a> {
    pub platform: &'a Platform,
    pub name: String,
    pub profile: Profile,
    pub rwo_class: String,
    pub rwx_class: String,
    pub create_odf_classes: bool,
    pub operators_namespace: String,
    pub install_plan_approval: InstallPlanApproval,
    pub object_store: ObjectStore,
    pub ns_prefix: String,
    pub layout: NamespaceLayout,
    resolved: BTreeMap<ComponentId, Resolved>,
}

pub const DEFAULT_SOURCE_NAMESPACE: &str = "openshift-marketplace";

impl<'a> Model<'a> {
    /// Resolve defaults. Values that fail to parse (durations) fall back to defaults here;
    /// [`crate::validate`] reports them with their location before any render happens.
    pub fn new(platform: &'a Platform) -> Self {
        let spec = &platform.spec;
        let profile = spec.profile;
        let ns_prefix = spec
            .namespaces
            .prefix
            .clone()
            .unwrap_or_else(|| "datalyptica".into());
        let layout = spec.namespaces.layout.unwrap_or_default();
        let namespace_of = |g: Group| match layout {
            NamespaceLayout::PerGroup => format!("{ns_prefix}-{}", g.name()),
            NamespaceLayout::Single => ns_prefix.clone(),
        };
        let os = &spec.object_store;
        let backend = os.backend.unwrap_or(ObjectStoreBackend::Minio);
        let mut resolved = BTreeMap::new();
        for c in components::ALL {
            let common = components::common_spec(&spec.components, c.id());
            let mut r = resolve(*c, common, profile, namespace_of(c.group()));
            // MinIO is the object store only with the `minio` backend: elsewhere it is off unless
            // the spec says otherwise (which validation then reports as a conflict).
            if c.id() == ComponentId::Minio && common.enabled.is_none() {
                r.enabled = backend == ObjectStoreBackend::Minio;
            }
            resolved.insert(c.id(), r);
        }
        let minio_ns = namespace_of(components::minio::MINIO.group());
        let (host, endpoint) = match backend {
            ObjectStoreBackend::Minio => {
                let host = format!("minio.{minio_ns}.svc");
                (host.clone(), format!("https://{host}:443"))
            }
            // NooBaa's in-cluster S3 service; RGW users point `external` at their RGW route.
            ObjectStoreBackend::Odf => (
                "s3.openshift-storage.svc".to_string(),
                "https://s3.openshift-storage.svc:443".to_string(),
            ),
            ObjectStoreBackend::External => {
                let ep = os.endpoint.clone().unwrap_or_default();
                let host = ep
                    .trim_start_matches("https://")
                    .trim_start_matches("http://")
                    .split(['/', ':'])
                    .next()
                    .unwrap_or_default()
                    .to_string();
                (host, ep)
            }
        };
        let object_store = ObjectStore {
            backend,
            endpoint,
            host,
            region: os.region.clone().unwrap_or_else(|| "us-east-1".into()),
            credentials_secret: os
                .credentials_secret
                .clone()
                .unwrap_or_else(|| "datalyptica-object-store".into()),
            odf_storage_class: os
                .odf_storage_class
                .clone()
                .unwrap_or_else(|| "openshift-storage.noobaa.io".into()),
        };
        Model {
            platform,
            name: platform.metadata.name.clone(),
            profile,
            rwo_class: spec
                .storage
                .rwo_class
                .clone()
                .unwrap_or_else(|| "ocs-storagecluster-ceph-rbd".into()),
            rwx_class: spec
                .storage
                .rwx_class
                .clone()
                .unwrap_or_else(|| "ocs-storagecluster-cephfs".into()),
            create_odf_classes: spec.storage.create_odf_classes.unwrap_or(false),
            operators_namespace: spec
                .operators
                .namespace
                .clone()
                .unwrap_or_else(|| "datalyptica-operators".into()),
            install_plan_approval: spec
                .operators
                .install_plan_approval
                .unwrap_or(InstallPlanApproval::Manual),
            object_store,
            ns_prefix,
            layout,
            resolved,
        }
    }

    pub fn get(&self, id: ComponentId) -> &Resolved {
        // Every registered component is resolved in `new`; ALL is the only source of ids.
        &self.resolved[&id]
    }

    pub fn enabled(&self, id: ComponentId) -> bool {
        self.get(id).enabled
    }

    /// Enabled components in registry (phase) order.
    pub fn enabled_components(&self) -> impl Iterator<Item = &'static dyn Component> + '_ {
        components::ALL
            .iter()
            .copied()
            .filter(|c| self.enabled(c.id()))
    }

    /// Concrete dependencies of a component under this spec (object store → MinIO or nothing).
    pub fn deps_of(&self, c: &dyn Component) -> Vec<ComponentId> {
        c.deps()
            .iter()
            .filter_map(|d| match d {
                Dep::On(id) => Some(*id),
                Dep::ObjectStore => (self.object_store.backend == ObjectStoreBackend::Minio)
                    .then_some(ComponentId::Minio),
            })
            .collect()
    }

    pub fn uses_object_store(&self, c: &dyn Component) -> bool {
        c.deps().contains(&Dep::ObjectStore)
    }

    /// All namespaces the enabled components live in, sorted and unique.
    pub fn namespaces(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .enabled_components()
            .map(|c| self.get(c.id()).namespace.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    pub fn ha(&self) -> bool {
        self.profile == Profile::Ha
    }
}

fn resolve(c: &dyn Component, s: CommonSpec<'_>, profile: Profile, namespace: String) -> Resolved {
    let d = c.defaults(profile);
    let r = s.resources;
    let pick = |v: Option<&String>, dflt: &str| v.cloned().unwrap_or_else(|| dflt.to_string());
    let req = r.and_then(|r| r.requests.as_ref());
    let lim = r.and_then(|r| r.limits.as_ref());
    let slo = s.slo;
    let dur =
        |v: Option<&String>, dflt: Duration| v.and_then(|s| parse_duration(s).ok()).unwrap_or(dflt);
    let operator = c.operator().map(|o: OperatorDefaults| {
        let ov = s.operator;
        let package = pick(ov.and_then(|x| x.package.as_ref()), o.package);
        let channel = pick(ov.and_then(|x| x.channel.as_ref()), o.channel);
        Operator {
            display: o.display,
            head: (package == o.package && channel == o.channel).then_some(o.head),
            package,
            channel,
            source: pick(ov.and_then(|x| x.source.as_ref()), o.source),
            source_namespace: pick(
                ov.and_then(|x| x.source_namespace.as_ref()),
                DEFAULT_SOURCE_NAMESPACE,
            ),
            starting_csv: ov.and_then(|x| x.starting_csv.clone()),
        }
    });
    Resolved {
        id: c.id(),
        enabled: s.enabled.unwrap_or(true),
        replicas: s.replicas.unwrap_or(d.replicas),
        storage: pick(s.storage, d.storage),
        resources: Resources {
            cpu_request: pick(req.and_then(|x| x.cpu.as_ref()), d.requests.0),
            memory_request: pick(req.and_then(|x| x.memory.as_ref()), d.requests.1),
            cpu_limit: pick(lim.and_then(|x| x.cpu.as_ref()), d.limits.0),
            memory_limit: pick(lim.and_then(|x| x.memory.as_ref()), d.limits.1),
        },
        image: pick(s.image, d.image),
        version: pick(s.version, d.version),
        operator,
        slo: Slo {
            availability: slo
                .and_then(|x| x.availability)
                .unwrap_or(d.slo.availability),
            rpo: dur(slo.and_then(|x| x.rpo.as_ref()), d.slo.rpo),
            rto: dur(slo.and_then(|x| x.rto.as_ref()), d.slo.rto),
        },
        namespace,
    }
}

/// The component-independent part of a `ComponentSpec<C>`, borrowed.
#[derive(Clone, Copy)]
pub struct CommonSpec<'a> {
    pub enabled: Option<bool>,
    pub replicas: Option<u32>,
    pub storage: Option<&'a String>,
    pub resources: Option<&'a crate::spec::ResourcesSpec>,
    pub image: Option<&'a String>,
    pub version: Option<&'a String>,
    pub operator: Option<&'a crate::spec::OperatorSpec>,
    pub slo: Option<&'a crate::spec::SloSpec>,
}

impl<'a, C> From<&'a ComponentSpec<C>> for CommonSpec<'a> {
    fn from(s: &'a ComponentSpec<C>) -> Self {
        CommonSpec {
            enabled: s.enabled,
            replicas: s.replicas,
            storage: s.storage.as_ref(),
            resources: s.resources.as_ref(),
            image: s.image.as_ref(),
            version: s.version.as_ref(),
            operator: s.operator.as_ref(),
            slo: s.slo.as_ref(),
        }
    }
}
