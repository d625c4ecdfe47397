const reviews = await callTool('reviews:list', { productId: context.productId, limit: 100 });
const labels = await Promise.all(
  reviews.items.map((r) => callTool('llm:classify', { text: r.text, labels: ['positive', 'neutral', 'negative'] })),
);
const counts = { positive: 0, neutral: 0, negative: 0 };
labels.forEach((l) => counts[l.label]++);
return counts;
