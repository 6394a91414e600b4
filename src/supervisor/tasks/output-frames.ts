// The shim's attach output without a terminal: Docker's multiplexing, an 8-byte header per chunk
// ([stream, 0, 0, 0, length as uint32 big-endian], stream 1 stdout, 2 stderr) then the bytes.
// This splits a byte stream of such frames into stdout and stderr chunks as they arrive.
export function frameSplitter(onChunk: (stream: 'stdout' | 'stderr', data: Buffer) => void): (bytes: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (bytes) => {
    pending = pending.length ? Buffer.concat([pending, bytes]) : bytes;
    let i = 0;
    while (pending.length - i >= 8) {
      const len = pending.readUInt32BE(i + 4);
      if (pending.length - i - 8 < len) break;
      onChunk(pending[i] === 2 ? 'stderr' : 'stdout', pending.subarray(i + 8, i + 8 + len));
      i += 8 + len;
    }
    pending = pending.subarray(i);
  };
}
