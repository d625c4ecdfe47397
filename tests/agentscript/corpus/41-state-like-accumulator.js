// expect: [1, 2, 3]
class Budget {
  constructor(limit) {
    this.limit = limit;
    this.used = 0;
  }
  take(n) {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }
}
const budget = new Budget(3);
const taken = [];
for (const u of await callTool('users:list', {})) {
  if (!budget.take(1)) break;
  taken.push(u.id);
}
return taken;
