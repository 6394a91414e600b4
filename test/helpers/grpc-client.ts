// A plain gRPC client of the supervisor API, for what ctr cannot send on its own (field masks,
// raw Any values, bad input): `client(socket, service).call(method, req, md)`.
import assert from 'node:assert/strict';
import { credentials, makeGenericClientConstructor, Metadata, type Client, type ServiceError, type status } from '@grpc/grpc-js';
import { loadProtos } from '../../src/supervisor/grpc/protos.js';
import { serviceDefinition, type Message } from '../../src/common/grpc/service-def.js';

export type Call = (method: string, req: Message, md?: Metadata) => Promise<Message>;

export function nsMetadata(name: string): Metadata {
  const md = new Metadata();
  md.set('containerd-namespace', name);
  return md;
}

export function grpcClient(socket: string, service: string, namespace: string): { call: Call; close(): void } {
  const Ctor = makeGenericClientConstructor(serviceDefinition(loadProtos(), service), service);
  const raw = new Ctor(`unix://${socket}`, credentials.createInsecure()) as unknown as Client & Record<string, (...args: unknown[]) => unknown>;
  const call: Call = (method, req, md = nsMetadata(namespace)) =>
    new Promise((resolve, reject) => raw[method]!.call(raw, req, md, (err: ServiceError | null, res: Message) => (err ? reject(err) : resolve(res))));
  return { call, close: () => raw.close() };
}

export const rejectsWith = (p: Promise<unknown>, code: status, msg: RegExp) => assert.rejects(p, (e: ServiceError) => {
  assert.equal(e.code, code, e.details);
  assert.match(e.details, msg);
  return true;
});
