//! Rules on datalyptica's own platform spec (`apiVersion: datalyptica.io/…`, `kind: Platform`)
//! when it is among the linted files: what the spec promises, checked by the same pure code
//! `render` uses.

use super::{Ctx, Hit};
use crate::model::Obj;

/// DL1022: `slo.availability` targets the topology cannot reach.
pub(super) fn availability_targets(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    let ours = o.value["apiVersion"]
        .as_str()
        .is_some_and(|v| v.starts_with("datalyptica.io/"));
    if o.kind != "Platform" || !ours {
        return;
    }
    let Some(issues) = datalyptica_platform::availability::target_issues_of_document(o.value)
    else {
        return;
    };
    out.extend(issues.into_iter().map(|issue| Hit {
        obj: i,
        pointer: issue.pointer,
        message: issue.message,
    }));
}
