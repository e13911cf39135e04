//! Security of the tree, in four rooms: what each component exposes (`exposure`), the
//! NetworkPolicies derived from it (`network`), Secrets and their sources (`secrets`) and pod
//! security (`pod`). Paths stay `security::…`: the rooms are re-exported here.

mod exposure;
mod network;
mod pod;
mod secrets;

pub use exposure::*;
pub use network::*;
pub use pod::*;
pub use secrets::*;

use crate::spec::SecretsMode;

/// Checks of `spec.secrets` and `spec.network`.
pub fn validate(p: &crate::Platform, out: &mut Vec<crate::validate::Issue>) {
    use crate::validate::Issue;
    let n = &p.spec.network;
    for (field, list) in [
        ("apiServerCidrs", &n.api_server_cidrs),
        ("externalCidrs", &n.external_cidrs),
    ] {
        for (i, c) in list.iter().enumerate() {
            if let Err(e) = check_cidr(c) {
                out.push(Issue::new(format!("/spec/network/{field}/{i}"), e));
            }
        }
    }
    let s = &p.spec.secrets;
    match (&s.mode, &s.store_ref) {
        (SecretsMode::ExternalSecrets, None) => out.push(Issue::new(
            "/spec/secrets/storeRef",
            "mode `external-secrets` needs the SecretStore to read from (expected storeRef.name)",
        )),
        (_, Some(r)) => {
            if r.name.trim().is_empty() {
                out.push(Issue::new(
                    "/spec/secrets/storeRef/name",
                    "empty store name (expected the name of a ClusterSecretStore or SecretStore)",
                ));
            }
            if let Some(k) = &r.kind
                && k != "ClusterSecretStore"
                && k != "SecretStore"
            {
                out.push(Issue::new(
                    "/spec/secrets/storeRef/kind",
                    format!(
                        "`{k}` is not a store kind (expected ClusterSecretStore or SecretStore)"
                    ),
                ));
            }
        }
        _ => {}
    }
}
