//! Argo CD's default template syntax: `{{name}}` replaced by the string
//! parameter `name`, nothing else.
//!
//! The rules, as Argo CD applies them (its renderer sits on the `fasttemplate`
//! Go package):
//! - A tag runs from `{{` to the first `}}` after it; the name inside is
//!   trimmed, so `{{ name }}` and `{{name}}` are the same.
//! - A tag whose name is empty, unknown, or names a value that is not a
//!   string is left exactly as written (a later pass, or a human, sees it).
//! - A string counts as templated only when one of its lines holds `{{` and
//!   later `}}`; other strings pass through untouched, even with a lone `{{`.
//!   A templated string with an unclosed `{{` is an error.

use crate::params::Params;

/// A `{{` without its `}}` in a templated string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot find end tag \"}}}}\" after byte {offset} in {text:?}")]
pub struct UnclosedTag {
    /// The string.
    pub text: String,
    /// Byte offset of the `{{` that is not closed.
    pub offset: usize,
}

/// Whether a string is subject to substitution at all: some line of it holds
/// `{{` followed by `}}`.
fn is_templated(text: &str) -> bool {
    text.split('\n').any(|line| {
        line.find("{{")
            .is_some_and(|start| line[start + 2..].contains("}}"))
    })
}

/// Replaces every `{{name}}` whose trimmed name is a string parameter.
pub fn substitute(text: &str, params: &Params) -> Result<String, UnclosedTag> {
    if !is_templated(text) {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut consumed = 0;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(UnclosedTag {
                text: text.to_string(),
                offset: consumed + start,
            });
        };
        let tag = &after[..end];
        let name = tag.trim();
        match params.get(name).and_then(|v| v.as_str()) {
            Some(value) if !name.is_empty() => out.push_str(value),
            _ => {
                out.push_str("{{");
                out.push_str(tag);
                out.push_str("}}");
            }
        }
        let advance = start + 2 + end + 2;
        consumed += advance;
        rest = &rest[advance..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trellis_template::Value;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::str(v)))
            .collect()
    }

    #[test]
    fn replaces_known_names_with_or_without_spaces() {
        let p = params(&[("cluster", "prod"), ("path.basename", "web")]);
        assert_eq!(
            substitute("{{cluster}}-{{ path.basename }}", &p).unwrap(),
            "prod-web"
        );
        assert_eq!(substitute("a {{  cluster\t}} b", &p).unwrap(), "a prod b");
    }

    #[test]
    fn unknown_and_empty_tags_stay_as_written() {
        let p = params(&[("a", "1")]);
        assert_eq!(
            substitute("{{a}}/{{ missing }}/{{}}/{{ }}", &p).unwrap(),
            "1/{{ missing }}/{{}}/{{ }}"
        );
    }

    #[test]
    fn non_string_values_are_not_substituted() {
        let mut p = params(&[]);
        p.insert("n".into(), Value::Float(3.0));
        assert_eq!(substitute("{{n}}", &p).unwrap(), "{{n}}");
    }

    #[test]
    fn a_tag_ends_at_the_first_closing_braces() {
        let p = params(&[("a", "1")]);
        assert_eq!(substitute("{{ {{a}} }}", &p).unwrap(), "{{ {{a}} }}");
        assert_eq!(substitute("{{a}}}}", &p).unwrap(), "1}}");
    }

    #[test]
    fn strings_without_a_complete_tag_on_one_line_pass_through() {
        let p = params(&[("a", "1")]);
        assert_eq!(substitute("{{a", &p).unwrap(), "{{a");
        assert_eq!(substitute("{{\na}}", &p).unwrap(), "{{\na}}");
        assert_eq!(substitute("plain", &p).unwrap(), "plain");
    }

    #[test]
    fn an_unclosed_tag_in_a_templated_string_is_an_error() {
        let p = params(&[("a", "1")]);
        let err = substitute("{{a}} {{b", &p).unwrap_err();
        assert_eq!(err.offset, 6);
        assert!(err.to_string().contains("cannot find end tag"), "{err}");
    }

    #[test]
    fn multibyte_text_is_kept() {
        let p = params(&[("x", "é")]);
        assert_eq!(substitute("ü{{x}}ü", &p).unwrap(), "üéü");
    }
}
