import { type Command, Option } from 'commander';
import { ApiClient, output, type Output } from './client';

// biome-ignore lint/suspicious/noExplicitAny: commander hands each command its own positional arguments
type Handler = (client: ApiClient, out: Output, ...args: any[]) => Promise<void>;

interface RestOptions {
  url: string;
  apiKey?: string;
  json?: boolean;
}

/** A subcommand that talks to the API, with --url, --api-key (or POET_URL, POET_API_KEY) and --json. */
export function restCommand(
  parent: Command,
  spec: string,
  description: string,
): Command & { run(handler: Handler): Command } {
  const command = parent
    .command(spec)
    .description(description)
    .addOption(new Option('--url <url>', 'base URL of the API').env('POET_URL').default('http://127.0.0.1:8080'))
    .addOption(new Option('--api-key <key>', 'API key (sent as X-API-Key)').env('POET_API_KEY'))
    .option('--json', "print the API's JSON on stdout (for scripts)");
  return Object.assign(command, {
    run(handler: Handler): Command {
      // commander passes the positional arguments, then the options, then the command.
      return command.action(async (...args: unknown[]) => {
        const positional = args.slice(0, -2);
        // A REST command under another (versions get) may have its --url, --api-key, --json parsed by that parent.
        const opts = command.optsWithGlobals<RestOptions>();
        const client = new ApiClient({ url: opts.url, apiKey: opts.apiKey });
        await handler(client, output(Boolean(opts.json)), ...positional, opts);
      });
    },
  });
}
