import { ConfigFields, SECRET_SETTINGS } from './config';

/**
 * The environment-variable table of docs/configuration.md, rendered from the config schema so the docs cannot
 * drift from the code: names and defaults come from parsing an unset variable, meanings from each field's
 * .describe(). `npm run docs` writes it; test/docs/config-docs.test.ts fails when the checked-in file is stale.
 */
export const BEGIN_MARKER = '<!-- BEGIN GENERATED CONFIG TABLE: npm run docs -->';
export const END_MARKER = '<!-- END GENERATED CONFIG TABLE -->';

/** What an unset variable becomes, as the table shows it. */
function renderDefault(value: unknown): string {
  if (value === undefined) return 'unset';
  if (value === '' || (Array.isArray(value) && value.length === 0)) return 'empty';
  return `\`${String(value)}\``;
}

/** Markdown cells cannot hold a raw pipe or newline. */
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderConfigTable(): string {
  const rows = Object.entries(ConfigFields.shape).map(([name, field]) => {
    // Every field accepts an unset variable (a default or optional), so this yields the default itself.
    const parsed = field.safeParse(undefined);
    if (!parsed.success) throw new Error(`config field ${name} has no default and is not optional`);
    const description = field.description;
    if (!description) throw new Error(`config field ${name} has no .describe(): docs/configuration.md needs one`);
    return `| \`${name}\` | ${cell(renderDefault(parsed.data))} | ${cell(description)} |`;
  });
  // Generic, from the declared list: every secret setting also reads from a file.
  const files = SECRET_SETTINGS.map(
    (name) =>
      `| \`${name}_FILE\` | unset | path of a file holding \`${name}\` (a mounted Kubernetes or Docker secret; one trailing newline is dropped); setting both is an error |`,
  );
  return ['| variable | default | meaning |', '|---|---|---|', ...rows, ...files].join('\n');
}

/** The document with the text between the markers replaced by the current table. */
export function withConfigTable(markdown: string): string {
  const start = markdown.indexOf(BEGIN_MARKER);
  const end = markdown.indexOf(END_MARKER);
  if (start < 0 || end < start)
    throw new Error(`docs/configuration.md lacks the markers ${BEGIN_MARKER} ... ${END_MARKER}`);
  return `${markdown.slice(0, start + BEGIN_MARKER.length)}\n${renderConfigTable()}\n${markdown.slice(end)}`;
}
