//! Bytes of a YAML stream → text. YAML 1.2 (§5.2) streams may be UTF-8, UTF-16 or UTF-32; the
//! encoding is given by a byte-order mark or, without one, by the null bytes around the first
//! character (which is ASCII in any YAML document).

use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    Utf32Le,
    Utf32Be,
}

/// The encoding and the length of its byte-order mark (0 without one).
fn detect(b: &[u8]) -> (Encoding, usize) {
    use Encoding::*;
    match b {
        [0, 0, 0xFE, 0xFF, ..] => (Utf32Be, 4),
        [0, 0, 0, _, ..] => (Utf32Be, 0),
        [0xFF, 0xFE, 0, 0, ..] => (Utf32Le, 4),
        [_, 0, 0, 0, ..] => (Utf32Le, 0),
        [0xFE, 0xFF, ..] => (Utf16Be, 2),
        [0, _, ..] => (Utf16Be, 0),
        [0xFF, 0xFE, ..] => (Utf16Le, 2),
        [_, 0, ..] => (Utf16Le, 0),
        [0xEF, 0xBB, 0xBF, ..] => (Utf8, 3),
        _ => (Utf8, 0),
    }
}

/// Whether the bytes are UTF-8 without a byte order mark as far as YAML's detection goes (not
/// UTF-16/32 by their zero bytes): then they are their own text if they are valid UTF-8.
pub fn plain_utf8(bytes: &[u8]) -> bool {
    matches!(detect(bytes), (Encoding::Utf8, 0))
}

/// Decode a YAML stream's bytes to text, without its byte-order mark. Invalid sequences become
/// U+FFFD (the parser then reports what no longer makes sense; the rest of a tree is not held
/// up by one file's bytes).
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let (enc, bom) = detect(bytes);
    let body = &bytes[bom..];
    let units16 = |be: bool| {
        body.chunks(2).map(move |c| match c {
            [a, b] if be => u16::from_be_bytes([*a, *b]),
            [a, b] => u16::from_le_bytes([*a, *b]),
            // An odd trailing byte cannot be a character.
            _ => 0xFFFD,
        })
    };
    let units32 = |be: bool| {
        body.chunks(4).map(move |c| {
            let w = match c {
                [a, b, c, d] if be => u32::from_be_bytes([*a, *b, *c, *d]),
                [a, b, c, d] => u32::from_le_bytes([*a, *b, *c, *d]),
                _ => 0xFFFD,
            };
            char::from_u32(w).unwrap_or(char::REPLACEMENT_CHARACTER)
        })
    };
    let utf16 = |be: bool| -> String {
        char::decode_utf16(units16(be))
            .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect()
    };
    match enc {
        Encoding::Utf8 => String::from_utf8_lossy(body),
        Encoding::Utf16Le => Cow::Owned(utf16(false)),
        Encoding::Utf16Be => Cow::Owned(utf16(true)),
        Encoding::Utf32Le => Cow::Owned(units32(false).collect()),
        Encoding::Utf32Be => Cow::Owned(units32(true).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# café\nkind: ConfigMap\nname: \"ü€𝄞\"\n";

    fn utf16(be: bool, bom: bool) -> Vec<u8> {
        let mut v = Vec::new();
        for u in (if bom { "\u{FEFF}" } else { "" })
            .encode_utf16()
            .chain(TEXT.encode_utf16())
        {
            v.extend(if be { u.to_be_bytes() } else { u.to_le_bytes() });
        }
        v
    }

    fn utf32(be: bool, bom: bool) -> Vec<u8> {
        let mut v = Vec::new();
        for c in (if bom { "\u{FEFF}" } else { "" })
            .chars()
            .chain(TEXT.chars())
        {
            let w = c as u32;
            v.extend(if be { w.to_be_bytes() } else { w.to_le_bytes() });
        }
        v
    }

    #[test]
    fn every_yaml_encoding_with_and_without_bom() {
        for bom in [true, false] {
            for be in [true, false] {
                assert_eq!(decode(&utf16(be, bom)), TEXT, "utf-16 be={be} bom={bom}");
                assert_eq!(decode(&utf32(be, bom)), TEXT, "utf-32 be={be} bom={bom}");
            }
        }
        let mut u8bom = vec![0xEF, 0xBB, 0xBF];
        u8bom.extend(TEXT.as_bytes());
        assert_eq!(decode(&u8bom), TEXT);
        assert!(matches!(decode(TEXT.as_bytes()), Cow::Borrowed(_)));
    }

    #[test]
    fn broken_sequences_become_replacement_characters() {
        // A lone UTF-16 surrogate and an odd trailing byte.
        let mut b = utf16(false, true);
        b.extend([0x00, 0xD8, 0x41]);
        let s = decode(&b);
        assert!(
            s.starts_with(TEXT) && s.ends_with("\u{FFFD}\u{FFFD}"),
            "{s:?}"
        );
        assert_eq!(decode(b"a: \xff\n"), "a: \u{FFFD}\n");
    }
}
