import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Python lines that load the enhanced module of each version folder in argv[1] (a JSON list) and bind its function
 * (argv[2]) in `fs`, in that order; `f` is the first.
 */
const LOAD_ENHANCED = [
  'import importlib.util, json, sys',
  'import poet_runtime',
  'fs = []',
  'for i, code in enumerate(json.loads(sys.argv[1])):',
  '    spec = importlib.util.spec_from_file_location(f"enhanced_{i}", code)',
  '    module = importlib.util.module_from_spec(spec)',
  '    spec.loader.exec_module(module)',
  '    fs.append(getattr(module, sys.argv[2]))',
  'f = fs[0]',
];

/**
 * Runs `lines` in python3 after LOAD_ENHANCED, on stored version folders (each with its poet_runtime.py beside
 * code.py), as a process where enhanced code runs would; extra arguments from argv[3]. Answers the JSON it prints.
 */
export async function runInVersionFolders<T>(
  dirs: string[],
  functionName: string,
  lines: string[],
  opts: { args?: string[]; env?: Record<string, string> } = {},
): Promise<T> {
  const script = [...LOAD_ENHANCED, ...lines].join('\n');
  const codes = JSON.stringify(dirs.map((dir) => path.join(dir, 'code.py')));
  const { stdout } = await run('python3', ['-B', '-c', script, codes, functionName, ...(opts.args ?? [])], {
    cwd: dirs[0],
    env: { PATH: process.env.PATH!, PYTHONPATH: dirs[0]!, ...opts.env },
  });
  return JSON.parse(stdout) as T;
}
