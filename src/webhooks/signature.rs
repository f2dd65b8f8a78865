//! Standard Webhooks signatures: `webhook-signature` is a space-separated list of `v1,<base64>`
//! where each value is HMAC-SHA256, keyed by the secret, of `{webhook-id}.{webhook-timestamp}.{body}`.
//! Consumers verify with [`verify_signature`].

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Prefix of every signing secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// How far a `webhook-timestamp` may be from the verifier's clock (replay protection).
pub const TOLERANCE_SECS: i64 = 5 * 60;

/// Why a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("secret must be \"whsec_\" followed by base64")]
    BadSecret,
    #[error("webhook-timestamp is not a unix time in seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is more than {TOLERANCE_SECS} s away from now")]
    OutsideTolerance,
    #[error("no v1 signature in webhook-signature matches")]
    NoMatch,
}

/// A fresh secret: `whsec_` + base64 of 32 random bytes.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

fn mac(
    secret: &str,
    message_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<Hmac<Sha256>, SignatureError> {
    let key = secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|b64| STANDARD.decode(b64).ok())
        .ok_or(SignatureError::BadSecret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| SignatureError::BadSecret)?;
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(mac)
}

/// The `v1,<base64>` signature of one message with one secret.
pub fn sign(
    secret: &str,
    message_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SignatureError> {
    let tag = mac(secret, message_id, timestamp, body)?
        .finalize()
        .into_bytes();
    Ok(format!("v1,{}", STANDARD.encode(tag)))
}

/// Checks a delivery the way a consumer should: the timestamp is within [`TOLERANCE_SECS`] of
/// `now_secs`, and one of the `v1` signatures in the `webhook-signature` header matches
/// (compared in constant time). `body` must be the raw bytes received.
pub fn verify_signature(
    secret: &str,
    message_id: &str,
    timestamp: &str,
    signature_header: &str,
    body: &[u8],
    now_secs: i64,
) -> Result<(), SignatureError> {
    let timestamp: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    if (now_secs - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::OutsideTolerance);
    }
    let expected = mac(secret, message_id, timestamp, body)?;
    let matches = signature_header
        .split_whitespace()
        .filter_map(|part| part.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .any(|tag| expected.clone().verify_slice(&tag).is_ok());
    if matches {
        Ok(())
    } else {
        Err(SignatureError::NoMatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's published test vector.
    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = br#"{"test": 2432232314}"#;
        let signature = sign(secret, id, 1_614_265_330, body).unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(
            verify_signature(secret, id, "1614265330", &signature, body, 1_614_265_330),
            Ok(())
        );
    }

    #[test]
    fn refuses_tampering_replay_and_wrong_secrets() {
        let secret = new_secret();
        let body = b"{\"type\":\"alert.created\"}";
        let now = 1_700_000_000;
        let signature = sign(&secret, "msg_1", now, body).unwrap();
        let header = format!("v1,bm90IGl0 {signature}");
        assert_eq!(
            verify_signature(&secret, "msg_1", &now.to_string(), &header, body, now + 10),
            Ok(())
        );
        assert_eq!(
            verify_signature(&secret, "msg_1", &now.to_string(), &header, b"{}", now),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify_signature(&secret, "msg_2", &now.to_string(), &header, body, now),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify_signature(&secret, "msg_1", &now.to_string(), &header, body, now + 600),
            Err(SignatureError::OutsideTolerance)
        );
        assert_eq!(
            verify_signature(&new_secret(), "msg_1", &now.to_string(), &header, body, now),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify_signature("nope", "msg_1", &now.to_string(), &header, body, now),
            Err(SignatureError::BadSecret)
        );
    }
}
