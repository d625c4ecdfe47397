// tools: namespaced
// expect: 3
class TicketQueue {
  private readonly ids: number[] = [];
  push(id: number): void {
    this.ids.push(id);
  }
  size(): number {
    return this.ids.length;
  }
}
const queue = new TicketQueue();
const page = await tools.tickets.list({ status: 'open', page_size: 3 });
for (const t of page.items) queue.push(t.id as number);
return queue.size();
