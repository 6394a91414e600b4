// grpc-js service definitions from protobufjs service descriptors: the method paths, streaming
// kinds and codecs that a generated stub would hold. Messages are plain objects with the .proto's
// field names (keepCase); int64 become numbers (sizes and offsets stay far below 2^53), enums
// their names, bytes Buffers, and absent fields their defaults, as a Go server would send them.
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';

/** A decoded message: its fields vary by type, so handlers read them loosely (as a Go server would). */
export type Message = Record<string, any>;

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, arrays: true, objects: true };

export function encoder(type: protobuf.Type): (value: Message) => Buffer {
  return (value) => Buffer.from(type.encode(type.fromObject(value)).finish());
}

export function decoder(type: protobuf.Type): (bytes: Buffer) => Message {
  return (bytes) => type.toObject(type.decode(bytes), TO_OBJECT);
}

export function serviceDefinition(root: protobuf.Root, fullName: string): ServiceDefinition {
  const service = root.lookupService(fullName);
  const def: Record<string, MethodDefinition<Message, Message>> = {};
  for (const m of service.methodsArray) {
    m.resolve();
    const req = m.resolvedRequestType!;
    const res = m.resolvedResponseType!;
    def[m.name] = {
      path: `/${fullName}/${m.name}`,
      requestStream: !!m.requestStream,
      responseStream: !!m.responseStream,
      requestSerialize: encoder(req),
      requestDeserialize: decoder(req),
      responseSerialize: encoder(res),
      responseDeserialize: decoder(res),
      originalName: m.name,
    };
  }
  return def;
}
