//! Signed visitor identities: the JWT a site passes to the widget through
//! `Beckon.setAuthenticationTokenProvider`, verified with the site's key (HS256 with a shared secret, or
//! RS256 with the site's public key) by `jsonwebtoken`. The clock is an argument, so expiry is decided
//! by the caller's time.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use protocol::records::MAX_CONTACT_FIELD_CHARS;
use serde::Deserialize;

/// The longest token the server reads.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// How far the site's clock and Beckon's may disagree about `exp` and `nbf`, in seconds.
pub const LEEWAY_SECONDS: i64 = 60;
/// The shortest HS256 secret a site may configure, in bytes (the hash's size, as RFC 7518 asks).
pub const MIN_SECRET_BYTES: usize = 32;

/// What verifies one site's tokens.
#[derive(Clone)]
pub struct IdentityKey {
    algorithm: Algorithm,
    key: DecodingKey,
    audience: String,
    issuer: Option<String>,
}

impl std::fmt::Debug for IdentityKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key: a secret must not reach a log.
        formatter
            .debug_struct("IdentityKey")
            .field("algorithm", &self.algorithm)
            .field("audience", &self.audience)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// The customer a verified token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    /// `sub`: the site's own id for the customer.
    pub subject: String,
    /// `name`, or the email address, or the subject when the token has neither.
    pub name: String,
    pub email: String,
    /// `phone_number`, as OpenID Connect names it.
    pub phone: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone_number: Option<String>,
}

impl IdentityKey {
    /// HS256 with a secret the site and Beckon share.
    pub fn hs256(
        secret: &str,
        audience: String,
        issuer: Option<String>,
    ) -> Result<IdentityKey, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the HS256 secret is {} bytes; it needs at least {MIN_SECRET_BYTES}",
                secret.len()
            ));
        }
        let key = DecodingKey::from_secret(secret.as_bytes())
            .map_err(|error| format!("the HS256 secret is not usable: {error}"))?;
        Ok(IdentityKey {
            algorithm: Algorithm::HS256,
            key,
            audience,
            issuer,
        })
    }

    /// RS256 with the site's RSA public key, in PEM.
    pub fn rs256(
        public_key_pem: &[u8],
        audience: String,
        issuer: Option<String>,
    ) -> Result<IdentityKey, String> {
        let key = DecodingKey::from_rsa_pem(public_key_pem)
            .map_err(|error| format!("not an RSA public key in PEM: {error}"))?;
        Ok(IdentityKey {
            algorithm: Algorithm::RS256,
            key,
            audience,
            issuer,
        })
    }

    /// The customer the token names, or why it is refused, in words a site's developer can act on.
    pub fn verify(&self, token: &str, now_ms: i64) -> Result<VerifiedIdentity, String> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(format!(
                "the identity token is {} bytes; the most is {MAX_TOKEN_BYTES}",
                token.len()
            ));
        }
        let mut validation = Validation::new(self.algorithm);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        if let Some(issuer) = &self.issuer {
            validation.set_required_spec_claims(&["exp", "aud", "sub", "iss"]);
            validation.set_issuer(&[issuer]);
        }
        // Expiry is checked below against the caller's clock.
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<Claims>(token, &self.key, &validation)
            .map_err(|error| self.refusal(error.kind()))?
            .claims;
        let now = now_ms.div_euclid(1000);
        if claims.exp + LEEWAY_SECONDS < now {
            return Err(format!(
                "the identity token expired {} s ago",
                now - claims.exp
            ));
        }
        if let Some(not_before) = claims.nbf
            && not_before - LEEWAY_SECONDS > now
        {
            return Err("the identity token is not valid yet (`nbf`)".to_owned());
        }
        let subject = claims.sub.trim().to_owned();
        if subject.is_empty() || subject.chars().count() > MAX_CONTACT_FIELD_CHARS {
            return Err(format!(
                "the identity token's `sub` must have 1 to {MAX_CONTACT_FIELD_CHARS} characters"
            ));
        }
        let field = |value: Option<String>| cut(value.unwrap_or_default().trim());
        let email = field(claims.email);
        let name = [field(claims.name), email.clone(), cut(&subject)]
            .into_iter()
            .find(|name| !name.is_empty())
            .unwrap_or_default();
        Ok(VerifiedIdentity {
            subject,
            name,
            email,
            phone: field(claims.phone_number),
        })
    }

    fn refusal(&self, kind: &ErrorKind) -> String {
        let expected = match self.algorithm {
            Algorithm::RS256 => "RS256",
            _ => "HS256",
        };
        match kind {
            ErrorKind::InvalidSignature => {
                "the identity token's signature does not match the site's key".to_owned()
            }
            ErrorKind::InvalidAlgorithm => {
                format!("the identity token is not signed with {expected}, as the site's key is")
            }
            ErrorKind::InvalidAudience => format!(
                "the identity token is for another audience; this site expects `{}`",
                self.audience
            ),
            ErrorKind::InvalidIssuer => "the identity token comes from another issuer".to_owned(),
            ErrorKind::MissingRequiredClaim(claim) => {
                format!("the identity token has no `{claim}` claim")
            }
            ErrorKind::Json(error) => format!("the identity token's claims are malformed: {error}"),
            _ => "the identity token is not a JWT".to_owned(),
        }
    }
}

/// A claim within the contact field's length.
fn cut(value: &str) -> String {
    value.chars().take(MAX_CONTACT_FIELD_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    use super::*;

    const SECRET: &str = "a-site-secret-of-at-least-32-bytes!";
    const NOW_MS: i64 = 1_800_000_000_000;
    const PRIVATE: &[u8] = include_bytes!("../../tests/data/identity-rs256.pem");
    const PUBLIC: &[u8] = include_bytes!("../../tests/data/identity-rs256.pub.pem");
    const OTHER_PRIVATE: &[u8] = include_bytes!("../../tests/data/identity-other.pem");

    fn claims(exp_from_now: i64) -> serde_json::Value {
        json!({
            "sub": "customer-42", "aud": "shop.example", "exp": NOW_MS / 1000 + exp_from_now,
            "name": "Ana Pereira", "email": "ana@example.com", "phone_number": "+351 21 000 0000",
        })
    }

    fn hs256(claims: &serde_json::Value, secret: &str) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    fn rs256(claims: &serde_json::Value, private: &[u8]) -> String {
        encode(
            &Header::new(Algorithm::RS256),
            claims,
            &EncodingKey::from_rsa_pem(private).unwrap(),
        )
        .unwrap()
    }

    fn site_key() -> IdentityKey {
        IdentityKey::hs256(SECRET, "shop.example".to_owned(), None).unwrap()
    }

    #[test]
    fn a_signed_identity_names_the_customer() {
        let verified = site_key()
            .verify(&hs256(&claims(300), SECRET), NOW_MS)
            .unwrap();
        assert_eq!(
            verified,
            VerifiedIdentity {
                subject: "customer-42".to_owned(),
                name: "Ana Pereira".to_owned(),
                email: "ana@example.com".to_owned(),
                phone: "+351 21 000 0000".to_owned(),
            }
        );
        let rsa = IdentityKey::rs256(PUBLIC, "shop.example".to_owned(), None).unwrap();
        assert_eq!(
            rsa.verify(&rs256(&claims(300), PRIVATE), NOW_MS)
                .unwrap()
                .name,
            "Ana Pereira"
        );
    }

    #[test]
    fn forged_expired_and_misdirected_tokens_are_refused_with_the_reason() {
        let key = site_key();
        let refused = |token: &str| key.verify(token, NOW_MS).unwrap_err();
        assert!(
            refused(&hs256(&claims(300), "another-secret-of-at-least-32-bytes"))
                .contains("signature"),
        );
        assert!(refused(&hs256(&claims(-600), SECRET)).contains("expired 600 s ago"));
        // Within the leeway, a token just past its expiry still counts.
        assert!(key.verify(&hs256(&claims(-30), SECRET), NOW_MS).is_ok());
        let mut elsewhere = claims(300);
        elsewhere["aud"] = json!("other.example");
        assert!(refused(&hs256(&elsewhere, SECRET)).contains("expects `shop.example`"));
        let mut anonymous = claims(300);
        anonymous.as_object_mut().unwrap().remove("sub");
        assert!(refused(&hs256(&anonymous, SECRET)).contains("`sub`"));
        let mut early = claims(300);
        early["nbf"] = json!(NOW_MS / 1000 + 3600);
        assert!(refused(&hs256(&early, SECRET)).contains("not valid yet"));
        assert!(refused("not.a.jwt").contains("not a JWT"));
        assert!(refused(&"x".repeat(MAX_TOKEN_BYTES + 1)).contains("bytes"));
        // An RS256 token against an HS256 site, and one signed with someone else's RSA key.
        assert!(refused(&rs256(&claims(300), PRIVATE)).contains("HS256"));
        let rsa = IdentityKey::rs256(PUBLIC, "shop.example".to_owned(), None).unwrap();
        assert!(
            rsa.verify(&rs256(&claims(300), OTHER_PRIVATE), NOW_MS)
                .unwrap_err()
                .contains("signature")
        );
        // The HS256 secret itself, used as an RS256 site's "public key", is no way in.
        assert!(
            rsa.verify(&hs256(&claims(300), SECRET), NOW_MS)
                .unwrap_err()
                .contains("RS256")
        );
    }

    #[test]
    fn claims_fill_the_contact_and_keys_are_checked() {
        let mut bare = claims(300);
        for claim in ["name", "phone_number"] {
            bare.as_object_mut().unwrap().remove(claim);
        }
        let verified = site_key().verify(&hs256(&bare, SECRET), NOW_MS).unwrap();
        assert_eq!(
            (verified.name.as_str(), verified.phone.as_str()),
            ("ana@example.com", "")
        );
        let mut long = claims(300);
        long["name"] = json!("n".repeat(1000));
        let verified = site_key().verify(&hs256(&long, SECRET), NOW_MS).unwrap();
        assert_eq!(verified.name.chars().count(), MAX_CONTACT_FIELD_CHARS);
        assert!(
            IdentityKey::hs256("short", "a".to_owned(), None)
                .unwrap_err()
                .contains("32")
        );
        assert!(IdentityKey::rs256(b"nope", "a".to_owned(), None).is_err());
        let issued = IdentityKey::hs256(
            SECRET,
            "shop.example".to_owned(),
            Some("https://shop.example".to_owned()),
        )
        .unwrap();
        assert!(
            issued
                .verify(&hs256(&claims(300), SECRET), NOW_MS)
                .unwrap_err()
                .contains("`iss`")
        );
        assert!(!format!("{:?}", site_key()).contains(SECRET));
    }
}
