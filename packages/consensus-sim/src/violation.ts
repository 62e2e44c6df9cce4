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

/** The property `body` violates ('none' if it runs through); other errors propagate. */
export function violationOf(body: () => void): string {
  try {
    body();
  } catch (e) {
    if (e instanceof SafetyViolation) return e.property;
    throw e;
  }
  return 'none';
}
