const res = await callTool('http:get', { url: 'https://status.acme.example/api/health', timeoutMs: 3000 });
return { ok: res.status === 200, components: res.body.components.filter((c) => c.state !== 'up') };
