const tickets = await callTool('tickets:list', { status: 'new', limit: 25 });
let labelled = 0;
for (const ticket of tickets.items) {
  if (ticket.subject.toLowerCase().includes('refund')) {
    await callTool('tickets:update', { id: ticket.id, labels: ['billing'] });
    labelled++;
  }
}
return { labelled };
