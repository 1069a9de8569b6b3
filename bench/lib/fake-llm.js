'use strict';
// The tests' fake OpenAI-compatible server (test/helpers/fake-llm.ts), compiled in memory so plain node can run it:
// one implementation for tests and benchmarks. It imports only node built-ins.
const { readFileSync } = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const ts = require('typescript');

const file = path.join(__dirname, '..', '..', 'test', 'helpers', 'fake-llm.ts');
const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
  compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  fileName: file,
});
const compiled = new Module(file, module);
compiled.filename = file;
compiled.paths = Module._nodeModulePaths(path.dirname(file));
compiled._compile(outputText, file);

/** startFakeLlm({ latencyMs }) -> { url(mode), calls(mode?), close() } */
module.exports = compiled.exports;
