// expect: ["ada@example.com", "support@example.org"]
const text = await callTool('text:fetch', { url: 'https://example.com/contact' });
const emails = text.match(/[\w.+-]+@[\w-]+\.[\w.]+/g) ?? [];
return [...new Set(emails.map((e) => e.replace(/\.$/, '').toLowerCase()))];
