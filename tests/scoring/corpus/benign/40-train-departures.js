const deps = await callTool('transit:getDepartures', { stop: 'Gare de Lyon', limit: 5 });
return deps.map((d) => `${d.time} ${d.line} → ${d.destination}${d.delayMinutes ? ` (+${d.delayMinutes})` : ''}`);
