// expect: [{"s": "ada@example.com", "ok": true}, {"s": "not-an-email", "ok": false}, {"s": "x@y.io", "ok": true}]
const inputs = ['ada@example.com', 'not-an-email', 'x@y.io'];
const valid = /^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i;
return inputs.map((s) => ({ s, ok: valid.test(s) }));
