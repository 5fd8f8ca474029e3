//! A throw-away certificate authority for one control plane: the kube-apiserver's
//! serving certificate, client certificates, and the simulator's webhook certificate
//! all chain to it, so every TLS connection on the ground is verified.

use std::net::{IpAddr, Ipv4Addr};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

use crate::Error;

/// A PEM certificate with its PEM private key.
#[derive(Clone, Debug)]
pub struct CertPair {
    pub cert_pem: String,
    pub key_pem: String,
}

pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Authority {
    pub fn new(common_name: &str) -> Result<Self, Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        Ok(Self { issuer })
    }

    pub fn ca_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A serving certificate for loopback (`localhost`, `127.0.0.1`).
    pub fn serving(&self, common_name: &str) -> Result<CertPair, Error> {
        let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(params)
    }

    /// A client certificate: Kubernetes reads the user from CN and groups from O.
    pub fn client(&self, user: &str, groups: &[&str]) -> Result<CertPair, Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, user);
        for group in groups {
            params
                .distinguished_name
                .push(DnType::OrganizationName, *group);
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params)
    }

    fn sign(&self, params: CertificateParams) -> Result<CertPair, Error> {
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        let key_pem = key.serialize_pem();
        crate::secrets::remember(&key_pem);
        Ok(CertPair {
            cert_pem: cert.pem(),
            key_pem,
        })
    }
}

/// The service-account token signer: (private key PEM, public key PEM). The apiserver
/// verifies with the public half and signs with the private one.
pub fn signing_key_pair() -> Result<(String, String), Error> {
    let key = KeyPair::generate()?;
    let private = key.serialize_pem();
    crate::secrets::remember(&private);
    Ok((private, key.public_key_pem()))
}
