// Error and warning output in runc's format: logrus text lines on stderr, or, with --log, entries
// in the log file (text or JSON) and the bare message on stderr.
import { appendFileSync } from 'node:fs';

export interface LogConfig {
  file?: string;
  format: 'text' | 'json';
}

function entry(level: string, msg: string, format: 'text' | 'json'): string {
  const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return format === 'json' ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
}

export function logLine(cfg: LogConfig, level: 'error' | 'warning', msg: string): void {
  if (cfg.file) {
    try {
      appendFileSync(cfg.file, `${entry(level, msg, cfg.format)}\n`);
    } catch {
      // An unwritable log file must not hide the message itself.
    }
    if (level === 'error') process.stderr.write(`${msg}\n`);
    return;
  }
  process.stderr.write(`${entry(level, msg, 'text')}\n`);
}
