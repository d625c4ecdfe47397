const inbox = await callTool('email:listInbox', { unread: true, limit: 25 });
for (const msg of inbox.messages) {
  if (msg.from.endsWith('@vendor.example')) {
    await callTool('email:addLabel', { messageId: msg.id, label: 'vendors' });
  }
}
return 'done';
