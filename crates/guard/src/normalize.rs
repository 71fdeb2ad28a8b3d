//! Normalisation: one canonical, lower-case, mostly-ASCII form of a text, with a map back to the
//! original bytes and the list of transformations that changed something.
//!
//! Order: Unicode tag characters decoded to ASCII, zero-width and bidi controls removed, NFKC
//! (fullwidth and mathematical alphanumerics become ASCII), confusables mapped to their ASCII
//! prototype (Unicode UTS #39 data), combining marks dropped, case folded, leetspeak undone in
//! words that mix letters and digits, letter-spacing (`i g n o r e`, `i.g.n.o.r.e`) collapsed,
//! whitespace runs squeezed to one space.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A transformation that changed the text, in the order they are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Transform {
    UnicodeTags,
    ZeroWidth,
    Bidi,
    Nfkc,
    Confusables,
    CombiningMarks,
    CaseFold,
    Leetspeak,
    LetterSpacing,
}

impl Transform {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::UnicodeTags => "unicode tag characters decoded",
            Self::ZeroWidth => "zero-width characters removed",
            Self::Bidi => "bidi controls removed",
            Self::Nfkc => "NFKC (fullwidth, mathematical alphanumerics)",
            Self::Confusables => "confusables mapped",
            Self::CombiningMarks => "combining marks removed",
            Self::CaseFold => "case folded",
            Self::Leetspeak => "leetspeak undone",
            Self::LetterSpacing => "letter-spacing collapsed",
        }
    }
}

/// The set of transforms applied, as a bit set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Transforms(u16);

impl Transforms {
    fn add(&mut self, t: Transform) {
        self.0 |= 1 << (t as u16);
    }

    pub(crate) fn contains(self, t: Transform) -> bool {
        self.0 & (1 << (t as u16)) != 0
    }

    /// The labels of the transforms that changed more than case.
    pub(crate) fn labels(self) -> Vec<String> {
        use Transform::*;
        [
            UnicodeTags,
            ZeroWidth,
            Bidi,
            Nfkc,
            Confusables,
            CombiningMarks,
            Leetspeak,
            LetterSpacing,
        ]
        .into_iter()
        .filter(|t| self.contains(*t))
        .map(|t| t.label().to_owned())
        .collect()
    }
}

/// A normalised text.
#[derive(Debug, Clone)]
pub(crate) struct Normalized {
    pub(crate) text: String,
    /// For each byte of `text`, the offset of the source byte it comes from.
    pub(crate) map: Vec<u32>,
    pub(crate) transforms: Transforms,
}

impl Normalized {
    /// The source byte range a range of the normalised text comes from. `src_len` bounds it.
    pub(crate) fn source_span(&self, start: usize, end: usize, src: &str) -> (usize, usize) {
        if self.map.is_empty() || start >= self.map.len() {
            return (src.len(), src.len());
        }
        let s = self.map[start] as usize;
        let last = self.map[end.saturating_sub(1).clamp(start, self.map.len() - 1)] as usize;
        let mut e = last + 1;
        while e < src.len() && !src.is_char_boundary(e) {
            e += 1;
        }
        (s, e.min(src.len()))
    }
}

fn is_zero_width(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
    )
}

fn is_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Characters that are invisible in rendered text (removed before decoding encoded runs).
pub(crate) fn is_invisible(c: char) -> bool {
    is_zero_width(c) || is_bidi(c) || ('\u{E0000}'..='\u{E007F}').contains(&c)
}

/// Normalises `src`. Pure-ASCII input takes a fast path (no Unicode tables).
pub(crate) fn normalize(src: &str) -> Normalized {
    let mut out = Normalized {
        text: String::with_capacity(src.len() + 8),
        map: Vec::with_capacity(src.len() + 8),
        transforms: Transforms::default(),
    };
    let mut buf: Vec<u8> = Vec::with_capacity(src.len() + 8);
    if src.is_ascii() {
        buf.extend_from_slice(src.as_bytes());
        buf.make_ascii_lowercase();
        if buf.as_slice() != src.as_bytes() {
            out.transforms.add(Transform::CaseFold);
        }
        out.map.extend(0..src.len() as u32);
    } else {
        unicode_pass(src, &mut buf, &mut out.map, &mut out.transforms);
    }
    let (buf, map) = leet_pass(buf, std::mem::take(&mut out.map), &mut out.transforms);
    let (buf, map) = spacing_pass(buf, map, &mut out.transforms);
    // Every pass replaces ASCII with ASCII and copies whole UTF-8 sequences otherwise.
    out.text = String::from_utf8(buf)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    out.map = map;
    if out.map.len() != out.text.len() {
        // Lossy conversion changed lengths (cannot happen for valid input); keep spans sane.
        out.map = (0..out.text.len() as u32)
            .map(|i| i.min(src.len() as u32))
            .collect();
    }
    out
}

fn push_char(buf: &mut Vec<u8>, map: &mut Vec<u32>, c: char, at: usize) {
    let mut tmp = [0u8; 4];
    for &b in c.encode_utf8(&mut tmp).as_bytes() {
        buf.push(b);
        map.push(at as u32);
    }
}

fn unicode_pass(src: &str, buf: &mut Vec<u8>, map: &mut Vec<u32>, tf: &mut Transforms) {
    let bytes = src.as_bytes();
    let mut skip_to = 0;
    for (at, c) in src.char_indices() {
        if at < skip_to {
            continue;
        }
        if c.is_ascii() {
            // Copy the whole ASCII run at once.
            let end = bytes[at..]
                .iter()
                .position(|b| !b.is_ascii())
                .map_or(bytes.len(), |p| at + p);
            let from = buf.len();
            buf.extend_from_slice(&bytes[at..end]);
            buf[from..].make_ascii_lowercase();
            if buf[from..] != bytes[at..end] {
                tf.add(Transform::CaseFold);
            }
            map.extend(at as u32..end as u32);
            skip_to = end;
            continue;
        }
        // Unicode tags (U+E0020..U+E007E) mirror ASCII and are invisible: "ASCII smuggling".
        if ('\u{E0020}'..='\u{E007E}').contains(&c) {
            tf.add(Transform::UnicodeTags);
            let ascii = (c as u32 - 0xE0000) as u8;
            buf.push(ascii.to_ascii_lowercase());
            map.push(at as u32);
            continue;
        }
        if ('\u{E0000}'..='\u{E007F}').contains(&c) {
            tf.add(Transform::UnicodeTags);
            continue;
        }
        if is_zero_width(c) {
            tf.add(Transform::ZeroWidth);
            continue;
        }
        if is_bidi(c) {
            tf.add(Transform::Bidi);
            continue;
        }
        if is_combining_mark(c) {
            tf.add(Transform::CombiningMarks);
            continue;
        }
        let mut nfkc_changed = false;
        let mut decomposed = String::new();
        for d in std::iter::once(c).nfkc() {
            decomposed.push(d);
        }
        if decomposed.chars().ne(std::iter::once(c)) {
            nfkc_changed = true;
        }
        for d in decomposed.chars() {
            if d.is_ascii() {
                if nfkc_changed {
                    tf.add(Transform::Nfkc);
                }
                let lower = d.to_ascii_lowercase();
                if lower != d {
                    tf.add(Transform::CaseFold);
                }
                buf.push(lower as u8);
                map.push(at as u32);
                continue;
            }
            if d.is_whitespace() {
                tf.add(Transform::Nfkc);
                buf.push(b' ');
                map.push(at as u32);
                continue;
            }
            if is_combining_mark(d) {
                tf.add(Transform::CombiningMarks);
                continue;
            }
            match ascii_prototype(d) {
                Some(proto) => {
                    tf.add(Transform::Confusables);
                    for p in proto.bytes() {
                        buf.push(p.to_ascii_lowercase());
                        map.push(at as u32);
                    }
                }
                None => {
                    let mut lowered = d.to_lowercase();
                    if lowered.len() == 1 && lowered.next() == Some(d) {
                        push_char(buf, map, d, at);
                    } else {
                        tf.add(Transform::CaseFold);
                        for l in d.to_lowercase() {
                            push_char(buf, map, l, at);
                        }
                    }
                }
            }
        }
    }
}

/// The ASCII letters or digits a non-ASCII character is confusable with (UTS #39 skeleton,
/// without combining marks), if any.
fn ascii_prototype(c: char) -> Option<String> {
    let mut tmp = [0u8; 4];
    let skeleton: String =
        unicode_security::confusable_detection::skeleton(c.encode_utf8(&mut tmp))
            .filter(|s| !is_combining_mark(*s))
            .collect();
    if !skeleton.is_empty()
        && skeleton.len() <= 3
        && skeleton.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        // The skeleton of an upper-case letter can be a digit-like prototype (`l` for `I`):
        // prefer the lower-case letter when the character has one that is ASCII.
        let lower: String = c.to_lowercase().collect();
        if lower.is_ascii() {
            return Some(lower);
        }
        Some(skeleton)
    } else {
        let lower: String = c.to_lowercase().collect();
        (lower.is_ascii() && lower.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(lower)
    }
}

fn leet_letter(b: u8) -> Option<u8> {
    Some(match b {
        b'0' => b'o',
        b'1' => b'i',
        b'3' => b'e',
        b'4' => b'a',
        b'5' => b's',
        b'7' => b't',
        b'@' => b'a',
        b'$' => b's',
        _ => return None,
    })
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'@' || b == b'$'
}

/// Undoes leetspeak in words that mix letters and leet digits (`1gn0r3`, `h4ck`); when the text
/// has such words, also in short all-leet words (`15`, `70`). Pure numbers are left alone
/// otherwise.
fn leet_pass(buf: Vec<u8>, map: Vec<u32>, tf: &mut Transforms) -> (Vec<u8>, Vec<u32>) {
    if !buf.iter().any(|b| leet_letter(*b).is_some()) {
        return (buf, map);
    }
    // Word ranges of [a-z0-9@$].
    let mut words: Vec<(usize, usize, bool, bool)> = Vec::new(); // (start, end, mixed, all_leet)
    let mut i = 0;
    let mut any_mixed = false;
    while i < buf.len() {
        if !is_word_byte(buf[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let (mut letters, mut leets, mut others) = (0, 0, 0);
        while i < buf.len() && is_word_byte(buf[i]) {
            if buf[i].is_ascii_lowercase() {
                letters += 1;
            } else if leet_letter(buf[i]).is_some() {
                leets += 1;
            } else {
                others += 1;
            }
            i += 1;
        }
        let mixed = letters > 0 && leets > 0 && others == 0;
        let all_leet = letters == 0 && others == 0 && leets > 0 && leets <= 3;
        any_mixed |= mixed;
        if mixed || all_leet {
            words.push((start, i, mixed, all_leet));
        }
    }
    if !any_mixed {
        return (buf, map);
    }
    let mut buf = buf;
    for (start, end, mixed, all_leet) in words {
        // `@` and `$` alone are not words (`@user`, `$5`): only inside letters.
        if !(mixed || all_leet) || (all_leet && buf[start..end].iter().any(|b| !b.is_ascii_digit()))
        {
            continue;
        }
        for b in &mut buf[start..end] {
            if let Some(l) = leet_letter(*b) {
                *b = l;
            }
        }
        tf.add(Transform::Leetspeak);
    }
    (buf, map)
}

fn is_spacer(b: u8) -> bool {
    matches!(b, b'.' | b'-' | b'_' | b'*' | b'|' | b'/' | b'+' | b'~')
}

/// A run of single characters, each followed by the same one-byte separator: `i g n o r e`.
/// `start..end` covers the characters and the separators between them.
struct Run {
    start: usize,
    end: usize,
    chars: usize,
}

/// Runs of single characters separated by one space (any non-space character counts) or by one
/// punctuation spacer (letters and digits only).
fn spaced_runs(buf: &[u8]) -> Vec<Run> {
    let n = buf.len();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < n {
        let single = |k: usize, sep: u8| -> bool {
            k < n
                && if sep == b' ' {
                    !buf[k].is_ascii_whitespace()
                } else {
                    buf[k].is_ascii_alphanumeric()
                }
        };
        let sep = match buf.get(i + 1) {
            Some(&b' ') => b' ',
            Some(&s) if is_spacer(s) => s,
            _ => {
                i += 1;
                continue;
            }
        };
        // The run must start at a token boundary.
        let boundary = |k: usize| {
            k == 0
                || buf[k - 1].is_ascii_whitespace()
                || (sep != b' ' && !buf[k - 1].is_ascii_alphanumeric())
        };
        if !single(i, sep) || !boundary(i) {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = i;
        let mut chars = 1;
        // After a char: separator, then a single char that is followed by separator/space/end.
        while j + 2 < n + 1
            && buf.get(j + 1) == Some(&sep)
            && single(j + 2, sep)
            && (j + 3 >= n
                || buf[j + 3] == sep
                || buf[j + 3].is_ascii_whitespace()
                || (sep != b' ' && !buf[j + 3].is_ascii_alphanumeric()))
        {
            j += 2;
            chars += 1;
        }
        let end_ok = j + 1 >= n
            || buf[j + 1] == sep
            || buf[j + 1].is_ascii_whitespace()
            || (sep != b' ' && !buf[j + 1].is_ascii_alphanumeric());
        if chars >= 2 && end_ok {
            runs.push(Run {
                start,
                end: j + 1,
                chars,
            });
        }
        i = j + 1;
    }
    runs
}

/// Collapses letter-spaced words (`i g n o r e  a l l`, `i.g.n.o.r.e`) when the text has at least
/// one such run of four or more characters (then runs of two or three count too), and squeezes
/// whitespace runs to one space.
fn spacing_pass(mut buf: Vec<u8>, mut map: Vec<u32>, tf: &mut Transforms) -> (Vec<u8>, Vec<u32>) {
    let runs = spaced_runs(&buf);
    let spaced = runs.iter().any(|r| r.chars >= 4);
    let mut next_run = runs
        .iter()
        .filter(|r| r.chars >= 4 || (spaced && r.chars >= 2))
        .peekable();
    // Compacts in place: the write index never passes the read index.
    let n = buf.len();
    let mut w = 0;
    let mut i = 0;
    let mut last_space = false;
    while i < n {
        if let Some(run) = next_run.peek()
            && run.start == i
        {
            tf.add(Transform::LetterSpacing);
            let mut k = run.start;
            while k < run.end {
                buf[w] = buf[k];
                map[w] = map[k];
                w += 1;
                k += 2;
            }
            i = run.end;
            last_space = false;
            next_run.next();
            continue;
        }
        let b = buf[i];
        if b.is_ascii_whitespace() {
            if !last_space {
                buf[w] = b' ';
                map[w] = map[i];
                w += 1;
                last_space = true;
            }
        } else {
            buf[w] = b;
            map[w] = map[i];
            w += 1;
            last_space = false;
        }
        i += 1;
    }
    buf.truncate(w);
    map.truncate(w);
    (buf, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize(s).text
    }

    #[test]
    fn ascii_is_lowercased_and_squeezed() {
        assert_eq!(norm("Ignore  ALL\n\tprevious"), "ignore all previous");
    }

    #[test]
    fn homoglyphs_fullwidth_and_math_become_ascii() {
        // Cyrillic і, о; fullwidth; mathematical bold.
        assert_eq!(norm("\u{0456}gn\u{043E}re"), "ignore");
        assert_eq!(norm("ｉｇｎｏｒｅ"), "ignore");
        assert_eq!(norm("𝐢𝐠𝐧𝐨𝐫𝐞"), "ignore");
        let n = normalize("\u{0456}gn\u{043E}re");
        assert!(n.transforms.contains(Transform::Confusables));
    }

    #[test]
    fn invisible_characters_are_removed() {
        let n = normalize("ig\u{200B}no\u{202E}re");
        assert_eq!(n.text, "ignore");
        assert!(n.transforms.contains(Transform::ZeroWidth));
        assert!(n.transforms.contains(Transform::Bidi));
    }

    #[test]
    fn tag_characters_are_decoded() {
        let hidden: String = "hi"
            .chars()
            .map(|c| char::from_u32(0xE0000 + c as u32).unwrap_or(c))
            .collect();
        assert_eq!(norm(&format!("ok{hidden}")), "okhi");
    }

    #[test]
    fn leetspeak_only_in_mixed_words() {
        assert_eq!(norm("1gn0r3 4ll pr3v10u5"), "ignore all previous");
        assert_eq!(
            norm("in 2024 we sold 15 sha256 boxes"),
            "in 2024 we sold 15 sha256 boxes"
        );
    }

    #[test]
    fn letter_spacing_collapses() {
        assert_eq!(norm("i g n o r e  a l l"), "ignore all");
        assert_eq!(norm("i.g.n.o.r.e"), "ignore");
        assert_eq!(norm("a b c"), "a b c");
        assert_eq!(
            norm("i g n o r e  a l l  t h e  r u l e s ,  o k"),
            "ignore all the rules, ok"
        );
        assert_eq!(norm("I have a b and c"), "i have a b and c");
    }

    #[test]
    fn spans_map_back() {
        let src = "Say ｉｇｎｏｒｅ now";
        let n = normalize(src);
        let at = n.text.find("ignore").unwrap_or(0);
        let (s, e) = n.source_span(at, at + 6, src);
        assert_eq!(&src[s..e], "ｉｇｎｏｒｅ");
    }
}
