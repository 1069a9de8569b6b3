import { mkdir, rename, rm, symlink, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface VersionFiles {
  'code.py': string;
  'code.dana': string;
  'params.json': string;
  'metadata.json': string;
}

export interface ArtifactStore {
  /** Writes every file of a version; writing the same version again replaces it whole. Returns its location. */
  writeVersion(functionName: string, version: number, files: VersionFiles): Promise<string>;
  setCurrent(functionName: string, version: number): Promise<void>;
  readFile(functionName: string, version: number, file: keyof VersionFiles): Promise<string>;
}

/** Layout: <root>/functions/<name>/v<N>/{code.py,code.dana,params.json,metadata.json} and a `current` link. */
export class FilesystemArtifactStore implements ArtifactStore {
  constructor(private readonly root: string) {}

  async writeVersion(functionName: string, version: number, files: VersionFiles): Promise<string> {
    const dir = this.versionDir(functionName, version);
    // Stage beside the target and rename, so a reader never sees half a version.
    const staging = `${dir}.staging-${process.pid}-${Date.now()}`;
    await mkdir(staging, { recursive: true });
    await Promise.all(Object.entries(files).map(([name, content]) => writeFile(path.join(staging, name), content)));
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    return dir;
  }

  async setCurrent(functionName: string, version: number): Promise<void> {
    const link = path.join(this.functionDir(functionName), 'current');
    const staging = `${link}.staging-${process.pid}-${Date.now()}`;
    await symlink(`v${version}`, staging);
    await rename(staging, link);
  }

  readFile(functionName: string, version: number, file: keyof VersionFiles): Promise<string> {
    return readFile(path.join(this.versionDir(functionName, version), file), 'utf8');
  }

  private functionDir(functionName: string): string {
    return path.join(this.root, 'functions', functionName);
  }

  private versionDir(functionName: string, version: number): string {
    return path.join(this.functionDir(functionName), `v${version}`);
  }
}
