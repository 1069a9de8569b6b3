/**
 * Temporal header that carries the API request id from the client to the workflow and on to its activities
 * and child workflows (src/infra/correlation.ts puts it there, src/workflows/interceptors.ts passes it on).
 */
export const REQUEST_ID_TEMPORAL_HEADER = 'poet-request-id';
