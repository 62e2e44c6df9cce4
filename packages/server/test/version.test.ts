// compareVersions parses each version once (a bounded cache): results must not depend on what was
// compared before, nor on the cache having been emptied.
import { compareVersions } from '../src/version.js';

const sign = (n: number): number => Math.sign(n);

test('orders dotted numeric versions numerically; a missing part counts as 0', () => {
  expect(sign(compareVersions('0.10.0', '0.9.0'))).toBe(1);
  expect(sign(compareVersions('0.3.0', '0.3.0'))).toBe(0);
  expect(sign(compareVersions('0.3', '0.3.0'))).toBe(0);
  expect(sign(compareVersions('1.0.0', '0.99.99'))).toBe(1);
  expect(sign(compareVersions('0.2.9', '0.3.0'))).toBe(-1);
});

test('the same answers after many distinct versions went through the cache', () => {
  const before = [compareVersions('0.10.0', '0.9.0'), compareVersions('0.2.9', '0.3.0')].map(sign);
  for (let i = 0; i < 500; i++) expect(sign(compareVersions(`${i}.0.0`, `${i + 1}.0.0`))).toBe(-1);
  expect([compareVersions('0.10.0', '0.9.0'), compareVersions('0.2.9', '0.3.0')].map(sign)).toEqual(before);
  // the parsed parts are never shared mutably with a caller
  expect(sign(compareVersions('3.1.4', '3.1.4'))).toBe(0);
});
