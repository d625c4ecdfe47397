const holidays = await callTool('calendar:getHolidays', { country: 'FR', year: 2025 });
const upcoming = holidays.filter((h) => h.date >= new Date().toISOString().slice(0, 10));
return upcoming.slice(0, 3);
