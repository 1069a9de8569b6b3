import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

const pointer = (...parts: string[]) =>
  parts.map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

/**
 * The document's schema of a JSON answer, compiled: by path template (`/api/v1/runs/{id}`), method and status.
 * Undefined when the document has no JSON answer there.
 */
export type AnswerSchema = (route: string, method: string, status: number) => ValidateFunction | undefined;

export function answerSchemas(doc: object): AnswerSchema {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(doc, 'openapi.json');
  return (route, method, status) =>
    ajv.getSchema(
      `openapi.json#/${pointer('paths', route, method.toLowerCase(), 'responses', String(status), 'content', 'application/json', 'schema')}`,
    );
}
