//! Bounds on what one YAML input may cost, and a file reader that never reads past them.

use std::io::Read;
use std::path::Path;

use crate::{Error, Pos};

/// What one input may cost. The defaults ([`Limits::default`]) leave real manifests and specs
/// far below every bound (the largest rendered platform tree: 15 levels deep, no aliases) and
/// stop hostile ones with a positioned [`Error`] long before memory or time run out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one input (a file, stdin, a spec). 64 MiB: 20 times the Kubernetes API
    /// server's request limit (3 MiB), a whole cluster's manifests in one file.
    pub max_bytes: usize,
    /// Nesting depth of mappings and sequences, counting what aliases bring in. 100: deeper
    /// than any Kubernetes object or CRD schema (rendered tree: 15; upstream CRDs: 40), and far
    /// below what the recursive code downstream (serde, the lint rules) could overflow on.
    pub max_depth: usize,
    /// Aliases (`*name`) in one document. 10,000.
    pub max_aliases: usize,
    /// Nodes copied by anchors and aliases in one document (a copy of a 50-node mapping counts
    /// 50). 400,000: where the Kubernetes API server's YAML decoder starts refusing heavy
    /// aliasing. "Billion laughs" (9 levels of 9 aliases) needs 387,420,489.
    pub max_alias_nodes: usize,
    /// Bytes of scalar and key text copied by anchors and aliases in one document. 16 MiB
    /// (a few aliases of one huge string would otherwise pass the node count).
    pub max_alias_bytes: usize,
    /// The position index holds one JSON pointer per node: their total length may be this many
    /// times the input's size (plus 1 MiB), which real files stay well below (a nested manifest:
    /// about 3). Stops long keys nested deep from growing it with the square of the input.
    pub path_factor: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 * 1024 * 1024,
            max_depth: 100,
            max_aliases: 10_000,
            max_alias_nodes: 400_000,
            max_alias_bytes: 16 * 1024 * 1024,
            path_factor: 16,
        }
    }
}

impl Limits {
    /// An input longer than [`Limits::max_bytes`] is refused as a whole, at the line where it
    /// crosses the limit.
    pub fn check_size(&self, src: &str) -> Result<(), Error> {
        if src.len() <= self.max_bytes {
            return Ok(());
        }
        let head = &src.as_bytes()[..self.max_bytes];
        let line = head.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = head.len() - head.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
        Err(Error {
            message: format!(
                "input larger than the limit of {} bytes (limit max_bytes); nothing of it was read as YAML",
                self.max_bytes
            ),
            pos: Pos { line, column },
        })
    }

    pub(crate) fn depth_message(&self) -> String {
        format!(
            "nesting deeper than {} levels (limit max_depth)",
            self.max_depth
        )
    }

    pub(crate) fn path_budget(&self, input: usize) -> usize {
        input
            .saturating_mul(self.path_factor)
            .saturating_add(1024 * 1024)
    }
}

/// A file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct ReadError {
    pub path: String,
    pub source: std::io::Error,
}

/// Read a file as text, but never more than `max_bytes + 1` bytes: a path that never ends
/// (`/dev/zero`, a FIFO nobody closes) comes back cut just past the limit, which
/// [`Limits::check_size`] (and so [`crate::parse_with`]) then refuses with the line of the cut.
/// Invalid UTF-8 is replaced (U+FFFD) so that the parser can point at it.
pub fn read_bounded(path: &Path, max_bytes: usize) -> Result<String, ReadError> {
    let buf = read_bounded_bytes(path, max_bytes)?;
    Ok(match String::from_utf8(buf) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// [`read_bounded`] without the decoding: at most `max_bytes + 1` bytes of the file, for a
/// caller that decodes other encodings (UTF-16/32, see [`crate::decode`]) itself.
pub fn read_bounded_bytes(path: &Path, max_bytes: usize) -> Result<Vec<u8>, ReadError> {
    let err = |source| ReadError {
        path: path.display().to_string(),
        source,
    };
    let f = std::fs::File::open(path).map_err(err)?;
    let cap = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    // `take` hides the file's size from `read_to_end`, which would then grow the buffer from
    // nothing, copying it at every doubling: size it from the metadata (a hint; a file that
    // grows meanwhile is still read to the cap).
    let hint = f.metadata().map_or(0, |m| m.len()).min(cap);
    let mut buf = Vec::with_capacity(usize::try_from(hint).unwrap_or(0).saturating_add(1));
    f.take(cap).read_to_end(&mut buf).map_err(err)?;
    Ok(buf)
}
