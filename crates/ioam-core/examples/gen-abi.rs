//! Writes `src/generated/abi.ts` (the ABI of `ioam_core::abi` as TypeScript).
//! Run from the repository root: `cargo run -p ioam-core --example gen-abi`.
fn main() -> std::io::Result<()> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/generated/abi.ts");
    std::fs::create_dir_all(path.parent().unwrap_or(std::path::Path::new(".")))?;
    std::fs::write(&path, ioam_core::abi::render_ts())?;
    println!("wrote {}", path.display());
    Ok(())
}
