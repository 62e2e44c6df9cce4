// .dockerignore semantics, enough to check a build context: patterns relative to the context root,
// Go filepath.Match wildcards plus `**` (any number of directories), `!` re-includes, the last matching
// pattern wins, and excluding a directory excludes everything under it.

export interface IgnoreRule {
  exclude: boolean;
  regexp: RegExp;
}

function patternToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else {
        re += '.*';
      }
    } else if (c === '*') {
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}(?:/.*)?$`);
}

export function parseDockerignore(text: string): IgnoreRule[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const exclude = !l.startsWith('!');
      const pattern = (exclude ? l : l.slice(1)).trim().replace(/^\/+/, '').replace(/\/+$/, '');
      return { exclude, regexp: patternToRegExp(pattern) };
    });
}

/** Whether `path` (relative to the context root, `/`-separated) is left out of the build context. */
export function isIgnored(rules: readonly IgnoreRule[], path: string): boolean {
  const p = path.replace(/^\.\//, '').replace(/\/+$/, '');
  let ignored = false;
  for (const rule of rules) if (rule.regexp.test(p)) ignored = rule.exclude;
  return ignored;
}
