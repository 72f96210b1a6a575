// Lint rules that keep the saga rules (docs/storage.md "Sagas") where the kit's saga model enforces
// them, so a reviewer need not find violations by reading:
//  - definite-refusals-only: in services' app code, a caught DomainError may be a gRPC failure
//    (DEADLINE_EXCEEDED, UNAVAILABLE, INTERNAL: an unknown outcome), so a handler that tests
//    `instanceof DomainError` / `isDomainError` must also read the error's `.code` (compare it with
//    the definite refusals it means), or leave the decision to the saga model;
//  - saga-records-in-kit-only: only packages/kit/src/saga touches `<service>_sagas` collections,
//    whose records are written first and never deleted.

/** The function or catch clause that handles a caught error, if `node` sits inside one. */
function enclosingHandler(node) {
  for (let current = node.parent; current; current = current.parent) {
    if (current.type === 'CatchClause') return { body: current.body, name: current.param?.type === 'Identifier' ? current.param.name : undefined };
    if (current.type === 'ArrowFunctionExpression' || current.type === 'FunctionExpression') {
      const call = current.parent;
      const isCatchCallback = call?.type === 'CallExpression' && call.arguments.includes(current) && call.callee.type === 'MemberExpression' && call.callee.property.name === 'catch';
      const [first] = current.params;
      if (isCatchCallback) return { body: current.body, name: first?.type === 'Identifier' ? first.name : undefined };
    }
  }
  return undefined;
}

/** True when `root` reads `<name>.code` anywhere. */
function readsCode(root, name, visitorKeys) {
  let found = false;
  const visit = (node) => {
    if (found || !node || typeof node.type !== 'string') return;
    if (node.type === 'MemberExpression' && !node.computed && node.property.name === 'code' && node.object.type === 'Identifier' && (name === undefined || node.object.name === name)) {
      found = true;
      return;
    }
    for (const key of visitorKeys[node.type] ?? []) {
      const child = node[key];
      if (Array.isArray(child)) child.forEach(visit);
      else visit(child);
    }
  };
  visit(root);
  return found;
}

const definiteRefusalsOnly = {
  meta: {
    type: 'problem',
    docs: { description: 'A caught DomainError is a definite refusal only for the codes a handler names.' },
    messages: {
      unknownOutcome:
        'A caught DomainError may be a gRPC failure (DEADLINE_EXCEEDED, UNAVAILABLE, INTERNAL): an unknown outcome, never a reason to compensate or to ignore. Compare `{{name}}.code` with the definite refusals this handler means, or let the kit saga model (`sagas.define`, step `refusals`) decide.',
    },
    schema: [],
  },
  create(context) {
    const visitorKeys = context.sourceCode.visitorKeys;
    const check = (node, subject) => {
      const handler = enclosingHandler(node);
      if (!handler) return;
      const name = subject?.type === 'Identifier' ? subject.name : handler.name;
      if (!readsCode(handler.body, name, visitorKeys)) context.report({ node, messageId: 'unknownOutcome', data: { name: name ?? 'error' } });
    };
    return {
      "BinaryExpression[operator='instanceof'][right.name='DomainError']": (node) => check(node, node.left),
      "CallExpression[callee.name='isDomainError']": (node) => check(node, node.arguments[0]),
    };
  },
};

const sagaRecordsInKitOnly = {
  meta: {
    type: 'problem',
    docs: { description: "Only the kit's saga model touches saga records." },
    messages: { sagaCollection: "Saga records are the kit's: written first, never deleted, moved only by the saga model (packages/kit/src/saga). Use `sagas.define` / `Saga.run` / `Saga.resume`." },
    schema: [],
  },
  create(context) {
    const report = (node, text) => {
      if (/_sagas\b/.test(text)) context.report({ node, messageId: 'sagaCollection' });
    };
    return {
      Literal: (node) => typeof node.value === 'string' && report(node, node.value),
      TemplateElement: (node) => report(node, node.value.raw),
    };
  },
};

export default { rules: { 'definite-refusals-only': definiteRefusalsOnly, 'saga-records-in-kit-only': sagaRecordsInKitOnly } };
