//! The pure core of datalyptica: platform spec → resolved model → rendered manifest tree.
//! No I/O and no async here; the CLI and the cluster engine sit around it.

pub mod availability;
pub mod backup;
pub mod component;
pub mod components;
pub mod crs;
pub mod docs;
pub mod gate;
pub mod gitops;
pub mod graph;
pub mod k8s;
pub mod load;
pub mod model;
pub mod monitoring;
pub mod ops;
pub mod order;
pub mod prereqs;
pub mod render;
pub mod schema;
pub mod security;
pub mod spec;
pub mod template;
pub mod units;
pub mod validate;

pub use load::{SpecError, load};
pub use render::{Tree, render};
pub use spec::Platform;
