// expect: {"count": 2, "mean": 80.25}
class Stats {
  count = 0;
  sum = 0;
  add(value) {
    this.count++;
    this.sum += value;
    return this;
  }
  mean() {
    return this.count ? this.sum / this.count : 0;
  }
}

const orders = await callTool('orders:search', { customer_id: 1 });
const stats = new Stats();
for (const o of orders) stats.add(o.total);
return { count: stats.count, mean: Math.round(stats.mean() * 100) / 100 };
