// docker's --format handling (cli/command/formatter): "table" and "table TEMPLATE" print a header
// row and align columns with the tabwriter, "json" prints {{json .}} per item, anything else is a
// template printed once per item. Literal \t and \n in the format become tab and newline.
import { dockerTemplate, headerFuncs } from '../template/docker-funcs.js';
import { TemplateError } from '../template/exec.js';
import { tabwrite } from './tabwriter.js';
import { BerthError } from '../../common/errors.js';

export class FormatError extends BerthError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

export const isTable = (format: string): boolean => format.startsWith('table');

/** The template a --format value stands for, given the command's default table. */
export function resolveFormat(format: string | undefined, defaultTable: string): string {
  if (!format || format === 'table') return defaultTable;
  if (format === 'json') return '{{json .}}';
  return format;
}

function prepare(format: string): string {
  let f = isTable(format) ? format.slice('table'.length) : format;
  f = f.replace(/^ +| +$/g, '');
  return f.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

function compile(src: string) {
  try {
    return dockerTemplate(src);
  } catch (e) {
    if (e instanceof TemplateError) throw new FormatError(`template parsing error: template: :1: ${e.message}`);
    throw e;
  }
}

/**
 * Renders `items` with `format` (already resolved). `headers` maps field names to column titles
 * for table formats.
 */
export function renderItems(format: string, items: unknown[], headers: Record<string, string>): string {
  const tmpl = compile(prepare(format));
  const rows: string[] = [];
  for (const item of items) {
    try {
      rows.push(`${tmpl.execute(item)}\n`);
    } catch (e) {
      if (e instanceof TemplateError) throw new FormatError(`template: :1: executing "" at <${format}>: ${e.message}`);
      throw e;
    }
  }
  if (!isTable(format)) return rows.join('');
  let header: string;
  try {
    header = tmpl.execute(headers, headerFuncs);
  } catch {
    header = '';
  }
  return tabwrite(`${header}\n${rows.join('')}`);
}

/** Renders one value with a user's template (inspect -f, version --format, info --format). */
export function renderOne(format: string, value: unknown): string {
  const tmpl = compile(format.replace(/\\t/g, '\t').replace(/\\n/g, '\n'));
  try {
    return tmpl.execute(value);
  } catch (e) {
    if (e instanceof TemplateError) throw new FormatError(`template: :1: executing "" at <${format}>: ${e.message}`);
    throw e;
  }
}
