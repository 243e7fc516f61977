//! C2SP tlog-checkpoint v1.0.0 note text: origin, tree size, base64 root hash.

use super::merkle::Hash;
use crate::signing::{Note, NoteError, NoteSigner, Verifiers};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

/// Why a checkpoint is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The note text is not a checkpoint body.
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    /// The signed-note layer refused it.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The origin is not the one expected.
    #[error("checkpoint origin {got:?} is not the expected {want:?}")]
    Origin {
        /// Found.
        got: String,
        /// Expected.
        want: String,
    },
}

/// A tree head: which log, how many leaves, which root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log identity, e.g. `tongban.example/ledger`.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 root hash at that size.
    pub root: Hash,
}

impl Checkpoint {
    /// The note text (three lines, each ending in a newline; no extension lines).
    pub fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Parses a checkpoint body. Extension lines are allowed and ignored, as the spec says.
    pub fn parse_text(text: &str) -> Result<Checkpoint, CheckpointError> {
        let mut lines = text.split('\n');
        let origin = lines.next().unwrap_or_default();
        let size = lines
            .next()
            .ok_or(CheckpointError::Malformed("no size line"))?;
        let root = lines
            .next()
            .ok_or(CheckpointError::Malformed("no root line"))?;
        if origin.is_empty() {
            return Err(CheckpointError::Malformed("empty origin"));
        }
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(CheckpointError::Malformed(
                "size is not a decimal without leading zeroes",
            ));
        }
        let size: u64 = size
            .parse()
            .map_err(|_| CheckpointError::Malformed("size out of range"))?;
        let root: Hash = B64
            .decode(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or(CheckpointError::Malformed(
                "root is not a base64 32-byte hash",
            ))?;
        if !text.ends_with('\n') {
            return Err(CheckpointError::Malformed("does not end in a newline"));
        }
        let rest: Vec<&str> = lines.collect();
        // After the final newline split yields one empty string; extension lines must be non-empty.
        if rest[..rest.len().saturating_sub(1)]
            .iter()
            .any(|l| l.is_empty())
        {
            return Err(CheckpointError::Malformed("empty extension line"));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    /// Signs this checkpoint as a signed note.
    pub fn sign(&self, signers: &[&dyn NoteSigner]) -> Result<String, CheckpointError> {
        Ok(Note::sign(&self.to_text(), signers)?.to_string())
    }
}

/// A checkpoint parsed from a signed note, not yet verified.
#[derive(Clone, Debug)]
pub struct SignedCheckpoint {
    /// The body.
    pub checkpoint: Checkpoint,
    /// The whole note.
    pub note: Note,
}

impl SignedCheckpoint {
    /// Parses a signed note holding a checkpoint (signatures not checked).
    pub fn parse(note_text: &str) -> Result<SignedCheckpoint, CheckpointError> {
        let note = Note::parse(note_text)?;
        let checkpoint = Checkpoint::parse_text(&note.text)?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// Parses and verifies against trusted keys.
    pub fn open(note_text: &str, verifiers: &Verifiers) -> Result<Checkpoint, CheckpointError> {
        let s = Self::parse(note_text)?;
        s.note.verify(verifiers)?;
        Ok(s.checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c2sp_checkpoint_example_body_parses() {
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let c = Checkpoint::parse_text(text).unwrap();
        assert_eq!(c.origin, "example.com/behind-the-sofa");
        assert_eq!(c.size, 20852163);
        assert_eq!(c.to_text(), text);
    }

    #[test]
    fn leading_zero_size_and_short_root_are_refused() {
        assert!(
            Checkpoint::parse_text("o\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
                .is_err()
        );
        assert!(Checkpoint::parse_text("o\n1\nZG9uJ3QgY2FyZSAy\n").is_err());
        assert!(Checkpoint::parse_text("o\n1\n").is_err());
    }
}
