const values = await callTool('sheets:getValues', { sheetId: 'budget-2025', range: 'B2:B13' });
const total = values.flat().reduce((a, b) => a + Number(b || 0), 0);
await callTool('sheets:appendRow', { sheetId: 'budget-2025', row: ['Total', total] });
return total;
