// Where the CRI's Exec, Attach and PortForward calls point their clients: URLs of the streaming
// server, once it is there. Until then they answer Unimplemented.
import { status as grpcStatus } from '@grpc/grpc-js';
import { GrpcError } from '../common/grpc/errors.js';
import type { Message } from '../common/grpc/service-def.js';

export interface StreamingUrls {
  exec(req: Message): Promise<string>;
  attach(req: Message): Promise<string>;
  portForward(req: Message): Promise<string>;
}

export const noStreaming: StreamingUrls = {
  exec: () => Promise.reject(new GrpcError(grpcStatus.UNIMPLEMENTED, 'streaming exec is not available')),
  attach: () => Promise.reject(new GrpcError(grpcStatus.UNIMPLEMENTED, 'streaming attach is not available')),
  portForward: () => Promise.reject(new GrpcError(grpcStatus.UNIMPLEMENTED, 'port forwarding is not available')),
};
