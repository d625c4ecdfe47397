// level: SECURE
// expect: {"isTypeError": true, "isError": true, "hasMessage": true}
try {
  const x = null;
  return x.field;
} catch (e) {
  return { isTypeError: e instanceof TypeError, isError: e instanceof Error, hasMessage: typeof e.message === 'string' };
}
