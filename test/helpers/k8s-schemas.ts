import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * JSON schemas in the layout kubeconform reads (`<kind><-group-prefix>-<version>.json`, its `{{ .ResourceKind }}
 * {{ .KindSuffix }}` template), made from the Kubernetes OpenAPI document and CRD manifests that come with Go modules
 * (scripts/install-k8s-tools.sh): the machine cannot reach the usual schema download. The conversion is the one
 * kubeconform's openapi2jsonschema does in strict mode: objects reject unknown fields, int-or-string and quantities
 * take either form, and kind/apiVersion are pinned.
 */

type Schema = Record<string, any>;

const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const INT_OR_STRING = { oneOf: [{ type: 'string' }, { type: 'integer' }] };

/** kubeconform's KindSuffix: `-<first label of the group>-<version>`, or `-<version>` for the core group. */
export function schemaFileName(kind: string, group: string, version: string): string {
  const prefix = group ? `-${group.split('.')[0]!.toLowerCase()}` : '';
  return `${kind.toLowerCase()}${prefix}-${version.toLowerCase()}.json`;
}

function strict(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strict);
  if (!node || typeof node !== 'object') return node;
  const source = node as Schema;
  if (source.format === 'int-or-string' || source['x-kubernetes-int-or-string'] === true) {
    return { ...(source.description ? { description: source.description } : {}), ...INT_OR_STRING };
  }
  const out: Schema = {};
  for (const [key, value] of Object.entries(source)) {
    // Property names are data, not keywords: recurse into their schemas only.
    out[key] =
      key === 'properties' || key === 'definitions'
        ? Object.fromEntries(Object.entries(value as Schema).map(([name, schema]) => [name, strict(schema)]))
        : strict(value);
  }
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields']) {
    out.additionalProperties = false;
  }
  return out;
}

function pinKind(schema: Schema, kind: string, apiVersion: string): Schema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    ...schema,
    properties: {
      ...schema.properties,
      kind: { type: 'string', enum: [kind] },
      apiVersion: { type: 'string', enum: [apiVersion] },
    },
  };
}

/** Each definition a schema reaches through `#/definitions/...`, transitively. */
function referencedDefinitions(root: unknown, definitions: Schema): Schema {
  const found: Schema = {};
  const visit = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node as Schema)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith('#/definitions/')) {
        const name = value.slice('#/definitions/'.length);
        if (!(name in found)) {
          found[name] = definitions[name];
          visit(definitions[name]);
        }
      } else {
        visit(value);
      }
    }
  };
  visit(root);
  return found;
}

/** Writes one schema per kind of the Kubernetes OpenAPI v2 document (api/openapi-spec/swagger.json). */
export function writeKubernetesSchemas(swaggerFile: string, outDir: string): number {
  const { definitions } = JSON.parse(readFileSync(swaggerFile, 'utf8')) as { definitions: Schema };
  // A Quantity is written as "512Mi" or as a bare number.
  definitions[QUANTITY] = {
    ...definitions[QUANTITY],
    type: undefined,
    oneOf: [{ type: 'string' }, { type: 'number' }],
  };
  mkdirSync(outDir, { recursive: true });
  let written = 0;
  for (const definition of Object.values(definitions)) {
    for (const gvk of (definition['x-kubernetes-group-version-kind'] ?? []) as {
      group: string;
      version: string;
      kind: string;
    }[]) {
      const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
      const schema = pinKind(definition, gvk.kind, apiVersion);
      const file = { ...schema, definitions: referencedDefinitions(schema, definitions) };
      writeFileSync(path.join(outDir, schemaFileName(gvk.kind, gvk.group, gvk.version)), JSON.stringify(strict(file)));
      written += 1;
    }
  }
  return written;
}

/** Writes one schema per served version of each CustomResourceDefinition in the YAML files of `crdDir`. */
export function writeCrdSchemas(crdDir: string, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const entry of readdirSync(crdDir).filter((f) => /\.ya?ml$/.test(f))) {
    for (const doc of parseAllDocuments(readFileSync(path.join(crdDir, entry), 'utf8'))) {
      const crd = doc.toJS() as Schema | null;
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      const { group, names, versions } = crd.spec as { group: string; names: { kind: string }; versions: Schema[] };
      for (const version of versions) {
        const openApi = version.schema?.openAPIV3Schema as Schema | undefined;
        if (!openApi || version.served === false) continue;
        const file = schemaFileName(names.kind, group, version.name);
        writeFileSync(
          path.join(outDir, file),
          JSON.stringify(strict(pinKind(openApi, names.kind, `${group}/${version.name}`))),
        );
        written.push(file);
      }
    }
  }
  return written;
}
