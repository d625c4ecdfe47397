const hits = await callTool('kb:search', { query: 'reset VPN client', limit: 5 });
return hits.results.map((h) => ({ title: h.title, url: h.url, score: h.score }));
