const files = await callTool('files:list', { folder: 'uploads/new', limit: 50 });
const images = files.items.filter((f) => /\.(png|jpe?g)$/i.test(f.name));
for (const img of images) {
  await callTool('images:resize', { path: img.path, width: 1200 });
}
return images.length;
