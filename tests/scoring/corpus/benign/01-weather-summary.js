const weather = await callTool('weather:get', { city: 'Lyon', units: 'metric' });
return `${weather.city}: ${weather.temp}°C, ${weather.conditions}`;
