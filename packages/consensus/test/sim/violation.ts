// A broken invariant. `property` names it (e.g. "Election Safety") so a failing seed reports which
// guarantee failed; `detail` says where.

export class SafetyViolation extends Error {
  override readonly name = 'SafetyViolation';
  constructor(
    readonly property: string,
    readonly detail: string,
  ) {
    super(`${property}: ${detail}`);
  }
}

export function violated(property: string, detail: string): never {
  throw new SafetyViolation(property, detail);
}
