const labels = ['Save', 'Cancel', 'Delete draft', 'Share'];
const out = {};
for (const label of labels) {
  const res = await callTool('translate:text', { text: label, target: 'de' });
  out[label] = res.translation;
}
return out;
