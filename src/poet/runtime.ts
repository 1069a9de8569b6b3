import { readFileSync } from 'node:fs';
import path from 'node:path';

/** python/poet_runtime, the package every enhanced module imports; the same path from src/ and dist/. */
export const RUNTIME_PACKAGE_DIR = path.resolve(__dirname, '../../python/poet_runtime');

export interface PoetRuntime {
  version: string;
  source: string;
}

let loaded: PoetRuntime | undefined;

/** The runtime as this process ships it: the sandbox validates against the same file, the store copies it. */
export function poetRuntime(): PoetRuntime {
  if (!loaded) {
    const source = readFileSync(path.join(RUNTIME_PACKAGE_DIR, '__init__.py'), 'utf8');
    const version = /^__version__ = "([^"]+)"$/m.exec(source)?.[1];
    if (!version) throw new Error(`${RUNTIME_PACKAGE_DIR}/__init__.py declares no __version__`);
    loaded = { version, source };
  }
  return loaded;
}
