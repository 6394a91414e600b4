// The supervisor's event exchange (containerd's events service): every change a store makes is
// published with its namespace and a topic ("/images/create", "/snapshot/commit", …) and reaches
// every subscriber, whatever namespace it watches; subscribers filter. Payloads name containerd's
// event message (its type URL) and carry its fields, or the already-encoded bytes of an event a
// client published.
import { EventEmitter } from 'node:events';
import { invalid } from '../../common/errors.js';

export interface EventPayload {
  /** The message's type URL, e.g. "containerd.events.ImageCreate". */
  typeUrl: string;
  /** The message's fields (snake_case, as in the .proto), when the supervisor made the event. */
  fields?: Record<string, unknown>;
  /** The encoded message, when a client published it. */
  value?: Buffer;
}

export interface Envelope {
  timestamp: Date;
  namespace: string;
  topic: string;
  event: EventPayload;
}

export type Publish = (namespace: string, topic: string, event: EventPayload) => void;

// containerd's topic rule: "/" then identifier components joined by "/".
const TOPIC = /^(?:\/[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*)+$/;

export function validateTopic(topic: string): string {
  if (!topic) throw invalid('must not be empty: topic');
  if (!topic.startsWith('/')) throw invalid(`must start with '/': topic ${topic}`);
  if (!TOPIC.test(topic)) throw invalid(`invalid topic "${topic}": each component must be an identifier`);
  return topic;
}

export class EventExchange {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  readonly publish: Publish = (namespace, topic, event) => {
    this.forward({ timestamp: new Date(), namespace, topic, event });
  };

  forward(envelope: Envelope): void {
    this.emitter.emit('event', envelope);
  }

  /** Calls `listener` for every event from now on; returns the unsubscribe function. */
  subscribe(listener: (e: Envelope) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}

/** A containerd event made by the supervisor; image events live in the images service's package. */
export const containerdEvent = (name: string, fields: Record<string, unknown>): EventPayload =>
  ({ typeUrl: name.startsWith('Image') ? `containerd.services.images.v1.${name}` : `containerd.events.${name}`, fields });
