// expect: ["high", 12]
class Counter {
  private counts: Map<string, number> = new Map<string, number>();
  readonly label: string;

  constructor(label: string) {
    this.label = label;
  }

  add(key: string): this {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    return this;
  }

  top(): [string, number] | undefined {
    return [...this.counts.entries()].sort((a, b) => b[1] - a[1])[0];
  }
}

const page = await callTool('tickets:list', { page_size: 30 });
const counter = new Counter('priority');
for (const t of page.items) counter.add(t.priority as string);
return counter.top();
