//! Encryption of an archive under the backup password: Argon2id derives a master key from the
//! password and a random salt; two keys are taken from it with SHA-256 under distinct labels,
//! one for the parts and one for the secrets inside them. Parts are XChaCha20-Poly1305 in the
//! STREAM construction (big-endian 32-bit chunk counter and a last-chunk flag, aead's
//! `EncryptorBE32`): chunks of `CHUNK` plain bytes, each authenticated with the part's id, so
//! a truncated, reordered or swapped part fails to open. The password never leaves this file.
use std::io::{self, BufRead, Read, Write};

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

use super::manifest::{Encryption, Kdf};
use super::RecoveryError;

pub const CIPHER: &str = "xchacha20poly1305-stream-be32";
pub const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
/// XChaCha20's 24-byte nonce less STREAM's 5 bytes of counter and flag.
pub const STREAM_NONCE: usize = 19;
const CHECK_TEXT: &[u8] = b"ferrocenter backup password check";
/// OWASP's Argon2id minimum (19 MiB, 2 passes, 1 lane).
const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

/// The keys derived from a backup password. Never printed.
pub struct BackupKeys {
    parts: [u8; 32],
    secrets: [u8; 32],
}

impl std::fmt::Debug for BackupKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackupKeys(<keys>)")
    }
}

pub fn random<const N: usize>() -> Result<[u8; N], RecoveryError> {
    let mut b = [0u8; N];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| RecoveryError::Crypto("no system randomness".into()))?;
    Ok(b)
}

fn label(l: &str, master: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(l.as_bytes());
    h.update(master);
    h.finalize().into()
}

impl BackupKeys {
    fn derive(password: &str, kdf: &Kdf) -> Result<BackupKeys, RecoveryError> {
        if kdf.algorithm != "argon2id" {
            return Err(RecoveryError::NotAnArchive(format!(
                "unknown key derivation '{}'",
                kdf.algorithm
            )));
        }
        let salt = hex::decode(&kdf.salt).map_err(|_| {
            RecoveryError::NotAnArchive("the key derivation salt is not hex".into())
        })?;
        let params = Params::new(kdf.memory_kib, kdf.iterations, kdf.parallelism, Some(32))
            .map_err(|e| RecoveryError::NotAnArchive(format!("key derivation parameters: {e}")))?;
        let mut master = [0u8; 32];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(password.as_bytes(), &salt, &mut master)
            .map_err(|e| RecoveryError::Crypto(format!("key derivation: {e}")))?;
        Ok(BackupKeys {
            parts: label("ferrocenter backup v1 parts", &master),
            secrets: label("ferrocenter backup v1 secrets", &master),
        })
    }

    /// New keys for a new archive, and what the manifest records of them.
    pub fn create(password: &str) -> Result<(BackupKeys, Encryption), RecoveryError> {
        let kdf = Kdf {
            algorithm: "argon2id".into(),
            memory_kib: MEMORY_KIB,
            iterations: ITERATIONS,
            parallelism: PARALLELISM,
            salt: hex::encode(random::<16>()?),
        };
        let keys = BackupKeys::derive(password, &kdf)?;
        let nonce = random::<24>()?;
        let sealed = XChaCha20Poly1305::new(Key::from_slice(&keys.parts))
            .encrypt(XNonce::from_slice(&nonce), CHECK_TEXT)
            .map_err(|_| RecoveryError::Crypto("sealing the password check failed".into()))?;
        let enc = Encryption {
            cipher: CIPHER.into(),
            chunk_bytes: u32::try_from(CHUNK).unwrap_or(u32::MAX),
            kdf,
            check: hex::encode([nonce.as_slice(), &sealed].concat()),
        };
        Ok((keys, enc))
    }

    /// The keys of an archive, if `password` is its password (`WrongPassword` otherwise).
    pub fn open(password: &str, enc: &Encryption) -> Result<BackupKeys, RecoveryError> {
        if enc.cipher != CIPHER || enc.chunk_bytes as usize != CHUNK {
            return Err(RecoveryError::NotAnArchive(format!(
                "unknown cipher '{}' with {}-byte chunks",
                enc.cipher, enc.chunk_bytes
            )));
        }
        let keys = BackupKeys::derive(password, &enc.kdf)?;
        let raw = hex::decode(&enc.check)
            .map_err(|_| RecoveryError::NotAnArchive("the password check is not hex".into()))?;
        if raw.len() < 24 {
            return Err(RecoveryError::NotAnArchive(
                "the password check is too short".into(),
            ));
        }
        let (nonce, sealed) = raw.split_at(24);
        match XChaCha20Poly1305::new(Key::from_slice(&keys.parts))
            .decrypt(XNonce::from_slice(nonce), sealed)
        {
            Ok(plain) if plain == CHECK_TEXT => Ok(keys),
            _ => Err(RecoveryError::WrongPassword),
        }
    }

    /// The key the archive's secrets are sealed with.
    pub fn secrets_key(&self) -> &[u8; 32] {
        &self.secrets
    }

    pub fn encryptor<W: Write>(
        &self,
        nonce: &[u8; STREAM_NONCE],
        aad: &str,
        out: W,
    ) -> EncryptWriter<W> {
        let cipher = XChaCha20Poly1305::new(Key::from_slice(&self.parts));
        EncryptWriter {
            stream: Some(EncryptorBE32::from_aead(cipher, nonce.as_slice().into())),
            aad: aad.to_string(),
            buf: Vec::with_capacity(CHUNK * 2),
            out,
        }
    }

    pub fn decryptor<R: BufRead>(
        &self,
        nonce: &[u8; STREAM_NONCE],
        aad: &str,
        input: R,
    ) -> DecryptReader<R> {
        let cipher = XChaCha20Poly1305::new(Key::from_slice(&self.parts));
        DecryptReader {
            stream: Some(DecryptorBE32::from_aead(cipher, nonce.as_slice().into())),
            aad: aad.to_string(),
            input,
            plain: Vec::new(),
            pos: 0,
        }
    }
}

fn sealing_failed() -> io::Error {
    io::Error::other("encryption failed")
}

/// Encrypts what is written into chunks. A full chunk is sealed only once more data follows,
/// so the last chunk (sealed by `finish`) is never empty unless the whole stream is.
pub struct EncryptWriter<W: Write> {
    stream: Option<EncryptorBE32<XChaCha20Poly1305>>,
    aad: String,
    buf: Vec<u8>,
    out: W,
}

impl<W: Write> EncryptWriter<W> {
    fn seal_full_chunks(&mut self) -> io::Result<()> {
        while self.buf.len() > CHUNK {
            let stream = self.stream.as_mut().ok_or_else(sealing_failed)?;
            let sealed = stream
                .encrypt_next(Payload {
                    msg: &self.buf[..CHUNK],
                    aad: self.aad.as_bytes(),
                })
                .map_err(|_| sealing_failed())?;
            self.out.write_all(&sealed)?;
            self.buf.drain(..CHUNK);
        }
        Ok(())
    }

    /// Seals the last chunk; returns the writer beneath.
    pub fn finish(mut self) -> io::Result<W> {
        self.seal_full_chunks()?;
        let stream = self.stream.take().ok_or_else(sealing_failed)?;
        let sealed = stream
            .encrypt_last(Payload {
                msg: &self.buf,
                aad: self.aad.as_bytes(),
            })
            .map_err(|_| sealing_failed())?;
        self.out.write_all(&sealed)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for EncryptWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        self.seal_full_chunks()?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Chunks are sealed whole: what is buffered waits for the chunk to fill or `finish`.
        self.out.flush()
    }
}

/// Opens an encrypted part chunk by chunk; a chunk that fails to open (wrong key, tampering,
/// truncation: the last chunk's flag is missing) is an `InvalidData` error.
pub struct DecryptReader<R: BufRead> {
    stream: Option<DecryptorBE32<XChaCha20Poly1305>>,
    aad: String,
    input: R,
    plain: Vec<u8>,
    pos: usize,
}

fn opening_failed() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "an encrypted chunk does not open",
    )
}

impl<R: BufRead> DecryptReader<R> {
    fn next_chunk(&mut self) -> io::Result<()> {
        let mut sealed = Vec::with_capacity(CHUNK + TAG);
        (&mut self.input)
            .take((CHUNK + TAG) as u64)
            .read_to_end(&mut sealed)?;
        let last = sealed.len() < CHUNK + TAG || self.input.fill_buf()?.is_empty();
        let payload = Payload {
            msg: &sealed,
            aad: self.aad.as_bytes(),
        };
        self.plain = if last {
            let stream = self.stream.take().ok_or_else(opening_failed)?;
            stream.decrypt_last(payload).map_err(|_| opening_failed())?
        } else {
            let stream = self.stream.as_mut().ok_or_else(opening_failed)?;
            stream.decrypt_next(payload).map_err(|_| opening_failed())?
        };
        self.pos = 0;
        Ok(())
    }
}

impl<R: BufRead> Read for DecryptReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.plain.len() {
            if self.stream.is_none() {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let n = out.len().min(self.plain.len() - self.pos);
        out[..n].copy_from_slice(&self.plain[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The name an unencrypted archive gives the server key its secrets are sealed with: a hash,
/// from which the key cannot be found.
pub fn server_key_id(key: &[u8; 32]) -> String {
    hex::encode(&label("ferrocenter secret key id", key)[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(len: usize) {
        let (keys, enc) = BackupKeys::create("pw").unwrap();
        let nonce = random::<STREAM_NONCE>().unwrap();
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut w = keys.encryptor(&nonce, "common", Vec::new());
        w.write_all(&data).unwrap();
        let sealed = w.finish().unwrap();
        let keys = BackupKeys::open("pw", &enc).unwrap();
        let mut plain = Vec::new();
        keys.decryptor(&nonce, "common", sealed.as_slice())
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, data, "length {len}");
        // Cut at a chunk boundary: the last-chunk flag is missing, so it does not open.
        if sealed.len() > CHUNK + TAG {
            let cut = &sealed[..CHUNK + TAG];
            let mut out = Vec::new();
            assert!(keys
                .decryptor(&nonce, "common", cut)
                .read_to_end(&mut out)
                .is_err());
        }
        // Another part's id does not open it.
        let mut out = Vec::new();
        assert!(keys
            .decryptor(&nonce, "seat", sealed.as_slice())
            .read_to_end(&mut out)
            .is_err());
    }

    #[test]
    fn chunks_round_trip_at_every_boundary() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 7] {
            round_trip(len);
        }
    }

    #[test]
    fn a_wrong_password_is_told_apart() {
        let (_, enc) = BackupKeys::create("right").unwrap();
        assert!(matches!(
            BackupKeys::open("wrong", &enc),
            Err(RecoveryError::WrongPassword)
        ));
    }
}
