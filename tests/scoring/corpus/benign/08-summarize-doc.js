const doc = await callTool('docs:get', { id: 'design-review-42' });
const summary = await callTool('llm:complete', {
  prompt: `Summarize in three bullet points:\n\n${doc.content}`,
  maxTokens: 400,
  temperature: 0.2,
});
return { title: doc.title, summary: summary.text, usedTokens: summary.usage.totalTokens };
