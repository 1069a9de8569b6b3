import type { AnyRoute } from './route';

/**
 * The route table of docs/api.md, rendered from the route declarations so the docs cannot drift from what the API
 * enforces. `npm run docs` writes it; test/docs/api-docs.test.ts fails when the checked-in file is stale.
 */
export const BEGIN_MARKER = '<!-- BEGIN GENERATED ROUTE TABLE: npm run docs -->';
export const END_MARKER = '<!-- END GENERATED ROUTE TABLE -->';

const CREDENTIALS = { public: 'none', api_key: 'API key', partner_jwt: 'partner JWT' } as const;

/** Markdown cells cannot hold a raw pipe or newline. */
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderRouteTable(routes: readonly AnyRoute[]): string {
  const rows = routes.map((r) => {
    const role = r.role ?? (r.auth === 'partner_jwt' ? "(partner tenant's agent)" : '');
    return `| \`${r.method} ${r.path}\` | ${CREDENTIALS[r.auth]} | ${role} | ${r.rate ?? ''} | ${cell(r.summary)} |`;
  });
  return ['| route | credentials | least role | extra limit | what it does |', '|---|---|---|---|---|', ...rows].join(
    '\n',
  );
}

/** The document with the text between the markers replaced by the current table. */
export function withRouteTable(markdown: string, routes: readonly AnyRoute[]): string {
  const start = markdown.indexOf(BEGIN_MARKER);
  const end = markdown.indexOf(END_MARKER);
  if (start < 0 || end < start) throw new Error(`docs/api.md lacks the markers ${BEGIN_MARKER} ... ${END_MARKER}`);
  // Blank lines around the table: Markdown needs them, and so do readers that split the document into blocks.
  return `${markdown.slice(0, start + BEGIN_MARKER.length)}\n\n${renderRouteTable(routes)}\n\n${markdown.slice(end)}`;
}
