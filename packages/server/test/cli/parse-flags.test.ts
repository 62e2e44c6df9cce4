import { FlagError, parseFlags } from '../../src/cli/parse-flags.js';

const options = {
  name: { type: 'string' },
  level: { type: 'string', default: 'info' },
  tag: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

describe('parseFlags', () => {
  test('--flag value and --flag=value alike; defaults; repeatable flags; positionals in order', () => {
    const a = parseFlags(['put', '--name', 'x', 'k', '--tag=a', '--tag', 'b', '-5', '--json'], options, { positionals: true });
    expect(a.values).toEqual({ name: 'x', level: 'info', tag: ['a', 'b'], json: true });
    expect(a.positionals).toEqual(['put', 'k', '-5']);
    expect(parseFlags(['--name=x=y', '--level', '-1'], options).values).toMatchObject({ name: 'x=y', level: '-1' });
  });

  test('booleans stand alone or say =true / =false', () => {
    expect(parseFlags(['--json=false'], options).values.json).toBe(false);
    expect(parseFlags(['--json=TRUE', '-h'], options).values).toMatchObject({ json: true, help: true });
    expect(() => parseFlags(['--json=maybe'], options)).toThrow(new FlagError('--json', 'must be true or false, got "maybe"'));
  });

  test.each([
    [['--bogus'], '--bogus: unknown flag'],
    [['--bogus=1'], '--bogus: unknown flag'],
    [['--name'], '--name: needs a value'],
    [['stray'], 'stray: unexpected argument (flags look like --name value)'],
  ])('%j: one line naming the flag', (argv, message) => {
    expect(() => parseFlags(argv, options)).toThrow(message);
  });

  test('a tool throws its own error type', () => {
    class UsageError extends Error {}
    expect(() => parseFlags(['--bogus'], options, { fail: (f, r) => new UsageError(`${f}: ${r}`) })).toThrow(UsageError);
  });
});
