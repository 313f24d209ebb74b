//! Packing lifted programs with their guest runtime.
//!
//! The guest runtime (`crates/lift-runtime`, built for wasm32-wasip1) is
//! merged into the megabinary once; every lifted program is an alias of it in
//! the dispatcher. Their images go into the runtime's own memory as active data
//! segments, ending at the directory page below the runtime's data
//! (`recompiler_lift::layout`): mapped copy-on-write from the compiled code's
//! memory image, so an instance pays only for the pages it touches.

use anyhow::{Context, Result, bail, ensure};
use recompiler_lift::layout::{DIRECTORY, DIRECTORY_MAGIC, IMAGES_MIN, MAX_IMAGES, PAGE};
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{ConstExpr, DataCountSection, DataSection, Module, RawSection};
use wasmparser::{Parser, Payload};

/// Returns `runtime` with `images` (hash id, encoded `LiftedImage`) added to
/// its memory and the directory page that lists them.
pub fn pack_runtime(runtime: &[u8], images: &[(u64, &[u8])]) -> Result<Vec<u8>> {
    ensure!(
        images.len() <= MAX_IMAGES,
        "{} lifted programs; one megabinary holds at most {MAX_IMAGES}",
        images.len()
    );
    let mut sorted: Vec<(u64, &[u8])> = images.to_vec();
    sorted.sort_by_key(|(id, _)| *id);
    if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
        bail!("two lifted programs have the hash id {:016x}", w[0].0);
    }
    // Images downwards from the directory, 8-aligned.
    let mut cursor = DIRECTORY;
    let mut placed = Vec::with_capacity(sorted.len());
    for (id, bytes) in &sorted {
        let len = bytes.len() as u64;
        cursor = cursor
            .checked_sub(len)
            .map(|c| c & !7)
            .filter(|c| *c >= IMAGES_MIN)
            .with_context(|| {
                format!(
                    "the lifted programs' images exceed the {} MiB the runtime's memory layout has for them",
                    (DIRECTORY - IMAGES_MIN) >> 20
                )
            })?;
        placed.push((*id, cursor, *bytes));
    }
    let mut directory = Vec::with_capacity(PAGE as usize);
    directory.extend_from_slice(DIRECTORY_MAGIC);
    directory.extend_from_slice(&(placed.len() as u32).to_le_bytes());
    directory.extend_from_slice(&0u32.to_le_bytes());
    for (id, addr, bytes) in &placed {
        directory.extend_from_slice(&id.to_le_bytes());
        directory.extend_from_slice(&(*addr as u32).to_le_bytes());
        directory.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    }

    let mut module = Module::new();
    let mut saw_data = false;
    let mut added = 0u32;
    let add = |data: &mut DataSection| -> u32 {
        // Lowest address first: the order does not matter to the engine.
        for (_, addr, bytes) in placed.iter().rev() {
            data.active(
                0,
                &ConstExpr::i32_const(*addr as u32 as i32),
                bytes.iter().copied(),
            );
        }
        data.active(
            0,
            &ConstExpr::i32_const(DIRECTORY as u32 as i32),
            directory.iter().copied(),
        );
        placed.len() as u32 + 1
    };
    for payload in Parser::new(0).parse_all(runtime) {
        let payload = payload.context("the lift runtime is not valid WebAssembly")?;
        match &payload {
            Payload::DataCountSection { count, .. } => {
                module.section(&DataCountSection {
                    count: count + placed.len() as u32 + 1,
                });
            }
            Payload::DataSection(reader) => {
                let mut data = DataSection::new();
                RoundtripReencoder
                    .parse_data_section(&mut data, reader.clone())
                    .context("re-encoding the lift runtime's data")?;
                added = add(&mut data);
                module.section(&data);
                saw_data = true;
            }
            _ => {
                if let Some((id, range)) = payload.as_section() {
                    module.section(&RawSection {
                        id,
                        data: &runtime[range],
                    });
                }
            }
        }
    }
    ensure!(
        saw_data && added > 0,
        "the lift runtime has no data section to extend"
    );
    let wasm = module.finish();
    wasmparser::Validator::new_with_features(recompiler_megabinary::SUPPORTED_FEATURES)
        .validate_all(&wasm)
        .context("internal error: the packed lift runtime does not validate")?;
    Ok(wasm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_and_directory_land_below_the_runtime_data() {
        let runtime = recompiler_lift_runtime_wasm::wasm_bytes().unwrap();
        let a = vec![1u8; 1000];
        let b = vec![2u8; 77];
        let packed = pack_runtime(&runtime, &[(7, &a), (3, &b)]).unwrap();
        let mut segments = Vec::new();
        for payload in Parser::new(0).parse_all(&packed) {
            if let Payload::DataSection(r) = payload.unwrap() {
                for d in r {
                    let d = d.unwrap();
                    if let wasmparser::DataKind::Active { offset_expr, .. } = d.kind {
                        let mut ops = offset_expr.get_operators_reader();
                        if let Ok(wasmparser::Operator::I32Const { value }) = ops.read() {
                            segments.push((value as u32 as u64, d.data.len()));
                        }
                    }
                }
            }
        }
        assert!(
            segments.contains(&(DIRECTORY, 16 + 2 * 16)),
            "{segments:x?}"
        );
        // Images end at or below the directory, do not overlap, and sit above the window.
        let images: Vec<_> = segments
            .iter()
            .filter(|(a, l)| *l == 1000 || *l == 77 && *a < DIRECTORY)
            .collect();
        assert_eq!(images.len(), 2, "{segments:x?}");
        for (addr, len) in &images {
            assert!(*addr >= IMAGES_MIN && addr + *len as u64 <= DIRECTORY);
        }
        assert!(pack_runtime(&runtime, &[(1, &a), (1, &b)]).is_err());
        assert!(
            pack_runtime(b"\0asm\x01\0\0\0", &[(1, &a)]).is_err(),
            "no data section"
        );
    }
}
