//! Text kept out of Rust source: the components' README bodies (`components/<name>/README.tmpl.md`)
//! and the shell scripts pods run (`*.sh` beside the code that mounts them), included at build
//! time and filled here. Files keep shell, jq and JSON readable and let ShellCheck and editors
//! see them as what they are; the rendered text is what `tests/it/shell_scripts.rs` checks.

use std::fmt::Write;

/// Fills a template. A placeholder is `{{name}}` with a name of letters, digits and `_`; every
/// other brace is text. Templates are part of the source, not user input: a placeholder without
/// a value stays visible, and debug builds (every test) refuse it and a value the template never
/// uses.
pub(crate) fn fill(template: &str, vars: &[(&str, &dyn std::fmt::Display)]) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut used = vec![false; vars.len()];
    let mut rest = template;
    while let Some(at) = rest.find("{{") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        let name_len = tail
            .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..name_len];
        let slot = vars.iter().position(|(k, _)| *k == name);
        match slot {
            Some(i) if !name.is_empty() && tail[name_len..].starts_with("}}") => {
                let _ = write!(out, "{}", vars[i].1);
                used[i] = true;
                rest = &tail[name_len + 2..];
            }
            _ => {
                debug_assert!(
                    name.is_empty() || !tail[name_len..].starts_with("}}"),
                    "template placeholder {{{{{name}}}}} has no value"
                );
                // Not a placeholder: emit one brace and rescan, so `{{{x}}}` is `{` + x + `}`.
                out.push('{');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    debug_assert!(
        used.iter().all(|u| *u),
        "template leaves values unused: {:?}",
        vars.iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|((k, _), _)| *k)
            .collect::<Vec<_>>()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::fill;
    use crate::component::Content;
    use crate::model::Model;
    use crate::spec::{Platform, Profile};

    #[test]
    fn fills_named_placeholders_and_keeps_every_other_brace() {
        let ns = "datalyptica-core";
        let s = fill(
            "--set 'x={{{ns}}}' -o jsonpath='{.data}' -p '{\"a\":{\"b\":1}}' {{ns}}/{{port}} {{ }}",
            &[("ns", &ns), ("port", &8443)],
        );
        assert_eq!(
            s,
            "--set 'x={datalyptica-core}' -o jsonpath='{.data}' -p '{\"a\":{\"b\":1}}' datalyptica-core/8443 {{ }}"
        );
    }

    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "has no value")]
    fn a_placeholder_without_a_value_is_refused() {
        fill("see {{missing}}", &[("other", &1)]);
    }

    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "unused")]
    fn a_value_the_template_never_uses_is_refused() {
        fill("see {{used}}", &[("used", &1), ("stale", &2)]);
    }

    /// Every component's README, in both profiles, carries no placeholder: `fill` would have
    /// refused one above, and this looks at the written text too.
    #[test]
    fn every_rendered_readme_is_filled() {
        for profile in [Profile::Ha, Profile::Dev] {
            let mut p = Platform::default_ha();
            p.spec.profile = profile;
            let m = Model::new(&p);
            let mut readmes = 0;
            for c in m.enabled_components() {
                for f in c.render(&m) {
                    let Content::Markdown(text) = &f.content else {
                        continue;
                    };
                    readmes += 1;
                    let left = text.match_indices("{{").find(|(at, _)| {
                        let tail = &text[at + 2..];
                        let n = tail
                            .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                            .unwrap_or(tail.len());
                        n > 0 && tail[n..].starts_with("}}")
                    });
                    assert!(left.is_none(), "{} keeps a placeholder", f.path);
                }
            }
            assert!(readmes >= 12, "{readmes} Markdown files rendered");
        }
    }
}
