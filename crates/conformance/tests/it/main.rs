//! The CRD-schema checks' integration tests, one binary
//! (`cargo test -p datalyptica-conformance --test it <module>::`).

mod catalog;
mod invalid;
mod policy;
mod valid;
