// Wrappers that turn plain async functions into grpc-js handlers: each gets its request and a
// CallContext, and whatever it throws goes back as a gRPC status (the server carries on). Calls
// are logged at debug level with their duration and outcome.
import { status, type handleBidiStreamingCall, type handleServerStreamingCall, type handleUnaryCall, type ServerDuplexStream, type ServerWritableStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { BerthError } from '../../common/errors.js';
import { CallContext } from './call.js';
import { GrpcError, toServiceError } from '../../common/grpc/errors.js';
import type { Message } from '../../common/grpc/service-def.js';
import type { Supervisor } from '../supervisor.js';

export type Log = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

export interface HandlerEnv {
  supervisor: Supervisor;
  log: Log;
}

export type Unary = (req: Message, ctx: CallContext) => Promise<Message> | Message;
export type ServerStream = (req: Message, ctx: CallContext, call: ServerWritableStream<Message, Message>) => Promise<void>;
export type Bidi = (ctx: CallContext, call: ServerDuplexStream<Message, Message>) => Promise<void>;

function report(env: HandlerEnv, name: string, started: number, err?: unknown): void {
  const took = Date.now() - started;
  // An error berth did not name is a bug or a broken host: worth a warning, not just a debug line.
  const expected = err instanceof BerthError || err instanceof GrpcError;
  if (err) env.log(expected ? 'debug' : 'warn', `grpc ${name}: ${toServiceError(err).details} (${took} ms)`);
  else env.log('debug', `grpc ${name} ok (${took} ms)`);
}

export function unary(env: HandlerEnv, name: string, fn: Unary): handleUnaryCall<Message, Message> {
  return (call, callback) => {
    const started = Date.now();
    Promise.resolve()
      .then(() => fn(call.request, new CallContext(env.supervisor, call.metadata)))
      .then((res) => {
        report(env, name, started);
        callback(null, res);
      }, (err: unknown) => {
        report(env, name, started, err);
        callback(toServiceError(err));
      });
  };
}

export function serverStream(env: HandlerEnv, name: string, fn: ServerStream): handleServerStreamingCall<Message, Message> {
  return (call) => {
    const started = Date.now();
    fn(call.request, new CallContext(env.supervisor, call.metadata), call).then(() => {
      report(env, name, started);
      call.end();
    }, (err: unknown) => {
      report(env, name, started, err);
      if (!call.cancelled) call.emit('error', toServiceError(err));
    });
  };
}

export function bidi(env: HandlerEnv, name: string, fn: Bidi): handleBidiStreamingCall<Message, Message> {
  return (call) => {
    const started = Date.now();
    fn(new CallContext(env.supervisor, call.metadata), call).then(() => {
      report(env, name, started);
      call.end();
    }, (err: unknown) => {
      report(env, name, started, err);
      if (!call.cancelled) call.emit('error', toServiceError(err));
    });
  };
}

export type Implementation = UntypedServiceImplementation;

/**
 * The client's messages on a streaming call, one at a time (undefined once it has sent all).
 * Not the stream's async iterator: finishing that destroys the stream, and with it the status the
 * handler still has to send. At most a few messages wait here: beyond, the client is held back.
 */
export function messageReader(call: ServerDuplexStream<Message, Message>): () => Promise<Message | undefined> {
  const queue: Message[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const poke = () => {
    wake?.();
    wake = undefined;
  };
  call.on('data', (m: Message) => {
    queue.push(m);
    if (queue.length >= 8) call.pause();
    poke();
  });
  call.on('end', () => {
    ended = true;
    poke();
  });
  call.on('cancelled', () => {
    failure = new GrpcError(status.CANCELLED, 'the client cancelled the call');
    poke();
  });
  call.on('error', (err: Error) => {
    failure = err;
    poke();
  });
  return async () => {
    while (!queue.length && !ended && !failure) await new Promise<void>((r) => (wake = r));
    const m = queue.shift();
    if (queue.length < 4) call.resume();
    if (m) return m;
    if (failure) throw failure;
    return undefined;
  };
}
