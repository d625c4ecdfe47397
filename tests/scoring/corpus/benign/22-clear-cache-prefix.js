const result = await callTool('cache:clear', { prefix: 'tmp:preview:' });
console.log('cleared', result.count);
return result.count;
