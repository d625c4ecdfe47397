// level: SECURE
// expect: ["a", "b", "c"]
const values = ['a', '', null, 'b', undefined, 0, 'c'];
return values.filter(Boolean);
