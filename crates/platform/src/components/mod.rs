//! The platform's components, one module each, in the seed's phase order.

use crate::component::{Component, ComponentId};
use crate::model::CommonSpec;
use crate::spec::ComponentsSpec;

pub mod airflow;
mod carried;
pub mod clickhouse;
pub mod etcd;
pub mod flink;
pub mod kafka;
pub mod minio;
pub mod nessie;
pub mod postgresql;
pub mod redis;
pub mod spark;
pub mod superset;
pub mod trino;

/// Every component, in phase order. Rendering, ordering and `explain` iterate this list.
pub static ALL: &[&dyn Component] = &[
    &postgresql::POSTGRESQL,
    &redis::REDIS,
    &etcd::ETCD,
    &minio::MINIO,
    &nessie::NESSIE,
    &kafka::KAFKA,
    &flink::FLINK,
    &trino::TRINO,
    &spark::SPARK,
    &clickhouse::CLICKHOUSE,
    &airflow::AIRFLOW,
    &superset::SUPERSET,
];

/// The component of an id; exhaustive, so a new id without its component does not compile.
pub fn get(id: ComponentId) -> &'static dyn Component {
    match id {
        ComponentId::Postgresql => &postgresql::POSTGRESQL,
        ComponentId::Redis => &redis::REDIS,
        ComponentId::Etcd => &etcd::ETCD,
        ComponentId::Minio => &minio::MINIO,
        ComponentId::Nessie => &nessie::NESSIE,
        ComponentId::Kafka => &kafka::KAFKA,
        ComponentId::Flink => &flink::FLINK,
        ComponentId::Trino => &trino::TRINO,
        ComponentId::Spark => &spark::SPARK,
        ComponentId::Clickhouse => &clickhouse::CLICKHOUSE,
        ComponentId::Airflow => &airflow::AIRFLOW,
        ComponentId::Superset => &superset::SUPERSET,
    }
}

pub fn by_name(name: &str) -> Option<&'static dyn Component> {
    ALL.iter().copied().find(|c| c.id().name() == name)
}

/// The common part of a component's spec, and its JSON pointer in the spec document.
pub fn common_spec(s: &ComponentsSpec, id: ComponentId) -> CommonSpec<'_> {
    match id {
        ComponentId::Postgresql => (&s.postgresql).into(),
        ComponentId::Redis => (&s.redis).into(),
        ComponentId::Etcd => (&s.etcd).into(),
        ComponentId::Minio => (&s.minio).into(),
        ComponentId::Nessie => (&s.nessie).into(),
        ComponentId::Kafka => (&s.kafka).into(),
        ComponentId::Flink => (&s.flink).into(),
        ComponentId::Trino => (&s.trino).into(),
        ComponentId::Spark => (&s.spark).into(),
        ComponentId::Clickhouse => (&s.clickhouse).into(),
        ComponentId::Airflow => (&s.airflow).into(),
        ComponentId::Superset => (&s.superset).into(),
    }
}

/// JSON pointer of a component's spec, for error locations.
pub fn spec_pointer(id: ComponentId) -> String {
    format!("/spec/components/{}", id.name())
}
