//! Expands the dispatcher template (`dispatcher/main.wat`) for a set of programs.
//!
//! The template language is deliberately tiny so the template stays readable WAT:
//! `{{name}}` is replaced by a value, and `{{#programs}} ... {{/programs}}` repeats
//! its body once per program, where `{{index}}` is the program's index. It owns no
//! knowledge of the merge itself; `merge.rs` decides the values.

use crate::MergeError;

/// The dispatcher template, as kept in the repository.
pub const DISPATCHER_TEMPLATE: &str = include_str!("dispatcher/main.wat");

/// Size of one dispatch-table record in the dispatcher's memory (see the template).
pub const RECORD_SIZE: usize = 16;

const WASM_PAGE: usize = 65536;

/// Renders the dispatcher for programs whose hash ids are `ids` (program `i` has
/// id `ids[i]`). Returns WAT text.
pub fn render_dispatcher(ids: &[u64]) -> Result<String, MergeError> {
    render_dispatcher_with_aliases(ids, &[])
}

/// Like [`render_dispatcher`], with extra hash ids that select an existing
/// program: `(alias id, program index)`. Lifted ELF programs are aliases of the
/// guest runtime: every one of them dispatches to the runtime's entry, which
/// asks the host which id it was started as.
pub fn render_dispatcher_with_aliases(
    ids: &[u64],
    aliases: &[(u64, u32)],
) -> Result<String, MergeError> {
    let mut table: Vec<(u64, u32)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i as u32))
        .collect();
    for (alias, index) in aliases {
        if *index as usize >= ids.len() {
            return Err(MergeError::Template(format!(
                "alias {alias:016x} names program {index}, but there are {}",
                ids.len()
            )));
        }
        table.push((*alias, *index));
    }
    table.sort_unstable();
    if let Some(w) = table.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(MergeError::DuplicateId(w[0].0));
    }
    let mut bytes = Vec::with_capacity(table.len() * RECORD_SIZE);
    for (id, index) in &table {
        bytes.extend_from_slice(&id.to_le_bytes());
        bytes.extend_from_slice(&index.to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
    }
    let records = table.len();
    let buffer_offset = (bytes.len() + 15) & !15;
    // One page at least for argv; more if the table is large.
    let pages = (buffer_offset + 4096).div_ceil(WASM_PAGE).max(1);
    let mut escaped = String::with_capacity(bytes.len() * 3);
    for b in &bytes {
        escaped.push_str(&format!("\\{b:02x}"));
    }
    let count = ids.len().to_string();
    let records = records.to_string();
    let vars = [
        ("count", count.as_str()),
        ("records", records.as_str()),
        ("memory_pages", &pages.to_string()),
        ("dispatch_table", &escaped),
        ("buffer_offset", &buffer_offset.to_string()),
    ];
    expand(DISPATCHER_TEMPLATE, ids.len(), &vars)
}

/// Expands `template`: `{{#programs}}…{{/programs}}` blocks `n` times, then
/// `{{name}}` from `vars`. An unknown `{{name}}` is an error, so a typo in the
/// template cannot silently produce a broken module.
fn expand(template: &str, n: usize, vars: &[(&str, &str)]) -> Result<String, MergeError> {
    const OPEN: &str = "{{#programs}}";
    const CLOSE: &str = "{{/programs}}";
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let end = after
            .find(CLOSE)
            .ok_or_else(|| MergeError::Template("unclosed {{#programs}} block".into()))?;
        let body = &after[..end];
        for i in 0..n {
            out.push_str(&body.replace("{{index}}", &i.to_string()));
        }
        rest = &after[end + CLOSE.len()..];
    }
    out.push_str(rest);
    let mut result = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(start) = rest.find("{{") {
        result.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| MergeError::Template("unclosed {{".into()))?;
        let name = &after[..end];
        let value = vars
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                MergeError::Template(format!("unknown template variable {{{{{name}}}}}"))
            })?;
        result.push_str(value);
        rest = &after[end + 2..];
    }
    result.push_str(rest);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_blocks_and_variables() {
        let t = "a {{#programs}}[{{index}}:{{x}}]{{/programs}} b {{x}}";
        let s = expand(t, 3, &[("x", "X")]).unwrap();
        assert_eq!(s, "a [0:X][1:X][2:X] b X");
    }

    #[test]
    fn unknown_variable_is_an_error() {
        let err = expand("{{nope}}", 0, &[]).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn dispatcher_renders_valid_wat_for_zero_and_many_programs() {
        for n in [0usize, 1, 5] {
            let ids: Vec<u64> = (0..n as u64)
                .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
                .collect();
            let text = render_dispatcher(&ids).unwrap();
            wat::parse_str(&text).unwrap_or_else(|e| panic!("{n} programs: {e}\n{text}"));
        }
    }

    #[test]
    fn duplicate_ids_are_refused() {
        assert!(matches!(
            render_dispatcher(&[7, 7]),
            Err(MergeError::DuplicateId(7))
        ));
    }
}
