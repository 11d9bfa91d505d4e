//! The offline commands: everything the controller decides, from files, with no API server.

use crate::cli::CrdsArgs;

pub fn crds(args: &CrdsArgs) -> Result<(), String> {
    let docs = mcpgw_k8s::crd::crd_documents()?;
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            for (file, yaml) in docs {
                let path = dir.join(file);
                std::fs::write(&path, yaml).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
        None => {
            let all: Vec<String> = docs.into_iter().map(|(_, y)| y).collect();
            print!("{}", all.join("---\n"));
        }
    }
    Ok(())
}

pub fn reconcile(_args: &crate::cli::ReconcileArgs) -> Result<(), String> {
    Err("not yet".into())
}

pub fn serve_registry(_args: &crate::cli::RegistryArgs) -> Result<(), String> {
    Err("not yet".into())
}
