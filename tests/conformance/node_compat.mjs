// Node 20 lacks fs.globSync (Node 22+), which the conformance suite's bundle imports by name
// (only to find `**/checks.json` when summarising a results folder). Loaded with
// `node --import ./node_compat.mjs`: a resolve hook hands the suite's `import ... from "fs"`
// a module that re-exports node:fs plus a small globSync. Does nothing on Node 22+.
import fs from "node:fs";
import { register } from "node:module";

if (typeof fs.globSync !== "function") {
  register("./node_compat_hooks.mjs", import.meta.url);
}
