// The classic builder's progress, as Docker's /build endpoint streams it: JSON messages, one per
// line — {"stream": text} for the step lines and the RUN output, {"aux": {"ID": …}} with the image
// ID — and, for parallel stages, each stage's lines held back and written in stage order, so the
// log reads like a sequential build.
export interface BuildOutput {
  stream(text: string): void;
  aux(value: Record<string, unknown>): void;
}

/** An output that keeps its lines until `flushTo` writes them (a stage built in parallel with others). */
export class HeldOutput implements BuildOutput {
  private readonly held: Array<['stream', string] | ['aux', Record<string, unknown>]> = [];

  stream(text: string): void {
    this.held.push(['stream', text]);
  }

  aux(value: Record<string, unknown>): void {
    this.held.push(['aux', value]);
  }

  flushTo(out: BuildOutput): void {
    for (const [kind, v] of this.held) {
      if (kind === 'stream') out.stream(v);
      else out.aux(v);
    }
    this.held.length = 0;
  }
}

/** An output that writes nothing (`q`: only the final ID is shown). */
export const quietOutput: BuildOutput = { stream() {}, aux() {} };
