// A node whose disk fills up or turns read-only must stop, saying why, rather than serve or diverge;
// the others carry on, and once it has room again it rejoins with exactly their state.
import { interruptAll, isRoot, runCli } from './support/cli.js';

afterAll(interruptAll);

interface Result {
  passed: boolean;
  skipped?: string;
  problems: string[];
  stopped: boolean;
  exitCode: number | null;
  stopLogLines: string[];
  digestsEqual: boolean;
  verdict: string;
}

const rootTest = isRoot ? test : test.skip;
if (!isRoot) console.warn('disk failure tests skipped: mounting a small tmpfs needs root');

describe.each([
  ['disk-full', /database or disk is full/],
  ['disk-readonly', /readonly|read-only/],
])('%s', (scenario, reason) => {
  rootTest(
    'the node stops with a clear log line and rejoins intact once the disk is fixed',
    async () => {
      const { output, result: r } = await runCli<Result>(['scenario', scenario]);
      if (r.skipped) {
        console.warn(`${scenario} skipped: ${r.skipped}`);
        return;
      }
      if (!r.passed) console.log(output);
      expect(r.stopped).toBe(true);
      expect(r.exitCode).not.toBe(0);
      expect(r.stopLogLines.some((l) => /"level":"error"/.test(l) && reason.test(l))).toBe(true);
      expect(r.digestsEqual).toBe(true);
      expect(r.verdict).toBe('ok');
      expect(r.problems).toEqual([]);
    },
    180_000,
  );
});
