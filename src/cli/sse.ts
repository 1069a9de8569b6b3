/** One Server-Sent Events message (comments and `retry:` lines are not messages). */
export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/**
 * The messages of an SSE body as they arrive (the text/event-stream format of the HTML standard, LF or CRLF line ends:
 * multi-line data, `:` comments). Ends when the body ends; a message cut off by the end is dropped.
 */
export async function* sseMessages(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffered = '';
  let message: { id?: string; event?: string; data: string[] } = { data: [] };
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    const lines = buffered.split('\n');
    // The last piece may be half a line: it waits for the next chunk.
    buffered = lines.pop()!;
    for (const raw of lines) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line === '') {
        if (message.data.length > 0)
          yield {
            ...(message.id !== undefined ? { id: message.id } : {}),
            event: message.event ?? 'message',
            data: message.data.join('\n'),
          };
        message = { data: [] };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') message.data.push(value);
      else if (field === 'event') message.event = value;
      else if (field === 'id') message.id = value;
    }
  }
}
