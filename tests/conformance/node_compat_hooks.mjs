// Resolve hook for node_compat.mjs: `fs` imported from the conformance package becomes fs_shim.mjs.
const SHIM = new URL("./fs_shim.mjs", import.meta.url).href;

export async function resolve(specifier, context, next) {
  if ((specifier === "fs" || specifier === "node:fs") && context.parentURL?.includes("/@modelcontextprotocol/conformance/")) {
    return { url: SHIM, shortCircuit: true };
  }
  return next(specifier, context);
}
