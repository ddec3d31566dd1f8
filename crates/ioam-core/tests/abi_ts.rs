//! `src/generated/abi.ts` is what `ioam_core::abi::render_ts` renders (regenerate with
//! `cargo run -p ioam-core --example gen-abi` after changing the ABI).
#[test]
fn generated_abi_ts_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/generated/abi.ts");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == ioam_core::abi::render_ts(),
        "{} is stale or missing: run `cargo run -p ioam-core --example gen-abi` and commit it",
        path.display()
    );
}
