const cfg = await callTool('config:get', { name: 'partner-api' });
const res = await callTool('http:get', {
  url: 'https://api.partner.example/v2/rates',
  headers: { 'X-Api-Key': cfg.apiKey },
});
return res.body.rates;
