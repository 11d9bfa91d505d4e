//! The live layer (next commits).

pub fn run(_args: &crate::cli::RunArgs) -> Result<(), String> {
    Err("not yet".into())
}
