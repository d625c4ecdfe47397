const slots = await callTool('calendar:findSlots', {
  attendees: ['ana', 'bo', 'chen'],
  durationMinutes: 30,
  within: 'next-week',
});
if (!slots.length) return 'no slot';
const event = await callTool('calendar:createEvent', {
  title: 'Roadmap sync',
  start: slots[0].start,
  durationMinutes: 30,
  attendees: ['ana', 'bo', 'chen'],
});
return event.id;
