const venues = ['Palais des Congrès, Paris', 'ExCeL London', 'Messe Berlin'];
const coords = [];
for (const venue of venues) {
  const r = await callTool('maps:geocode', { address: venue });
  coords.push({ venue, lat: r.lat, lng: r.lng });
}
return coords;
