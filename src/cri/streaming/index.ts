// The CRI streaming server (exec, attach, port-forward), for the CRI front end.
export { StreamingServer, type StreamingServerOptions } from './server.js';
export type { StreamingRuntime, StreamingIo, TerminalSize } from './runtime.js';
export type { ExecRequest, AttachRequest, PortForwardRequest } from './requests.js';
export { forwardInNetns, type ForwardOptions } from './netns-forward.js';
