const changed = await callTool('products:list', { updatedSince: context.since, limit: 500 });
await callTool('search:batchIndex', { documents: changed.items.map((p) => ({ id: p.id, title: p.title })) });
return changed.items.length;
