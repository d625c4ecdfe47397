const note = await callTool('notes:get', { id: context.noteId });
const todos = note.body
  .split('\n')
  .filter((line) => line.trim().startsWith('- [ ]'))
  .map((line) => line.replace('- [ ]', '').trim());
for (const title of todos) {
  await callTool('tasks:create', { title, project: 'inbox' });
}
return todos.length;
