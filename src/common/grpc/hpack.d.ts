// Types for the hpack package (RFC 7541 header compression; it ships none).
declare module 'hpack' {
  export default class HPACK {
    encode(headers: Array<[string, string]>): Buffer;
    decode(block: Buffer): Array<[string, string]>;
    setTableSize(size: number): void;
  }
}
