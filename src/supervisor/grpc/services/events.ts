// containerd.services.events.v1.Events: Subscribe streams every envelope published from now on,
// from all namespaces unless a filter says otherwise (namespace==x, topic==/images/create,
// event.name==…); Publish stamps a client's event with its namespace and the time; Forward takes
// an envelope as it is. Events the supervisor makes carry their fields and are encoded here.
import { invalid } from '../../../common/errors.js';
import { validateTopic, type Envelope, type EventPayload } from '../../events/exchange.js';
import { validateNamespace } from '../../namespaces/names.js';
import { parseFilters } from '../../filters.js';
import { fromTimestamp, timestamp } from '../convert.js';
import { serverStream, unary, type HandlerEnv, type Implementation } from '../handlers.js';
import type { Message } from '../../../common/grpc/service-def.js';
import type protobuf from 'protobufjs';

/** Dates in an event's fields become protobuf timestamps. */
function withTimestamps(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v instanceof Date ? timestamp(v) : v]));
}

export class EventCodec {
  constructor(private readonly root: protobuf.Root) {}

  private type(typeUrl: string): protobuf.Type | undefined {
    try {
      return this.root.lookupType(typeUrl.replace(/^.*\//, ''));
    } catch {
      return undefined;
    }
  }

  /** The event as google.protobuf.Any. */
  toAny(e: EventPayload): Message {
    if (e.value) return { type_url: e.typeUrl, value: e.value };
    const type = this.type(e.typeUrl);
    if (!type) return { type_url: e.typeUrl, value: Buffer.alloc(0) };
    return { type_url: e.typeUrl, value: Buffer.from(type.encode(type.fromObject(withTimestamps(e.fields ?? {}))).finish()) };
  }

  /** A client's Any, decoded when its type is known (so that event.* filters can see its fields). */
  fromAny(any: Message | undefined | null): EventPayload {
    if (!any?.type_url) throw invalid('must not be nil: event');
    const value = Buffer.from(any.value ?? []);
    const type = this.type(any.type_url);
    let fields: Record<string, unknown> | undefined;
    try {
      fields = type ? type.toObject(type.decode(value), { longs: Number, enums: String }) : undefined;
    } catch {
      fields = undefined;
    }
    return { typeUrl: any.type_url, value, fields };
  }
}

function adaptor(e: Envelope) {
  return (path: string[]): string | undefined => {
    switch (path[0]) {
      case 'namespace': return e.namespace;
      case 'topic': return e.topic;
      case 'event': {
        let v: unknown = e.event.fields;
        for (const p of path.slice(1)) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
        return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
      }
      default: return undefined;
    }
  };
}

export function eventsService(env: HandlerEnv, codec: EventCodec): Implementation {
  const exchange = env.supervisor.events;
  return {
    Publish: unary(env, 'events.Publish', (req, ctx) => {
      exchange.forward({ timestamp: new Date(), namespace: ctx.namespace, topic: validateTopic(req.topic ?? ''), event: codec.fromAny(req.event) });
      return {};
    }),
    Forward: unary(env, 'events.Forward', (req) => {
      const e = req.envelope;
      if (!e) throw invalid('must not be nil: envelope');
      exchange.forward({ timestamp: fromTimestamp(e.timestamp) ?? new Date(), namespace: validateNamespace(e.namespace ?? ''), topic: validateTopic(e.topic ?? ''), event: codec.fromAny(e.event) });
      return {};
    }),
    Subscribe: serverStream(env, 'events.Subscribe', (req, _ctx, call) => {
      const match = parseFilters(req.filters ?? []);
      return new Promise<void>((resolve) => {
        const stop = exchange.subscribe((e) => {
          if (!match(adaptor(e))) return;
          call.write({ timestamp: timestamp(e.timestamp), namespace: e.namespace, topic: e.topic, event: codec.toAny(e.event) });
        });
        const end = () => {
          stop();
          resolve();
        };
        call.once('cancelled', end);
        call.once('close', end);
        call.once('error', end);
      });
    }),
  };
}
