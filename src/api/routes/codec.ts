import { CodecRequest } from '../../contracts/codec';
import { json, route } from '../route';

/**
 * The Temporal UI's remote codec endpoint (`--ui-codec-endpoint <API>/api/v1/codec`): the UI posts the payloads it
 * shows and gets them decoded.
 */
export const codecRoutes = [
  // Decodes the caller's tenant's payloads, every tenant's for the operator tenant: admins only.
  route({
    operationId: 'decodePayloads',
    method: 'POST',
    path: '/api/v1/codec/decode',
    tags: ['observability'],
    summary:
      "The Temporal UI's remote codec: payloads in proto JSON, decoded (claim-check references of the caller's tenant resolved, every tenant's for OPERATOR_TENANT; admin role; any other reference is a 404)",
    auth: 'api_key',
    role: 'admin',
    body: CodecRequest,
    responses: { 200: json(CodecRequest, 'The same payloads, decoded') },
    errors: [404],
    handler: ({ body, principal }, deps) => deps.app.codec.decode(body, principal.tenantId),
  }),
];
