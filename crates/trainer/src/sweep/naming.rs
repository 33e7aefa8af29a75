//! Run names from axis values: file-name safe, stable and unique within a grid.

/// Keeps ASCII letters, digits, `-`, `.` and `_`; anything else becomes `_`; at most `max`
/// characters; never empty, never `.` or `..`.
pub fn sanitize(s: &str, max: usize) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(max.max(1))
        .collect();
    if out.is_empty() || out.chars().all(|c| c == '.') {
        "_".into()
    } else {
        out
    }
}

/// 64-bit FNV-1a of `s`, as 8 hex digits of its low half (stable across platforms).
pub fn short_hash(s: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{:08x}", h & 0xffff_ffff)
}

/// The run name of one grid point: the sanitised parts joined by `-` (`run` with no parts).
pub fn point_name(parts: &[String]) -> String {
    if parts.is_empty() {
        return "run".into();
    }
    parts
        .iter()
        .map(|p| sanitize(p, 40))
        .collect::<Vec<_>>()
        .join("-")
}

/// Makes `names` unique: every name shared by several points gets the hash of that point's
/// full (unsanitised) key appended.
pub fn make_unique(names: &mut [String], keys: &[String]) {
    let dup: Vec<bool> = names
        .iter()
        .map(|n| names.iter().filter(|m| *m == n).count() > 1)
        .collect();
    for ((name, key), d) in names.iter_mut().zip(keys).zip(dup) {
        if d {
            name.push('-');
            name.push_str(&short_hash(key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_and_unique() {
        assert_eq!(sanitize("gaussian:d=4,x", 40), "gaussian_d_4_x");
        assert_eq!(sanitize("..", 40), "_");
        assert_eq!(sanitize("<script>", 40), "_script_");
        assert_eq!(point_name(&["mlp".into(), "n10".into()]), "mlp-n10");
        let mut names = vec!["a_b".to_string(), "a_b".to_string(), "c".to_string()];
        make_unique(&mut names, &["a:b".into(), "a,b".into(), "c".into()]);
        assert_ne!(names[0], names[1]);
        assert!(names[0].starts_with("a_b-"));
        assert_eq!(names[2], "c");
    }
}
