const members = await callTool('team:listMembers', { team: 'mobile' });
for (const m of members) {
  await callTool('slack:sendDirectMessage', { user: m.slackId, text: 'Standup in 10 minutes!' });
}
return members.length;
