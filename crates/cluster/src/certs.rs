//! Certificates deploy issues itself ([`SecretSource::Issued`]): a private CA kept in a Secret of
//! the component's namespace and leaf certificates from it, for TLS OpenShift's service CA cannot
//! give (etcd's client and peer authentication: service-CA certificates are server-auth only).
//! Keys are generated in memory (ECDSA P-256) and go only to the API server, never to disk or
//! output.
//!
//! [`SecretSource::Issued`]: datalyptica_platform::security::SecretSource::Issued

use std::collections::BTreeMap;

use datalyptica_platform::security::CertRequest;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

/// A CA is valid for ten years, its leaf certificates for five (renew by deleting the leaf Secret
/// and deploying again).
const CA_DAYS: i64 = 3650;
const LEAF_DAYS: i64 = 1825;

/// A CA as it is stored: PEM certificate and PEM PKCS#8 key (`tls.crt`, `tls.key`).
pub struct Ca {
    pub cert_pem: String,
    pub key_pem: String,
    common_name: String,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("common_name", &self.common_name)
            .finish_non_exhaustive()
    }
}

fn err(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

fn ca_params(common_name: &str, now: OffsetDateTime) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "datalyptica");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = now - Duration::hours(1);
    p.not_after = now + Duration::days(CA_DAYS);
    p
}

impl Ca {
    /// A new self-signed CA named `common_name`.
    pub fn new(common_name: &str, now: OffsetDateTime) -> Result<Self, String> {
        let key = KeyPair::generate().map_err(|e| err("generate CA key", e))?;
        let cert = ca_params(common_name, now)
            .self_signed(&key)
            .map_err(|e| err("self-sign CA", e))?;
        Ok(Self {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            common_name: common_name.into(),
        })
    }

    /// A CA read back from its Secret (`tls.crt`, `tls.key`). Issuing needs the key and the
    /// subject, which deploy always writes as [`Ca::new`] does.
    pub fn from_pem(common_name: &str, cert_pem: &str, key_pem: &str) -> Result<Self, String> {
        KeyPair::from_pem(key_pem).map_err(|e| err("CA key in the Secret", e))?;
        if !cert_pem.contains("BEGIN CERTIFICATE") {
            return Err("CA certificate in the Secret is not PEM".into());
        }
        Ok(Self {
            cert_pem: cert_pem.into(),
            key_pem: key_pem.into(),
            common_name: common_name.into(),
        })
    }

    /// A leaf certificate for `req`: `(tls.crt, tls.key)` in PEM.
    pub fn issue(
        &self,
        req: &CertRequest,
        now: OffsetDateTime,
    ) -> Result<(String, String), String> {
        let ca_key = KeyPair::from_pem(&self.key_pem).map_err(|e| err("CA key", e))?;
        let issuer = Issuer::new(ca_params(&self.common_name, now), ca_key);
        let mut p = CertificateParams::new(req.dns_names.clone())
            .map_err(|e| err("certificate names", e))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, req.common_name.as_str());
        p.distinguished_name = dn;
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        p.extended_key_usages = [
            (req.server, ExtendedKeyUsagePurpose::ServerAuth),
            (req.client, ExtendedKeyUsagePurpose::ClientAuth),
        ]
        .into_iter()
        .filter_map(|(on, u)| on.then_some(u))
        .collect();
        p.use_authority_key_identifier_extension = true;
        p.not_before = now - Duration::hours(1);
        p.not_after = now + Duration::days(LEAF_DAYS);
        let key = KeyPair::generate().map_err(|e| err("generate key", e))?;
        let cert = p.signed_by(&key, &issuer).map_err(|e| err("sign", e))?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// The Secret data of the CA itself.
    pub fn secret_data(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("tls.crt".to_string(), self.cert_pem.clone()),
            ("tls.key".to_string(), self.key_pem.clone()),
        ])
    }

    /// The Secret data of a leaf: `tls.crt`, `tls.key` and the CA as `ca.crt`.
    pub fn leaf_data(
        &self,
        req: &CertRequest,
        now: OffsetDateTime,
    ) -> Result<BTreeMap<String, String>, String> {
        let (crt, key) = self.issue(req, now)?;
        Ok(BTreeMap::from([
            ("ca.crt".to_string(), self.cert_pem.clone()),
            ("tls.crt".to_string(), crt),
            ("tls.key".to_string(), key),
        ]))
    }
}

/// The CA's subject for the CA Secret `ca_secret` of namespace `ns`.
pub fn ca_common_name(ns: &str, ca_secret: &str) -> String {
    format!("datalyptica {ns}/{ca_secret}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_carries_the_requested_usages_and_the_ca_rebuilt_from_its_secret_signs() {
        let now = OffsetDateTime::now_utc();
        let ca = Ca::new("test ca", now).expect("ca");
        let again = Ca::from_pem("test ca", &ca.cert_pem, &ca.key_pem).expect("reload");
        let req = CertRequest {
            common_name: "x".into(),
            dns_names: vec!["a.example".into()],
            server: true,
            client: true,
        };
        let d = again.leaf_data(&req, now).expect("leaf");
        assert_eq!(d["ca.crt"], ca.cert_pem);
        assert!(d["tls.crt"].starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(d["tls.key"].contains("PRIVATE KEY"));
        assert!(format!("{ca:?}").contains("test ca") && !format!("{ca:?}").contains("PRIVATE"));
        assert!(Ca::from_pem("x", "nope", "nope").is_err());
    }
}
