// ESLint's preserve-caught-error checks only the built-in Error classes; this does the same for our own:
// an error thrown from inside a catch block, built from the caught one, must carry it as `cause`.
const BUILT_IN = new Set(['Error', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError', 'AggregateError']);
const FUNCTIONS = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

/** True when the subtree mentions the identifier `name`. */
function mentions(node, name) {
  if (node === null || typeof node !== 'object') return false;
  if (node.type === 'Identifier' && node.name === name) return true;
  for (const [k, v] of Object.entries(node)) {
    if (k === 'parent') continue;
    if (Array.isArray(v) ? v.some((c) => mentions(c, name)) : v && typeof v.type === 'string' && mentions(v, name)) return true;
  }
  return false;
}

const hasCause = (args) =>
  args.some(
    (a) =>
      a.type === 'ObjectExpression' &&
      a.properties.some((p) => p.type === 'Property' && !p.computed && (p.key.name ?? p.key.value) === 'cause'),
  );

export const errorCause = {
  meta: {
    type: 'problem',
    docs: { description: 'Require `{ cause }` when a catch block throws a new error built from the caught one' },
    schema: [],
    messages: { missing: 'Pass the caught error on: new {{name}}(..., { cause: {{param}} }).' },
  },
  create(context) {
    return {
      ThrowStatement(node) {
        const thrown = node.argument;
        if (thrown?.type !== 'NewExpression') return;
        let p = node.parent;
        while (p && p.type !== 'CatchClause' && !FUNCTIONS.has(p.type)) p = p.parent;
        if (p?.type !== 'CatchClause' || p.param?.type !== 'Identifier') return;
        const param = p.param.name;
        if (!mentions(thrown.arguments, param) || hasCause(thrown.arguments)) return;
        const name = thrown.callee.type === 'Identifier' ? thrown.callee.name : 'Error';
        if (BUILT_IN.has(name)) return; // preserve-caught-error's
        context.report({ node: thrown, messageId: 'missing', data: { name, param } });
      },
    };
  },
};
