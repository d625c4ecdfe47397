// expect: [103, 106, 109, 112, 115]
type Status = 'open' | 'closed';
type Page<T> = { items: T[]; next_page: number | null };
interface Ticket { id: number; status: Status; priority: string }

const page = (await callTool('tickets:list', { status: 'closed' as Status })) as Page<Ticket>;
return page.items.map((t) => t.id);
