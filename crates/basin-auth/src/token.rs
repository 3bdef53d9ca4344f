//! Token text: `basin_<id>_<secret>`, made from the system's randomness.

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::AuthError;

/// Every token starts with this, so leaked tokens are easy to find (secret
/// scanners, grep) and to tell from other credentials.
pub const TOKEN_PREFIX: &str = "basin_";

/// Bytes of randomness in an id (public, shown by `token list`, in hex).
const ID_BYTES: usize = 9;
/// Bytes of randomness in a secret.
const SECRET_BYTES: usize = 32;

/// A new token: its id and full text.
pub(crate) fn generate() -> Result<(String, String), AuthError> {
    // Hex: an id never starts with `-`, which command lines take for a flag.
    let id = random_bytes(ID_BYTES)?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let secret = random_text(SECRET_BYTES)?;
    let text = format!("{TOKEN_PREFIX}{id}_{secret}");
    Ok((id, text))
}

/// The id and secret of a token's text.
pub(crate) fn split(text: &str) -> Result<(&str, &str), AuthError> {
    let rest = text
        .trim()
        .strip_prefix(TOKEN_PREFIX)
        .ok_or(AuthError::Malformed)?;
    let (id, secret) = rest.split_once('_').ok_or(AuthError::Malformed)?;
    let sane = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let hex_id = id.len() == 2 * ID_BYTES && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex_id || !sane(secret, encoded_len(SECRET_BYTES)) {
        return Err(AuthError::Malformed);
    }
    Ok((id, secret))
}

/// SHA-256 of a secret, as stored.
pub(crate) fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Equality that takes the same time wherever the inputs differ.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random_bytes(n: usize) -> Result<Vec<u8>, AuthError> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(buf)
}

fn random_text(bytes: usize) -> Result<String, AuthError> {
    // The URL-safe alphabet has `_`, our separator: secrets use `-` for it.
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(bytes)?);
    Ok(text.replace('_', "-"))
}

fn encoded_len(bytes: usize) -> usize {
    (bytes * 8).div_ceil(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_back_into_their_parts() {
        let (id, text) = generate().unwrap();
        assert!(text.starts_with(TOKEN_PREFIX));
        let (got_id, secret) = split(&text).unwrap();
        assert_eq!(got_id, id);
        assert_eq!(id.len(), 18);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(secret.len(), 43);
        assert!(same(&hash(secret), &hash(secret)));
        assert!(!same(&hash(secret), &hash("other")));
        for bad in [
            "",
            "basin_",
            "basin_abc",
            "glpat_x_y",
            &text[..text.len() - 1],
        ] {
            assert!(split(bad).is_err(), "{bad}");
        }
    }
}
