// level: SECURE
// expect: [5, "percent out of range: 150", 42]
const validate = (n) => {
  if (n < 0 || n > 100) throw new RangeError(`percent out of range: ${n}`);
  return n;
};
const out = [];
for (const n of [5, 150, 42]) {
  try {
    out.push(validate(n));
  } catch (e) {
    out.push(e instanceof RangeError ? e.message : 'other');
  }
}
return out;
