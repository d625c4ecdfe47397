// expect: {"phones": ["+1-555-0100", "+1-555-0199"], "dates": 2}
const text: string = await callTool('text:fetch', { url: 'x' });
const phones: string[] = text.match(/\+\d-\d{3}-\d{4}/g) ?? [];
const dates: RegExpMatchArray | null = text.match(/\d{4}-\d{2}-\d{2}/g);
return { phones, dates: dates?.length ?? 0 };
