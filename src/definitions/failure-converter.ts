import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Loaded by path (`failureConverterPath`) in every process that talks to Temporal and in the workflow bundle: failure
 * messages and stack traces go into an encoded payload, so the payload codecs encrypt them. A validation failure
 * quotes the submitted code; without this, the history would keep that quote in plaintext.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
