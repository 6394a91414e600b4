// Go's unicode.IsSpace, and strings.TrimSpace / TrimLeftFunc(IsSpace) with it: Docker's parsers
// (Dockerfile lines, .dockerignore patterns) trim with these, not with JavaScript's trim().
const SPACES = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const SPACE = new RegExp(`^[${SPACES}]$`);
const LEADING = new RegExp(`^[${SPACES}]+`);
const TRAILING = new RegExp(`[${SPACES}]+$`);
export const isSpace = (ch: string): boolean => SPACE.test(ch);
export const trimLeftSpace = (s: string): string => s.replace(LEADING, '');
export const trimSpace = (s: string): string => s.replace(LEADING, '').replace(TRAILING, '');
