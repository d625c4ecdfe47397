// expect: [0, 1, 2]
const word = 'result';
const re = new RegExp(`\\b${word}\\s(\\d+)`, 'g');
const text = (await callTool('search', { query: 'x', limit: 3 })).map((r) => r.title).join(' | ');
return [...text.matchAll(re)].map((m) => Number(m[1]));
