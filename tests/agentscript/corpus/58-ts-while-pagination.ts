// expect: 21
interface Page { items: number[]; next: string | null }

let cursor: string | null = null;
const all: number[] = [];
while (true) {
  const page: Page = await callTool('docs:page', { cursor });
  all.push(...page.items);
  if (!page.next) break;
  cursor = page.next;
}
return all.reduce((a: number, b: number): number => a + b, 0);
