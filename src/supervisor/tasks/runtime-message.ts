// What an OCI runtime CLI said when it failed. runc and crun log through logrus-style lines
// (time="…" level=error msg="…"); the message is the last msg, unquoted, or else the whole text.
export function runtimeMessage(text: string): string {
  const msgs = [...text.matchAll(/msg="((?:[^"\\]|\\.)*)"/g)];
  const last = msgs.at(-1)?.[1];
  return last !== undefined ? last.replace(/\\(.)/g, '$1') : text.trim();
}
