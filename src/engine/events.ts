// Docker's event stream: every object change is an event (Type, Action, Actor), kept in a bounded
// history for `since`, delivered live to subscribers, and filtered as `docker events --filter`.
import { EventEmitter } from 'node:events';
import { labelMatches } from './filters.js';

export interface EngineEvent {
  Type: 'container' | 'image' | 'volume' | 'network' | 'daemon' | 'plugin';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  /** Old-style fields Docker still sends for containers and images. */
  status?: string;
  id?: string;
  from?: string;
}

/** `--filter` as the API sends it: {"type":["container"],"event":["start"],...}. */
export type EventFilters = Record<string, string[]>;

const HISTORY = 1024;

export class EventLog extends EventEmitter {
  private readonly history: EngineEvent[] = [];

  constructor() {
    super();
    this.setMaxListeners(0);
  }

  publish(type: EngineEvent['Type'], action: string, id: string, attributes: Record<string, string> = {}): EngineEvent {
    const nano = BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n;
    const e: EngineEvent = { Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local', time: Number(nano / 1_000_000_000n), timeNano: Number(nano) };
    if (type === 'container' || type === 'image') {
      e.status = action;
      e.id = id;
      if (attributes.image) e.from = attributes.image;
    }
    this.history.push(e);
    if (this.history.length > HISTORY) this.history.shift();
    this.emit('event', e);
    return e;
  }

  /** Past events in [since, until] (seconds, as the API's query gives them) that pass the filters. */
  past(filters: EventFilters, since?: number, until?: number): EngineEvent[] {
    return this.history.filter((e) => (since === undefined || e.timeNano >= since * 1e9) && (until === undefined || e.timeNano <= until * 1e9) && matches(e, filters));
  }
}

/** Docker's event filters: type, event (action), container/image/volume/network (id or name), label, scope. */
export function matches(e: EngineEvent, f: EventFilters): boolean {
  const any = (key: string, test: (v: string) => boolean) => !f[key]?.length || f[key]!.some(test);
  const action = e.Action.split(':')[0]!; // "exec_start: sh" filters as "exec_start"
  const names = [e.Actor.ID, e.Actor.Attributes.name ?? ''];
  return any('type', (v) => v === e.Type)
    && any('event', (v) => v === action || v === e.Action)
    && any('container', (v) => e.Type === 'container' && names.some((n) => n === v || (v.length >= 3 && n.startsWith(v))))
    && any('image', (v) => (e.Type === 'image' && names.includes(v)) || e.Actor.Attributes.image === v)
    && any('volume', (v) => e.Type === 'volume' && names.includes(v))
    && any('network', (v) => e.Type === 'network' && names.includes(v))
    && any('scope', (v) => v === 'local')
    && any('label', (v) => labelMatches(e.Actor.Attributes, v));
}
